"""The reader's notifications and todos in the browser: the bell and the todo
icon in the header of every page (with their counts and a panel each), the
notification centre (``/notifications``), the todo list (``/todos``), and the
channel choices on the account page.

The header's counts are two indexed counts per page (``header_counts``);
the panels' contents load only when opened (``inbox.js``). Opening a
notification is a POST (it marks it read) answered by a redirect to its
record; completing a todo from a panel or the list swaps its row and the
header's badges in place (htmx, out-of-band). The changes are posts of a
signed-in session, whose CSRF token ``@page`` checks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Response, g, redirect, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.notify.inbox import Inbox
from engine.notify.todos import STATUSES, Todos
from runtime.errors import request_locale
from runtime.web.context import identity, is_htmx, page, render, safe_next, services
from runtime.web.i18n import N_, reader_zone

bp = Blueprint("inbox", __name__)

PANEL_SIZE = 8
PAGE_SIZE = 30
TABS = {"open": N_("Open"), "overdue": N_("Overdue"), "done": N_("Done")}


@dataclass(frozen=True)
class HeaderCounts:
    unread: int
    open_todos: int
    overdue: int


def inbox() -> Inbox:
    return Inbox(services().database, services().clock)


def todos() -> Todos:
    return Todos(services().database, services().clock)


@bp.app_template_global()
def header_counts() -> HeaderCounts | None:
    """The reader's unread notifications and open todos, once per request."""
    reader = g.get("identity")
    if reader is None:
        return None
    found: HeaderCounts | None = g.get("inbox_counts")
    if found is None:
        try:
            with services().database.reading() as conn:
                open_todos, overdue = todos().counts(reader.user_id, conn)
                found = HeaderCounts(inbox().unread_count(reader.user_id, conn), open_todos, overdue)
        except SQLAlchemyError:
            # The error page of a database that is down must still render: without badges.
            return None
        g.inbox_counts = found
    return found


@bp.app_template_global()
def my_channel_choices() -> list[object]:
    """The account page's "Notifications" section."""
    return list(inbox().preferences(identity().user_id))


def _back(default: str) -> Response:
    return redirect(safe_next(request.form.get("next"), default), 303)  # type: ignore[return-value]


# --- notifications ------------------------------------------------------------------
@bp.get("/notifications")
@page
def centre() -> Response:
    unread_only = request.args.get("unread") == "1"
    before = request.args.get("before", "")
    found = inbox().notifications(identity().user_id, unread_only=unread_only, limit=PAGE_SIZE,
                                  before=int(before) if before.isdigit() and len(before) < 11 else None)
    more = found[-1].id if len(found) == PAGE_SIZE else None
    return render("inbox/notifications.html", notifications=found, unread_only=unread_only, more=more)


@bp.get("/notifications/panel")
@page
def notification_panel() -> Response:
    # Mark-all-read comes back to the page the panel was opened on.
    back = urlsplit(request.headers.get("HX-Current-URL", ""))
    return render("inbox/notification_panel.html", back=back.path + (f"?{back.query}" if back.query else ""),
                  notifications=inbox().notifications(identity().user_id, limit=PANEL_SIZE))


@bp.post("/notifications/<int:notification_id>/open")
@page
def open_notification(notification_id: int) -> Response:
    """Read it, and go where it points (its record), else back to the centre."""
    read = inbox().mark_read(identity().user_id, min(notification_id, 2**31 - 1))
    return redirect(safe_next(read.link, url_for("inbox.centre")), 303)  # type: ignore[return-value]


@bp.post("/notifications/read-all")
@page
def read_all() -> Response:
    inbox().mark_all_read(identity().user_id)
    return _back(url_for("inbox.centre"))


# --- todos --------------------------------------------------------------------------
@bp.get("/todos")
@page
def todo_list() -> Response:
    status = request.args.get("status", "open")
    status = status if status in STATUSES else "open"
    return render("inbox/todos.html", tab=status, tabs=TABS,
                  todos=todos().list_todos(identity().user_id, status, limit=200))


@bp.get("/todos/panel")
@page
def todo_panel() -> Response:
    return render("inbox/todo_panel.html", todos=todos().list_todos(identity().user_id, "open", limit=PANEL_SIZE))


@bp.post("/todos")
@page
def add_todo() -> Response:
    title = request.form.get("title", "")
    raw_due = request.form.get("due_at", "")
    try:
        due = _local_moment(raw_due)
        todos().create(identity().user_id, title, due_at=due, note=request.form.get("note") or None)
    except ValidationError as error:
        locale = request_locale()
        problems = {k: " ".join(m.text(locale) for m in v) for k, v in error.field_errors.items()}
        return render("inbox/todos.html", status=400, tab="open", tabs=TABS, todos=todos().list_todos(identity().user_id),
                      problems=problems or {"title": error.text(locale)}, title=title, due_at=raw_due)
    return redirect(url_for("inbox.todo_list"), 303)  # type: ignore[return-value]


@bp.post("/todos/<int:todo_id>/<any(done, reopen):change>")
@page
def change_todo(todo_id: int, change: str) -> Response:
    """Complete or reopen: htmx gets the new row and the header's badges,
    a plain form post goes back to where it came from."""
    mine = todos()
    todo_id = min(todo_id, 2**31 - 1)
    todo = mine.complete(identity().user_id, todo_id) if change == "done" else mine.reopen(identity().user_id, todo_id)
    if is_htmx():
        return render("inbox/todo_changed.html", todo=todo, compact=request.args.get("compact") == "1")
    return _back(url_for("inbox.todo_list"))


def _local_moment(raw: str) -> dt.datetime | None:
    """A ``datetime-local`` field's value, in the reader's time zone."""
    if not raw:
        return None
    try:
        return dt.datetime.fromisoformat(raw).replace(tzinfo=reader_zone())
    except ValueError:
        message = Label("截止时间应为日期和时间", "The due time must be a date and a time")
        raise ValidationError(message, field_errors={"due_at": [message]}) from None


# --- channel choices ----------------------------------------------------------------
@bp.post("/account/notifications")
@page
def choose_channels() -> Response:
    mine = inbox()
    me = identity().user_id
    mine.set_preferences(me, {c.key: request.form.get(f"channel-{c.key}") == "on" for c in mine.preferences(me)})
    return redirect(url_for("account.settings", saved="notifications") + "#notifications", 303)  # type: ignore[return-value]
