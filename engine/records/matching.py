"""Finding the records and people a file names: "华信科技" -> customer #12.

A relation cell names a record of the target form by its title field (or
by the field ``relation_match`` chooses, or by ``id``); a member cell names
a user by login or name; a department cell names a department. Matching is
exact first, then case-insensitive; a text that matches nothing, or more
than one, is an error naming the text, so no row is linked to a guess.
Only records the importer may read are matched (and offered as "did you
mean"): a record outside their scope is one that does not exist.

Matchers are keyed by field type (``MATCHERS``). Each matches the distinct
texts of a whole batch with one query, never one per row.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.i18n import Label
from engine.definitions.model import FieldDef, FormDef
from engine.fields.base import FieldValueError
from engine.records.columns import MappingRefused
from engine.store.models import Department, User

if TYPE_CHECKING:
    from engine.records.filters import PathGuard
    from engine.records.service import RecordService

Matches = dict[str, "int | Label"]
CHUNK = 1000  # texts per query: three IN lists of this size stay under every bind limit
HINT_LIMIT = 10_000  # targets with at most this many records get a "did you mean"
_USERS = cast(sa.Table, User.__table__)
_DEPARTMENTS = cast(sa.Table, Department.__table__)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class Matcher(Protocol):
    def match(self, conn: Connection, texts: set[str]) -> Matches:
        """Each text -> the id it names, or why it names none."""


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _lowered(texts: Iterable[str]) -> list[str]:
    # SQLite's lower() folds ASCII only, PostgreSQL's follows its locale: ask for both.
    found: set[str] = set()
    for text in texts:
        found.add(text.lower())
        found.add(text.translate(_ASCII_LOWER))
    return sorted(found)


class _Index:
    """(value, id) pairs looked up by exact value and by case-folded value."""

    def __init__(self, pairs: Iterable[tuple[str, int]]) -> None:
        self.exact: dict[str, set[int]] = {}
        self.folded: dict[str, set[int]] = {}
        for value, record_id in pairs:
            self.exact.setdefault(value, set()).add(record_id)
            self.folded.setdefault(value.casefold(), set()).add(record_id)


def _choose(
    text: str, indexes: list[_Index], unknown: Callable[[str], Label],
    ambiguous: Callable[[str, list[int]], Label],
) -> int | Label:
    """The one id ``text`` names: each index (in order of preference) is
    tried exactly, then each ignoring case."""
    folded = text.casefold()
    for ids in [*(i.exact.get(text) for i in indexes), *(i.folded.get(folded) for i in indexes)]:
        if ids:
            return next(iter(ids)) if len(ids) == 1 else ambiguous(text, sorted(ids))
    return unknown(text)


def _ids_text(ids: list[int]) -> str:
    shown = ", ".join(f"#{i}" for i in ids[:5])
    return shown + (" …" if len(ids) > 5 else "")


@dataclass
class RelationMatcher:
    """Records of ``target`` named by the text of field ``by`` (or by ``id``),
    among those ``readable`` keeps (None: all)."""

    service: RecordService
    target: FormDef
    by: str
    readable: sa.ColumnElement[bool] | None = None
    _known: list[str] | None = None

    @classmethod
    def for_field(
        cls, service: RecordService, field: FieldDef, by: str | None, guard: PathGuard | None = None,
    ) -> RelationMatcher:
        target_key = str(field.setting("target"))
        compiled, tables = service.form(target_key)
        target = compiled.form
        chosen = by or target.title_field or "id"
        if chosen != "id":
            match_field = target.field(chosen)
            if (match_field is None or compiled.types[chosen].storage_for(match_field) != "column"
                    or chosen not in tables.main.c):
                raise MappingRefused(Label(
                    f"{target.label.zh}没有可用于匹配的字段 {chosen}",
                    f"{target.label.en} has no field {chosen} to match records by"))
        return cls(service, target, chosen, guard.scope(target, tables.main) if guard is not None else None)

    def _scoped(self, query: sa.Select[Any]) -> sa.Select[Any]:
        return query.where(self.readable) if self.readable is not None else query

    def _column(self) -> sa.ColumnElement[Any]:
        _, tables = self.service.form(self.target.key)
        return tables.main.c[self.by]

    def _by_label(self) -> Label:
        if self.by == "id":
            return Label("编号", "ID")
        return self.target.get_field(self.by).label

    def unknown(self, text: str) -> Label:
        form, by = self.target.label, self._by_label()
        hint_zh = hint_en = ""
        if self._known:
            close = difflib.get_close_matches(text, self._known, n=1, cutoff=0.8)
            if close:
                hint_zh, hint_en = f"，是否指“{close[0]}”？", f" — did you mean \"{close[0]}\"?"
        return Label(f"{form.zh}中没有{by.zh}为“{text}”的记录{hint_zh}",
                     f"No {form.en} has {by.en} \"{text}\"{hint_en}")

    def ambiguous(self, text: str, ids: list[int]) -> Label:
        form, by = self.target.label, self._by_label()
        return Label(f"{by.zh}为“{text}”的{form.zh}不止一条（{_ids_text(ids)}），无法确定",
                     f"Several {form.en} records have {by.en} \"{text}\" ({_ids_text(ids)}); "
                     f"cannot tell which")

    def match(self, conn: Connection, texts: set[str]) -> Matches:
        column = self._column()
        _, tables = self.service.form(self.target.key)
        id_column = tables.main.c.id
        if self.by == "id" or not isinstance(column.type, sa.String):
            return self._match_exact(conn, texts, column, id_column)
        pairs: list[tuple[str, int]] = []
        ordered = sorted(texts)
        for chunk in _chunks(ordered):
            query = self._scoped(sa.select(column, id_column).where(
                sa.or_(column.in_(chunk), sa.func.lower(column).in_(_lowered(chunk)))))
            pairs.extend((str(value), int(i)) for value, i in conn.execute(query))
        index, unknown = _Index(pairs), self._unknown_hinted(conn)
        return {text: _choose(text, [index], unknown, self.ambiguous) for text in texts}

    def _unknown_hinted(self, conn: Connection) -> Callable[[str], Label]:
        def unknown(text: str) -> Label:
            if self._known is None:
                column = self._column()
                values = conn.execute(self._scoped(sa.select(column).where(column.is_not(None))).distinct()
                                      .limit(HINT_LIMIT + 1)).scalars().all()
                self._known = [str(v) for v in values] if len(values) <= HINT_LIMIT else []
            return self.unknown(text)
        return unknown

    def _match_exact(
        self, conn: Connection, texts: set[str], column: sa.ColumnElement[Any],
        id_column: sa.ColumnElement[Any],
    ) -> Matches:
        result: Matches = {}
        wanted: dict[Any, list[str]] = {}
        for text in texts:
            try:
                value = self._coerce(text)
            except (FieldValueError, ValueError):
                result[text] = self.unknown(text)
                continue
            wanted.setdefault(value, []).append(text)
        found: dict[Any, list[int]] = {}
        keys = list(wanted)
        for start in range(0, len(keys), CHUNK):
            query = self._scoped(sa.select(column, id_column).where(column.in_(keys[start:start + CHUNK])))
            for value, i in conn.execute(query):
                found.setdefault(value, []).append(int(i))
        for value, named in wanted.items():
            ids = sorted(set(found.get(value, [])))
            for text in named:
                result[text] = ids[0] if len(ids) == 1 else (
                    self.ambiguous(text, ids) if ids else self.unknown(text))
        return result

    def _coerce(self, text: str) -> Any:
        if self.by == "id":
            return int(text.lstrip("#"))
        compiled, _ = self.service.form(self.target.key)
        return compiled.types[self.by].coerce(self.target.get_field(self.by), text)


@dataclass
class UserMatcher:
    """Users named by login or name: an exact login first, then an exact
    name, then either case-insensitively."""

    def match(self, conn: Connection, texts: set[str]) -> Matches:
        logins: list[tuple[str, int]] = []
        names: list[tuple[str, int]] = []
        for chunk in _chunks(sorted(texts)):
            lowered = _lowered(chunk)
            query = sa.select(_USERS.c.id, _USERS.c.login, _USERS.c.name).where(sa.or_(
                _USERS.c.login.in_(chunk), _USERS.c.name.in_(chunk),
                sa.func.lower(_USERS.c.login).in_(lowered), sa.func.lower(_USERS.c.name).in_(lowered)))
            for i, login, name in conn.execute(query):
                logins.append((str(login), int(i)))
                names.append((str(name), int(i)))
        indexes = [_Index(logins), _Index(names)]
        return {text: _choose(text, indexes, _no_user, _several_users) for text in texts}


def _no_user(text: str) -> Label:
    return Label(f"没有登录名或姓名为“{text}”的用户", f"No user has the login or name \"{text}\"")


def _several_users(text: str, ids: list[int]) -> Label:
    return Label(f"姓名为“{text}”的用户不止一个（{_ids_text(ids)}），请改用登录名",
                 f"Several users are called \"{text}\" ({_ids_text(ids)}); use their login instead")


@dataclass
class DepartmentMatcher:
    """Departments named by their name."""

    def match(self, conn: Connection, texts: set[str]) -> Matches:
        pairs: list[tuple[str, int]] = []
        for chunk in _chunks(sorted(texts)):
            query = sa.select(_DEPARTMENTS.c.name, _DEPARTMENTS.c.id).where(sa.or_(
                _DEPARTMENTS.c.name.in_(chunk), sa.func.lower(_DEPARTMENTS.c.name).in_(_lowered(chunk))))
            pairs.extend((str(name), int(i)) for name, i in conn.execute(query))
        index = _Index(pairs)
        return {text: _choose(text, [index], _no_department, _several_departments) for text in texts}


def _no_department(text: str) -> Label:
    return Label(f"没有名为“{text}”的部门", f"No department is called \"{text}\"")


def _several_departments(text: str, ids: list[int]) -> Label:
    return Label(f"名为“{text}”的部门不止一个（{_ids_text(ids)}）",
                 f"Several departments are called \"{text}\" ({_ids_text(ids)})")


MatcherFactory = Callable[["RecordService", FieldDef, "str | None", "PathGuard | None"], Matcher]

# Field type key -> how a cell of that type names what it points at.
MATCHERS: dict[str, MatcherFactory] = {
    "relation": RelationMatcher.for_field,
    "member": lambda service, field, by, guard: UserMatcher(),
    "department": lambda service, field, by, guard: DepartmentMatcher(),
}


def matcher_for(
    service: RecordService, field: FieldDef, by: str | None, guard: PathGuard | None = None,
) -> Matcher | None:
    """The matcher for a field whose cells name records or people, else None;
    ``guard`` (the importer's rights) limits which records may be named."""
    factory = MATCHERS.get(field.type)
    return factory(service, field, by, guard) if factory else None
