"""Todos: things a member has to do, made by rules ("renew this contract")
or by themselves, each with an optional due time and the record it is about.

``add_todo`` is how a rule's action adds one, in the rule run's transaction.
``Todos`` is the member's own view: their open, overdue and done todos,
completing and reopening them, and adding one for themselves. As with
notifications, another user's todo is not found.

Open todos come soonest due first (those without a due time last), done ones
most recently done first; the lists use the ``(user_id, done_at, due_at)``
index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.clock import Clock
from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.notify.inbox import MAX_PAGE, not_found, utc
from engine.store.database import Database
from engine.store.models import Todo

TODOS = cast(sa.Table, Todo.__table__)
STATUSES = ("open", "overdue", "done")
TODO = Label("待办", "todo")
MAX_TITLE = 300
MAX_NOTE = 5000


def add_todo(conn: Connection, *, user_id: int, title: str, now: dt.datetime, due_at: dt.datetime | None = None,
             note: str | None = None, app: str | None = None, form: str | None = None,
             record_id: int | None = None, source: str | None = None, created_by: int | None = None) -> int:
    """A new open todo for ``user_id`` in ``conn``'s transaction; its id.
    Moments are kept in UTC; ``due_at`` must carry its time zone."""
    title = title.strip()
    if not title:
        message = Label("待办的标题不能为空", "A todo needs a title")
        raise ValidationError(message, field_errors={"title": [message]})
    if due_at is not None and due_at.tzinfo is None:
        message = Label("截止时间应带时区", "due_at must carry a time zone")
        raise ValidationError(message, field_errors={"due_at": [message]})
    return int(conn.execute(TODOS.insert().values(
        user_id=user_id, title=title[:MAX_TITLE], note=note or None, due_at=utc(due_at), app=app, form=form,
        record_id=record_id, source=source and source[:150], created_at=utc(now), created_by=created_by,
        done_at=None, done_by=None,
    ).returning(TODOS.c.id)).scalar_one())


@dataclass(frozen=True)
class TodoInfo:
    """One todo as its owner sees it; ``overdue`` as of when it was read."""

    id: int
    title: str
    note: str | None
    due_at: dt.datetime | None
    app: str | None
    form: str | None
    record_id: int | None
    source: str | None
    created_at: dt.datetime
    done_at: dt.datetime | None
    overdue: bool

    @classmethod
    def of(cls, row: Any, now: dt.datetime) -> TodoInfo:
        due, done, created = utc(row.due_at), utc(row.done_at), utc(row.created_at)
        assert created is not None
        return cls(id=int(row.id), title=row.title, note=row.note, due_at=due, app=row.app, form=row.form,
                   record_id=row.record_id, source=row.source, created_at=created, done_at=done,
                   overdue=done is None and due is not None and due < now)

    @property
    def link(self) -> str | None:
        """The page of the record it is about."""
        if self.app and self.form and self.record_id is not None:
            return f"/a/{self.app}/{self.form}/{self.record_id}"
        return None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "note": self.note, "due_at": self.due_at, "app": self.app,
                "form": self.form, "record_id": self.record_id, "link": self.link, "source": self.source,
                "created_at": self.created_at, "done_at": self.done_at,
                "status": "done" if self.done_at else "overdue" if self.overdue else "open"}


class Todos:
    """One member's todos."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock

    def _now(self) -> dt.datetime:
        return self.clock.now().astimezone(dt.UTC)

    def _query(self, user_id: int, status: str) -> sa.Select[Any]:
        if status not in STATUSES:
            message = Label(f"状态应为 {' / '.join(STATUSES)}", f"status must be one of {', '.join(STATUSES)}")
            raise ValidationError(message, field_errors={"status": [message]})
        mine = sa.select(TODOS).where(TODOS.c.user_id == user_id)
        if status == "done":
            return mine.where(TODOS.c.done_at.is_not(None)).order_by(TODOS.c.done_at.desc(), TODOS.c.id.desc())
        undated_last = sa.case((TODOS.c.due_at.is_(None), 1), else_=0)
        query = mine.where(TODOS.c.done_at.is_(None)).order_by(undated_last, TODOS.c.due_at, TODOS.c.id)
        return query.where(TODOS.c.due_at < self._now()) if status == "overdue" else query

    def list_todos(self, user_id: int, status: str = "open", *, limit: int = 100, offset: int = 0) -> list[TodoInfo]:
        query = self._query(user_id, status).limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))
        now = self._now()
        with self.database.reading() as conn:
            return [TodoInfo.of(row, now) for row in conn.execute(query)]

    def counts(self, user_id: int, conn: Connection | None = None) -> tuple[int, int]:
        """(open, overdue) in one query over the index: the header's figures."""
        query = (sa.select(sa.func.count(), sa.func.count(sa.case((TODOS.c.due_at < self._now(), 1))))
                 .where(TODOS.c.user_id == user_id, TODOS.c.done_at.is_(None)))
        if conn is None:
            with self.database.reading() as reading:
                row = reading.execute(query).one()
        else:
            row = conn.execute(query).one()
        return int(row[0]), int(row[1])

    def get(self, user_id: int, todo_id: int) -> TodoInfo:
        with self.database.reading() as conn:
            row = conn.execute(sa.select(TODOS).where(TODOS.c.id == todo_id, TODOS.c.user_id == user_id)).first()
        if row is None:
            raise not_found(TODO, todo_id)
        return TodoInfo.of(row, self._now())

    def create(self, user_id: int, title: str, *, due_at: dt.datetime | None = None, note: str | None = None,
               app: str | None = None, form: str | None = None, record_id: int | None = None) -> TodoInfo:
        """A todo a member adds for themselves."""
        problems: dict[str, list[Label]] = {}
        if len(title.strip()) > MAX_TITLE:
            problems["title"] = [Label(f"标题最多 {MAX_TITLE} 个字", f"The title takes at most {MAX_TITLE} characters")]
        if note is not None and len(note) > MAX_NOTE:
            problems["note"] = [Label(f"备注最多 {MAX_NOTE} 个字", f"The note takes at most {MAX_NOTE} characters")]
        if problems:
            first = next(iter(problems.values()))[0]
            raise ValidationError(first, field_errors=problems)
        with self.database.transaction() as conn:
            todo_id = add_todo(conn, user_id=user_id, title=title, now=self._now(), due_at=due_at, note=note,
                               app=app, form=form, record_id=record_id, source="user", created_by=user_id)
        return self.get(user_id, todo_id)

    def complete(self, user_id: int, todo_id: int) -> TodoInfo:
        """Done now (one done before stays done when it was)."""
        return self._set_done(user_id, todo_id, done=True)

    def reopen(self, user_id: int, todo_id: int) -> TodoInfo:
        return self._set_done(user_id, todo_id, done=False)

    def _set_done(self, user_id: int, todo_id: int, *, done: bool) -> TodoInfo:
        mine = (TODOS.c.id == todo_id) & (TODOS.c.user_id == user_id)
        with self.database.transaction() as conn:
            if done:
                conn.execute(TODOS.update().where(mine, TODOS.c.done_at.is_(None))
                             .values(done_at=self._now(), done_by=user_id))
            else:
                conn.execute(TODOS.update().where(mine).values(done_at=None, done_by=None))
        return self.get(user_id, todo_id)
