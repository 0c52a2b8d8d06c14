"""notify (in-app and outbox rows with the record's display values), add_todo
(due by formula, at a time of day) and call_webhook (a well-formed JSON body
whatever the fields hold, the reply mapping, one message per run) — on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.definitions.issues import PackageError
from engine.notify.delivery import Deliverer
from engine.notify.notifier import NOTIFICATIONS
from engine.notify.outbox import OUTBOX
from engine.notify.settings import NotifySettings
from engine.notify.todos import TODOS
from engine.notify.webhook import reply_writer
from engine.rules import runs
from engine.store.audit import AUDIT
from engine.store.database import Database
from tests.notify.sinks import http_sink
from tests.rules.sales import Setup, installer, rule


@pytest.fixture
def setup(database: Database, tmp_path: Path) -> Setup:
    return installer(database, tmp_path)


NOTIFY = rule("tell_rep", [{
    "type": "notify", "channels": ["in_app", "email"],
    "to": [{"field": "rep"}, {"field": "email"}, {"department_head": "销售部"}, "owner"],
    "title": "新线索：{{ record.name }}（{{ record.status }}）",
    "text": "金额 {{ record.amount }}，跟进人 {{ record.rep }}，客户 {{ record.account }}，状态 {{ raw.status }}，"
            "{{ record.missing }}见 {{ link }}",
    "html": "<p>{{ record.name }}</p>",
}])


def rows(engine: Any, table: sa.Table, *order: Any) -> list[dict[str, Any]]:
    with engine.database.reading() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(*(order or (table.c.id,)))).mappings()]


def test_notify_writes_in_app_rows_and_queues_email_with_display_values(setup: Setup) -> None:
    engine, team = setup([NOTIFY])
    shop = engine.service("shop")
    account = shop.create("account", {"name": "Acme Corp"})
    lead = shop.create("lead", {"name": 'Big "deal"', "status": "open", "amount": "12345.6", "rep": team["bob"],
                                "email": "buyer@client.example.com", "account": account["id"]})
    link = f"/a/shop/lead/{lead['id']}"
    text = f"金额 ¥12,345.60，跟进人 Bob Wu，客户 Acme Corp，状态 open，见 {link}"
    notes = rows(engine, NOTIFICATIONS)
    assert [(n["user_id"], n["title"], n["body"], n["link"], n["source"]) for n in notes] == [
        (team[who], '新线索：Big "deal"（跟进中）', text, link, "rule:shop.tell_rep") for who in ("bob", "max")]
    mails = rows(engine, OUTBOX, OUTBOX.c.recipient)
    assert [(m["channel"], m["recipient"]) for m in mails] == [
        ("email", "bob@example.com"), ("email", "buyer@client.example.com"), ("email", "max@example.com")]
    with engine.database.reading() as conn:
        run = runs.read_runs(conn, app="shop", rule="tell_rep")[0]
    assert {m["idempotency_key"] for m in mails} == {
        f"rule:shop.tell_rep:run:{run.id}:email:{m['recipient']}" for m in mails}
    assert all(m["rule_run_id"] == run.id for m in mails)
    payload = mails[0]["payload"]
    assert payload["subject"] == '新线索：Big "deal"（跟进中）'
    assert payload["html"].startswith("<p>Big &#34;deal&#34;</p>")  # the HTML body is escaped
    assert run.actions[0]["detail"] == {"in_app": 2, "queued": 3, "skipped": []}


def test_a_retried_notice_reaches_nobody_twice_and_nobody_to_reach_is_a_skip(setup: Setup) -> None:
    engine, _ = setup([rule("tell", [
        {"type": "notify", "channels": ["email"], "to": [{"member": "ann"}], "title": "One", "text": "{{ 1/0 }}"},
    ]), rule("nobody", [{"type": "notify", "to": ["owner"], "title": "x", "text": "y"}])])
    shop = engine.service("shop")
    lead = shop.create("lead", {"name": "Acme"})
    with engine.database.reading() as conn:
        logged = {r.rule: r for r in runs.read_runs(conn, app="shop", record_id=lead["id"])}
    assert logged["tell"].status == "failed" and "division" in (logged["tell"].error or "")
    assert logged["nobody"].actions[0]["outcome"] == "skipped"
    assert rows(engine, OUTBOX) == [] and rows(engine, NOTIFICATIONS) == []


def test_add_todo_for_the_rep_due_at_nine_on_the_follow_up_date(setup: Setup) -> None:
    engine, team = setup([rule("follow_up", [
        {"type": "add_todo", "to": [{"field": "rep"}, {"member": "eve"}], "title": "跟进 {{ record.name }}",
         "note": "{{ record.status }}", "due": "follow_up", "at": "09:00"},
        {"type": "add_todo", "to": ["owner", {"role": "rep"}], "title": "Call", "due": "TODAY() + 3"},
    ])])
    shop = engine.service("shop")
    shop.create("lead", {"name": "Acme", "status": "converted", "rep": team["ann"], "follow_up": "2026-12-10",
                         "owner": team["dan"]})
    todos = rows(engine, TODOS)
    # eve is deactivated: no todo for her
    assert [(t["user_id"], t["title"], t["note"]) for t in todos] == [
        (team["ann"], "跟进 Acme", "已转化"), (team["dan"], "Call", None), (team["bob"], "Call", None),
        (team["cat"], "Call", None)]
    zone = engine.clock.tz
    due = [t["due_at"].replace(tzinfo=dt.UTC) if t["due_at"].tzinfo is None else t["due_at"] for t in todos]
    assert due[0] == dt.datetime(2026, 12, 10, 9, 0, tzinfo=zone)
    assert due[1] == dt.datetime(2026, 12, 7, 23, 59, 59, tzinfo=zone)  # a date alone: the end of that day
    assert {(t["app"], t["form"], t["source"]) for t in todos} == {("shop", "lead", "rule:shop.follow_up")}


WEBHOOK = rule("push", [{
    "type": "call_webhook", "method": "POST", "url": "https://crm.example.com/hooks/{{ raw.id }}",
    "headers": {"X-Lead": "{{ record.name }}"},
    "body": {"name": "{{ raw.name }}", "note": "{{ raw.note }}", "amount": {"formula": "amount"},
             "doubled": {"formula": "amount * 2"}, "status": "{{ record.status }}",
             "tags": ["lead", "{{ record.rep }}"], "blank": {"formula": "follow_up"}, "fixed": 7},
    "reply": {"external_id": "data.id"},
}])


def test_call_webhook_queues_a_well_formed_json_body_whatever_the_fields_hold(setup: Setup) -> None:
    engine, team = setup([WEBHOOK])
    shop = engine.service("shop")
    tricky = 'He said "hi"\nthen left\\ {"x": 1} </script>'
    lead = shop.create("lead", {"name": 'Quote " and \\ back', "note": tricky, "amount": "99.5",
                                "status": "open", "rep": team["ann"]})
    (message,) = rows(engine, OUTBOX)
    with engine.database.reading() as conn:
        stored = conn.execute(sa.select(sa.cast(OUTBOX.c.payload, sa.Text))).scalar_one()
        run = runs.read_runs(conn, app="shop", rule="push")[0]
    payload = json.loads(stored)  # the stored text is JSON as it is
    assert payload == message["payload"]
    assert message["channel"] == "webhook" and message["recipient"] == f"https://crm.example.com/hooks/{lead['id']}"
    assert payload["body"] == {"name": 'Quote " and \\ back', "note": tricky, "amount": 99.5, "doubled": 199,
                               "status": "跟进中", "tags": ["lead", "Ann Li"], "blank": None, "fixed": 7}
    assert payload["headers"] == {"X-Lead": 'Quote " and \\ back'} and payload["method"] == "POST"
    assert payload["reply"] == {"app": "shop", "form": "lead", "record_id": lead["id"],
                                "fields": {"external_id": "data.id"}, "rule": "push"}
    assert message["idempotency_key"].startswith(f"rule:shop.push:run:{run.id}:webhook:")


@pytest.mark.parametrize(("action", "where", "says"), [
    ({"type": "notify", "to": ["owner"], "title": "{{ x ", "text": "t"}, "actions[0].title", "line 1"),
    ({"type": "notify", "channels": ["pigeon"], "to": ["owner"], "title": "t", "text": "t"},
     "actions[0].channels[0]", "no channel 'pigeon'"),
    ({"type": "notify", "to": [{"field": "name"}], "title": "t", "text": "t"}, "actions[0].to[0]",
     "must be of type member / email / phone"),
    ({"type": "add_todo", "to": [{"robot": "ops"}], "title": "t"}, "actions[0].to[0]", '{"robot": "ops"} is not'),
    ({"type": "add_todo", "to": [{"field": "email"}], "title": "t"}, "actions[0].to[0]", "must be of type member"),
    ({"type": "add_todo", "title": "t", "due": "follow_upp + 1"}, "actions[0].due", "follow_upp"),
    ({"type": "add_todo", "title": "t", "at": "9am"}, "actions[0].at", "9am"),
    ({"type": "call_webhook", "url": "ftp://x"}, "actions[0].url", "ftp://x"),
    ({"type": "call_webhook", "url": "https://x", "body": {"a": {"formula": "nope"}}},
     "actions[0].body.a.formula", "nope"),
    ({"type": "call_webhook", "url": "https://x", "reply": {"ext": "id"}}, "actions[0].reply.ext",
     "no field 'ext'"),
])
def test_the_loader_names_what_is_wrong(database: Database, tmp_path: Path, action: dict[str, Any],
                                        where: str, says: str) -> None:
    with pytest.raises(PackageError) as caught:
        installer(database, tmp_path)([rule("bad", [action])])
    assert f"rules/bad.yaml: {where}" in str(caught.value)
    assert says in str(caught.value)


def test_the_worker_posts_the_webhook_and_writes_the_reply_back(setup: Setup) -> None:
    """End to end: the rule's message, sent by the outbox's deliverer to a
    loopback HTTP server, arrives as the JSON it should be, and the answer's
    id lands in the record, written as the rule."""
    with http_sink() as http:
        http.answers["/leads"] = (200, {"data": {"id": "EXT-42"}})
        hook = rule("push", [{**WEBHOOK["actions"][0], "url": http.url("/leads")}])
        engine, team = setup([hook])
        shop = engine.service("shop")
        tricky = 'a "quoted"\nline'
        lead = shop.create("lead", {"name": "Acme", "note": tricky, "amount": "10", "rep": team["bob"]})
        settings = NotifySettings.from_env({"QIQIAO_SMTP_URL": "smtp://127.0.0.1:1", "QIQIAO_HTTP_TIMEOUT": "5"})
        Deliverer(engine.database, engine.clock, settings, name="w1",
                  write_reply=reply_writer(engine.service)).run()
        (seen,) = http.seen("/leads")
    assert seen.method == "POST" and seen.headers["X-Lead"] == "Acme"
    assert seen.body["note"] == tricky and seen.body["amount"] == 10 and seen.body["tags"] == ["lead", "Bob Wu"]
    assert shop.get("lead", lead["id"])["external_id"] == "EXT-42"
    with engine.database.reading() as conn:
        audited = conn.execute(sa.select(AUDIT.c.source).where(
            AUDIT.c.form == "lead", AUDIT.c.action == "update")).scalars().all()
    assert audited == ["rule"]
