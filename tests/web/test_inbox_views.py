"""The notification and todo pages without a browser (Flask's test client,
bearer tokens): one's own only, escaping, refusals, the header's counts."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from engine.core.clock import SystemClock
from engine.notify.inbox import Inbox
from engine.notify.notifier import Notice, Notifier
from engine.notify.todos import add_todo
from tests.api.conftest import USER_PASSWORD, People
from tests.security.auth_world import sign_in

HTML = {"Accept": "text/html", "Accept-Language": "en"}


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **HTML}


def _notify(app: Flask, user_id: int, title: str, link: str | None = None) -> None:
    database = app.extensions["qiqiao"].database
    with database.transaction() as conn:
        Notifier(SystemClock()).send(conn, Notice(key=f"views:{title}", title=title, text="<i>body</i>",
                                                  users=(user_id,), link=link, source="rule:crm.views"))


def test_the_header_counts_the_centre_and_opening_a_notification(app: Flask, client: FlaskClient,
                                                                 people: People) -> None:
    alice = _as(people.user_token)
    _notify(app, people.user_id, "<script>alert(1)</script>", link="/a/crm/customer/1")
    _notify(app, people.user_id, "Second", link="https://elsewhere.example.com/x")
    _notify(app, people.admin_id, "The admin's")
    html = client.get("/notifications", headers=alice).get_data(as_text=True)
    assert 'id="unread-badge" class="inbox-badge"><span aria-hidden="true">2</span>' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "&lt;i&gt;body&lt;/i&gt;" in html and "by the rule crm.views" in html
    assert "The admin&#39;s" not in html

    panel = client.get("/notifications/panel", headers={**alice, "HX-Request": "true",
                                                        "HX-Current-URL": "http://localhost/a/crm?x=1"})
    assert panel.status_code == 200 and 'name="next" value="/a/crm?x=1"' in panel.get_data(as_text=True)

    inbox = app.extensions["qiqiao"]
    mine = Inbox(inbox.database, inbox.clock).notifications(people.user_id)
    theirs = Inbox(inbox.database, inbox.clock).notifications(people.admin_id)[0]
    opened = client.post(f"/notifications/{mine[1].id}/open", headers=alice)
    assert opened.status_code == 303 and opened.headers["Location"] == "/a/crm/customer/1"
    # A link off the site is not followed: back to the centre.
    assert client.post(f"/notifications/{mine[0].id}/open", headers=alice).headers["Location"] == "/notifications"
    refused = client.post(f"/notifications/{theirs.id}/open", headers=alice)
    assert refused.status_code == 404 and "There is no notification" in refused.get_data(as_text=True)
    assert client.post("/notifications/99999999999/open", headers=alice).status_code == 404
    assert Inbox(inbox.database, inbox.clock).unread_count(people.admin_id) == 1
    unread = client.get("/notifications?unread=1&before=abc", headers=alice).get_data(as_text=True)
    assert "Nothing unread." in unread and 'class="inbox-badge empty"' in unread


def test_todos_pages(app: Flask, client: FlaskClient, people: People) -> None:
    alice = _as(people.user_token)
    database = app.extensions["qiqiao"].database
    with database.transaction() as conn:
        theirs = add_todo(conn, user_id=people.admin_id, title="Admin's", now=SystemClock().now())
    bad = client.post("/todos", headers=alice, data={"title": "Plan", "due_at": "next week"})
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "The due time must be a date and a time" in page and 'value="Plan"' in page
    made = client.post("/todos", headers=alice, data={"title": "<b>Plan</b>", "due_at": "2020-03-01T08:00"})
    assert made.status_code == 303
    html = client.get("/todos?status=overdue", headers=alice).get_data(as_text=True)
    # Alice's zone is the organization's (Asia/Shanghai): the time reads back as typed.
    assert "&lt;b&gt;Plan&lt;/b&gt;" in html and "2020-03-01 08:00" in html and "Overdue" in html
    todo_id = int(html.split('id="todo-box-')[1].split('"')[0])
    changed = client.post(f"/todos/{todo_id}/done", headers={**alice, "HX-Request": "true"})
    fragment = changed.get_data(as_text=True)
    assert changed.status_code == 200 and "todo-item done" in fragment
    assert 'id="todo-badge" class="inbox-badge empty" hx-swap-oob="true"' in fragment
    back = client.post(f"/todos/{todo_id}/reopen", headers=alice, data={"next": "/todos?status=done"})
    assert back.status_code == 303 and back.headers["Location"] == "/todos?status=done"
    assert client.post(f"/todos/{theirs}/done", headers=alice).status_code == 404
    assert client.post(f"/todos/{todo_id}/later", headers=alice).status_code == 404
    assert "Nothing done yet." in client.get("/todos?status=done", headers=alice).get_data(as_text=True)


def test_channel_choices_on_the_account_page(client: FlaskClient, people: People) -> None:
    alice = _as(people.user_token)
    html = client.get("/account", headers=alice).get_data(as_text=True)
    assert 'id="channel-in_app" name="channel-in_app" checked' in html
    saved = client.post("/account/notifications", headers=alice, data={})
    assert saved.status_code == 303 and saved.headers["Location"] == "/account?saved=notifications#notifications"
    html = client.get("/account?saved=notifications", headers=alice).get_data(as_text=True)
    assert 'id="channel-in_app" name="channel-in_app">' in html and "Saved." in html


def test_a_session_post_needs_its_csrf_token(client: FlaskClient, people: People) -> None:
    csrf = sign_in(client, "alice", USER_PASSWORD)
    refused = client.post("/todos", data={"title": "Forged"}, headers=HTML)
    assert refused.status_code == 403
    assert client.post("/notifications/read-all", data={}, headers=HTML).status_code == 403
    made = client.post("/todos", data={"title": "Mine", "csrf_token": csrf}, headers=HTML)
    assert made.status_code == 303
    html = client.get("/todos", headers=HTML).get_data(as_text=True)
    assert "Mine" in html and "Forged" not in html
