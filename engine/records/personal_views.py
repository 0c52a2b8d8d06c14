"""Personal list views: a user saves the columns, filter and sort of a
form's list under a name of their own, sees them as extra tabs, and deletes
them. Nobody else sees them (an administrator neither: they are a person's
working set, not shared definitions).

A saved view is checked as it is saved — the filter compiles against the
form, the sort and columns name fields of it, and every field used is one
the user may filter and sort by — and again when it is used (a later change
of definitions or roles makes the list refuse it, as it would a typed-in
filter, rather than show what the user may no longer see).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa

from engine.core.errors import ConflictError, NotFoundError, ValidationError
from engine.core.i18n import Label
from engine.records.actor import Actor
from engine.records.columns import system_field
from engine.records.service import RecordService
from engine.store.models import PersonalView as PersonalViewRow

_TABLE = cast(sa.Table, PersonalViewRow.__table__)
MAX_NAME = 100
MAX_VIEWS = 50  # per user and form: tabs, not an archive


@dataclass(frozen=True)
class PersonalView:
    id: int
    user_id: int
    app: str
    form: str
    name: str
    columns: tuple[str, ...]
    filter: Mapping[str, Any] | None
    sort: tuple[str, ...]  # "-amount", "name"


def _view(row: Any) -> PersonalView:
    spec = row.spec or {}
    return PersonalView(row.id, row.user_id, row.app, row.form, row.name, tuple(spec.get("columns") or ()),
                        spec.get("filter") or None, tuple(spec.get("sort") or ()))


def _invalid(key: str, message: Label) -> ValidationError:
    return ValidationError(message, field_errors={key: [message]})


class PersonalViews:
    """The personal views of one app's forms (``service`` is the app's record service)."""

    def __init__(self, service: RecordService) -> None:
        self.service = service
        self.app = service.app.key

    def list(self, user_id: int, form_key: str) -> list[PersonalView]:
        query = (sa.select(_TABLE).where(_TABLE.c.user_id == user_id, _TABLE.c.app == self.app,
                                         _TABLE.c.form == form_key).order_by(_TABLE.c.id))
        with self.service.database.reading() as conn:
            return [_view(row) for row in conn.execute(query)]

    def get(self, user_id: int, form_key: str, view_id: int) -> PersonalView:
        """The user's own view; anyone else's is not found (ids cannot be probed)."""
        query = sa.select(_TABLE).where(_TABLE.c.id == view_id, _TABLE.c.user_id == user_id,
                                        _TABLE.c.app == self.app, _TABLE.c.form == form_key)
        with self.service.database.reading() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFoundError(Label(f"个人视图 #{view_id} 不存在", f"Personal view #{view_id} does not exist"),
                                details={"view": view_id})
        return _view(row)

    def save(
        self, form_key: str, name: str, *, columns: Sequence[str] = (), filter: Mapping[str, Any] | None = None,
        sort: Sequence[str] = (), actor: Actor,
    ) -> PersonalView:
        """Save a view for ``actor``'s user under ``name`` (unique per user and form)."""
        if actor.user_id is None:
            raise _invalid("user", Label("个人视图属于某个用户", "A personal view belongs to a user"))
        user_id = actor.user_id
        name = (name or "").strip()
        if not name or len(name) > MAX_NAME:
            raise _invalid("name", Label(f"视图名称应为 1 到 {MAX_NAME} 个字符",
                                         f"The view's name must be 1 to {MAX_NAME} characters"))
        self._check(form_key, list(columns), filter, list(sort), actor)
        spec = {"columns": list(columns), "filter": dict(filter) if filter else None, "sort": list(sort)}
        with self.service.database.transaction() as conn:
            mine = sa.select(sa.func.count()).select_from(_TABLE).where(
                _TABLE.c.user_id == user_id, _TABLE.c.app == self.app, _TABLE.c.form == form_key)
            if conn.execute(mine).scalar_one() >= MAX_VIEWS:
                raise _invalid("name", Label(f"每个表单最多保存 {MAX_VIEWS} 个个人视图",
                                             f"At most {MAX_VIEWS} personal views per form"))
            taken = conn.execute(mine.where(_TABLE.c.name == name)).scalar_one()
            if taken:
                message = Label(f"已有名为“{name}”的视图", f"You already have a view named \"{name}\"")
                raise ConflictError(message, details={"name": name})
            new_id = conn.execute(_TABLE.insert().values(
                user_id=user_id, app=self.app, form=form_key, name=name, spec=spec,
                created_at=self.service.clock.now()).returning(_TABLE.c.id)).scalar_one()
        return self.get(user_id, form_key, int(new_id))

    def delete(self, user_id: int, form_key: str, view_id: int) -> None:
        self.get(user_id, form_key, view_id)  # someone else's is not found
        with self.service.database.transaction() as conn:
            conn.execute(_TABLE.delete().where(_TABLE.c.id == view_id, _TABLE.c.user_id == user_id))

    def _check(self, form_key: str, columns: Sequence[str], filter: Mapping[str, Any] | None, sort: Sequence[str],
               actor: Actor) -> None:
        compiled, _ = self.service.form(form_key)
        form = compiled.form
        for index, key in enumerate(columns):
            if not isinstance(key, str) or (form.field(key) is None and system_field(key) is None):
                raise _invalid(f"columns[{index}]", Label(f"{form.label.zh}没有字段 {key}",
                                                          f"{form.label.en} has no field {key}"))
        # The engine's own list query checks the filter, the sort and the reader's
        # right to use each field (one row read): what it refuses is not saved.
        self.service.list(form_key, filter=filter, sort=sort, limit=1, actor=actor)
