"""Approver resolvers against a real organization, on SQLite and PostgreSQL:
heads at several levels (an empty chair, a deactivated head), roles held
through departments, deactivated people, delegations in and out of their
window, a delegation cycle, the app's admins, and the definition checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.definitions.flow_files import FlowDef, NodeDef
from engine.definitions.issues import Path
from engine.definitions.model import FieldDef, FormDef
from engine.definitions.rule_files import StepDef
from engine.flows.base import ResolveContext
from engine.flows.resolvers import (
    RESOLVERS,
    app_admins,
    check_choice,
    check_entries,
    choice_is_multiple,
    choices,
    delegate,
    resolve_people,
    runs_in_order,
)
from engine.org.service import OrgService
from engine.store.database import Database
from engine.store.migrate import upgrade_system_tables
from engine.store.models import App
from tests.conftest import admin_execute, postgres_schema_database

START = dt.datetime(2026, 5, 20, 9, 0, tzinfo=dt.UTC)


@dataclass
class Org:
    """The organization every test reads (built once per database)."""

    database: Database
    service: OrgService
    users: dict[str, int] = field(default_factory=dict)
    departments: dict[str, int] = field(default_factory=dict)


def build_org(database: Database) -> Org:
    """总部 (ceo) / 销售部 (director) / 华东 (no head) / 上海 (manager);
    销售部 / 华北 (a deactivated head); 总部 / 财务部 (cfo, role finance given
    to the department) / 核算 (accountant)."""
    service = OrgService(database, FixedClock(START))
    org = Org(database, service)
    for login in ("ceo", "director", "manager", "rep", "east_rep", "north_rep", "old_head", "cfo",
                  "accountant", "clerk", "gone", "boss", "deputy", "third", "loop_a", "loop_b",
                  "owner_a", "admin_b", "nomad"):
        org.users[login] = service.create_user(login, login.title()).id
    u = org.users
    tree = [("总部", None, "ceo"), ("销售部", "总部", "director"), ("华东", "销售部", None),
            ("上海", "华东", "manager"), ("华北", "销售部", "old_head"), ("财务部", "总部", "cfo"),
            ("核算", "财务部", None)]
    for name, parent, head in tree:
        org.departments[name] = service.create_department(
            name, org.departments[parent] if parent else None, u[head] if head else None).id
    d = org.departments
    for login, department in [("rep", "上海"), ("manager", "上海"), ("east_rep", "华东"),
                              ("north_rep", "华北"), ("cfo", "财务部"), ("accountant", "核算"),
                              ("director", "销售部"), ("ceo", "总部"), ("gone", "财务部")]:
        service.add_member(u[login], d[department], main=True)
    service.add_member(u["rep"], d["财务部"])  # a second department is not their main one
    service.create_role("finance", "财务")
    service.assign_role_to_department("finance", d["财务部"])
    service.assign_role("finance", u["clerk"])
    with database.transaction() as conn:
        conn.execute(sa.insert(App.__table__), [
            {"key": key, "label": {"zh": key, "en": key}, "version": "1", "package": None,
             "package_version": None, "installed_at": START} for key in ("crm", "hr")])
    service.create_role("legal", "法务", app="hr")
    service.assign_role("legal", u["clerk"])
    service.add_app_owner("crm", u["owner_a"])
    service.add_app_owner("crm", u["gone"])
    service.set_admin(u["admin_b"], True)
    service.deactivate_user(u["old_head"])
    service.deactivate_user(u["gone"])
    return org


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def org(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    # Built once per database for the module: the tests only read it, or
    # write delegations and owners of people no other test looks at.
    if request.param == "sqlite":
        folder: FilePath = tmp_path_factory.mktemp("resolvers")
        database = Database(f"sqlite:///{folder / 'org.sqlite3'}")
        upgrade_system_tables(database)
        yield build_org(database)
        database.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    database, schema = postgres_schema_database(url)
    try:
        upgrade_system_tables(database)
        yield build_org(database)
    finally:
        database.dispose()
        admin_execute(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


NODE = NodeDef(key="manager", type="approval", label=Label("经理审批", "Manager approval"))
FLOW = FlowDef(key="contract_approval", label=Label("合同审批", "Contract approval"), form="contract",
               trigger=StepDef("submit"), nodes=(NODE,))


@contextmanager
def context(org: Org, submitter: str | None = "rep", record: Mapping[str, Any] | None = None,
            chosen: Sequence[int] = (), app: str = "crm", now: dt.datetime = START) -> Iterator[ResolveContext]:
    with org.database.reading() as conn:
        yield ResolveContext(
            conn=conn, org=org.service, app=app, flow=FLOW, node=NODE, record=record or {},
            submitter_id=org.users[submitter] if submitter else None, now=now, chosen=chosen)


def people(org: Org, entries: Sequence[Mapping[str, Any]], **kwargs: Any) -> list[str]:
    logins = {v: k for k, v in org.users.items()}
    with context(org, **kwargs) as ctx:
        return [logins[i] for i in resolve_people(ctx, entries)]


def test_the_registry_holds_every_resolver_of_the_contract() -> None:
    assert RESOLVERS.keys() == ["members", "role", "department_head", "department_heads",
                                "department_field_head", "member_field", "chosen", "submitter"]
    assert [r.key for r in RESOLVERS if r.choosable] == ["chosen"]
    assert [r.key for r in RESOLVERS if r.sequential] == ["department_heads"]


@pytest.mark.parametrize(("submitter", "levels", "expected"), [
    ("rep", 1, ["manager"]),
    ("rep", 2, ["director"]),     # 华东 has no head: the nearest head above sits in
    ("rep", 3, ["director"]),
    ("rep", 4, ["ceo"]),
    ("rep", 5, []),               # above the top there is nobody
    ("manager", 1, ["director"]),  # a head's own head is one level up
    ("east_rep", 1, ["director"]),
    ("north_rep", 1, ["director"]),  # 华北's head is deactivated
    ("director", 1, ["ceo"]),
    ("ceo", 1, []),
    ("nomad", 1, []),             # no department at all
])
def test_department_head_n_levels_up(org: Org, submitter: str, levels: int, expected: list[str]) -> None:
    assert people(org, [{"type": "department_head", "levels": levels}], submitter=submitter) == expected


def test_department_head_defaults_to_the_direct_head_and_needs_a_submitter(org: Org) -> None:
    assert people(org, [{"type": "department_head"}]) == ["manager"]
    assert people(org, [{"type": "department_head"}], submitter=None) == []


def test_multi_level_heads_in_order_once_each(org: Org) -> None:
    assert people(org, [{"type": "department_heads", "levels": 2}]) == ["manager", "director"]
    assert people(org, [{"type": "department_heads", "levels": 3}]) == ["manager", "director"]
    assert people(org, [{"type": "department_heads", "top": True}]) == ["manager", "director", "ceo"]
    assert people(org, [{"type": "department_heads", "top": True}], submitter="manager") == \
        ["director", "ceo"]
    assert runs_in_order([{"type": "role", "role": "x"}, {"type": "department_heads", "top": True}])
    assert not runs_in_order([{"type": "department_head", "levels": 2}])


@contextmanager
def statements(org: Org) -> Iterator[list[str]]:
    """The SQL statements run inside the block."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    sa.event.listen(org.database.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(org.database.engine, "before_cursor_execute", count)


@pytest.mark.parametrize("entry", [
    {"type": "department_heads", "top": True}, {"type": "department_head", "levels": 3},
    {"type": "department_field_head", "field": "dept"}, {"type": "role", "role": "finance"},
    {"type": "members", "users": ["ceo", "cfo"]}, {"type": "member_field", "field": "watchers"},
])
def test_each_resolver_is_one_query_whatever_the_tree(org: Org, entry: dict[str, Any]) -> None:
    record = {"dept": [org.departments["上海"], org.departments["核算"]],
              "watchers": [org.users["ceo"], org.users["cfo"]]}
    with context(org, record=record) as ctx, statements(org) as seen:
        assert resolve_people(ctx, [entry])
    assert len([s for s in seen if s.lstrip().upper().startswith(("SELECT", "WITH"))]) == 1, seen


def test_delegation_is_one_query_when_nobody_is_away(org: Org) -> None:
    people = [org.users["ceo"], org.users["cfo"], org.users["manager"]]
    with org.database.reading() as conn, statements(org) as seen:
        assert delegate(conn, org.service, people, START - dt.timedelta(days=30)) == [(p, None) for p in people]
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1, seen


def test_the_climb_reads_the_heads_delegates_so_their_tasks_ask_no_more(org: Org) -> None:
    u, service = org.users, org.service
    away = (START + dt.timedelta(days=10), START + dt.timedelta(days=12))  # after the other tests' moments
    service.add_delegation(u["director"], u["cfo"], *away)
    service.add_delegation(u["cfo"], u["clerk"], *away)
    moment = START + dt.timedelta(days=11)
    with context(org, now=moment) as ctx:
        heads = resolve_people(ctx, [{"type": "department_heads", "top": True}])
        assert heads == [u["manager"], u["director"], u["ceo"]]
        assert (ctx.standins[u["manager"]], ctx.standins[u["director"]], ctx.standins[u["ceo"]]) == \
            (None, u["cfo"], None)
        with statements(org) as seen:
            assigned = delegate(ctx.conn, service, heads, moment, ctx.standins)
        assert assigned == [(u["manager"], None), (u["clerk"], u["director"]), (u["ceo"], None)]
        assert len(seen) == 2, seen  # whether the cfo is away, then the clerk: the heads' are known
        assert delegate(ctx.conn, service, heads, moment) == assigned  # asking about everyone agrees
    with context(org, now=away[1]) as ctx, statements(org) as seen:  # nobody away: no query at all
        heads = resolve_people(ctx, [{"type": "department_heads", "top": True}])
        assert delegate(ctx.conn, service, heads, away[1], ctx.standins) == [(h, None) for h in heads]
    assert len([s for s in seen if s.startswith("WITH")]) == len([s for s in seen if s != "BEGIN"]) == 1, seen


def test_role_holders_agree_with_the_organization(org: Org) -> None:
    with context(org) as ctx:
        assert resolve_people(ctx, [{"type": "role", "role": "finance"}]) == \
            sorted(org.service.users_with_role("finance"))


def test_head_of_a_department_field(org: Org) -> None:
    d = org.departments
    entry = {"type": "department_field_head", "field": "dept"}
    assert people(org, [entry], record={"dept": [d["财务部"], d["华东"], d["销售部"]]}) == ["cfo", "director"]
    assert people(org, [entry], record={"dept": d["核算"]}) == ["cfo"]
    assert people(org, [entry], record={"dept": d["上海"]}) == ["manager"]
    assert people(org, [entry], record={"dept": None}) == []
    assert people(org, [entry]) == []


def test_members_by_login_in_the_written_order(org: Org) -> None:
    entry = {"type": "members", "users": ["CFO", "ghost", "gone", "ceo"]}
    assert people(org, [entry]) == ["cfo", "ceo"]


def test_role_holders_directly_and_through_departments(org: Org) -> None:
    # cfo and accountant through 财务部 (and 核算 below it), clerk directly;
    # gone is deactivated; rep's second department is 财务部 too.
    assert people(org, [{"type": "role", "role": "finance"}]) == \
        sorted(["rep", "cfo", "accountant", "clerk"], key=lambda login: org.users[login])
    # An app's role is nobody in another app, and an unknown role nobody at all.
    assert people(org, [{"type": "role", "role": "legal"}], app="crm") == []
    assert people(org, [{"type": "role", "role": "legal"}], app="hr") == ["clerk"]
    assert people(org, [{"type": "role", "role": "nobody_has_it"}]) == []


def test_member_field_and_submitter(org: Org) -> None:
    u = org.users
    record = {"owner": u["rep"], "watchers": [u["ceo"], u["old_head"], u["cfo"], u["ceo"]]}
    assert people(org, [{"type": "member_field", "field": "watchers"}], record=record) == ["ceo", "cfo"]
    assert people(org, [{"type": "member_field", "field": "owner"}], record=record) == ["rep"]
    assert people(org, [{"type": "member_field", "field": "owner"}], record={"owner": None}) == []
    assert people(org, [{"type": "submitter"}], submitter="director") == ["director"]
    assert people(org, [{"type": "submitter"}], submitter="gone") == []
    assert people(org, [{"type": "submitter"}], submitter=None) == []


def test_entries_unite_in_order_no_one_twice(org: Org) -> None:
    entries = [{"type": "department_heads", "levels": 2}, {"type": "members", "users": ["ceo", "manager"]},
               {"type": "submitter"}]
    assert people(org, entries) == ["manager", "director", "ceo", "rep"]


def test_chosen_by_the_submitter(org: Org) -> None:
    u = org.users
    finance = {"type": "chosen", "from": [{"type": "role", "role": "finance"}]}
    anyone = {"type": "chosen", "multiple": True}
    with context(org) as ctx:
        assert choices(ctx, [{"type": "submitter"}]) is None
        assert choices(ctx, [finance]) == sorted([u["rep"], u["cfo"], u["accountant"], u["clerk"]])
        everyone = choices(ctx, [anyone])
        assert everyone is not None and u["ceo"] in everyone and u["gone"] not in everyone
    assert not choice_is_multiple([finance]) and choice_is_multiple([anyone])
    # Only the allowed, only the active, one unless several are allowed.
    assert people(org, [finance], chosen=[u["ceo"], u["cfo"], u["clerk"]]) == ["cfo"]
    assert people(org, [anyone], chosen=[u["gone"], u["ceo"], u["cfo"]]) == ["ceo", "cfo"]
    assert people(org, [finance]) == []


@pytest.mark.parametrize(("entries", "picked", "message"), [
    ([{"type": "chosen"}], [], "Choose the approvers of \"Manager approval\""),
    ([{"type": "chosen"}], ["ceo", "cfo"], "\"Manager approval\" takes one person"),
    ([{"type": "chosen", "from": [{"type": "members", "users": ["cfo"]}]}], ["ceo"],
     "\"Manager approval\" cannot be given users"),
    ([{"type": "submitter"}], ["ceo"], "\"Manager approval\" takes no chosen approvers"),
])
def test_a_bad_choice_is_refused_naming_the_node(org: Org, entries: list[dict[str, Any]], picked: list[str],
                                                 message: str) -> None:
    with context(org) as ctx, pytest.raises(ValidationError) as raised:
        check_choice(ctx, entries, [org.users[p] for p in picked])
    assert raised.value.message.en.startswith(message)
    assert list(raised.value.field_errors) == ["chosen.manager"]


def test_a_good_choice_passes(org: Org) -> None:
    u = org.users
    entries = [{"type": "chosen", "multiple": True, "from": [{"type": "role", "role": "finance"}]}]
    with context(org) as ctx:
        assert check_choice(ctx, entries, [u["cfo"], u["clerk"], u["cfo"]]) == [u["cfo"], u["clerk"]]
        assert check_choice(ctx, [{"type": "submitter"}], []) == []


def test_delegation_in_its_window_chains_and_cycles(org: Org) -> None:
    u, service = org.users, org.service
    week = (START, START + dt.timedelta(days=7))
    service.add_delegation(u["boss"], u["deputy"], *week)
    service.add_delegation(u["deputy"], u["third"], START + dt.timedelta(days=3), week[1])
    service.add_delegation(u["loop_a"], u["loop_b"], *week)
    service.add_delegation(u["loop_b"], u["loop_a"], *week)
    service.add_delegation(u["ceo"], u["gone"], *week)  # to a deactivated person: ignored
    asked = [u["boss"], u["loop_a"], u["loop_b"], u["ceo"], u["deputy"]]
    with org.database.reading() as conn:
        assert delegate(conn, service, asked, START + dt.timedelta(days=1)) == [
            (u["deputy"], u["boss"]), (u["loop_b"], u["loop_a"]), (u["loop_a"], u["loop_b"]),
            (u["ceo"], None)]  # deputy's own task went to deputy already: one task each
        # Later the deputy is away too: the chain goes on to the third.
        assert delegate(conn, service, [u["boss"], u["deputy"]], START + dt.timedelta(days=4)) == [
            (u["third"], u["boss"])]
        # Before the window and at its end (excluded), nobody stands in.
        assert delegate(conn, service, [u["boss"]], START - dt.timedelta(seconds=1)) == [(u["boss"], None)]
        assert delegate(conn, service, [u["boss"]], week[1]) == [(u["boss"], None)]
        # A naive moment is in the organization's time zone (UTC+8).
        assert delegate(conn, service, [u["boss"]], dt.datetime(2026, 5, 20, 17, 0)) == \
            [(u["deputy"], u["boss"])]
        assert delegate(conn, service, [], START) == []


def test_app_admins_are_the_owners_then_the_admins(org: Org) -> None:
    u = org.users
    with org.database.reading() as conn:
        admins = app_admins(conn, "crm")
        assert admins[0] == u["owner_a"] and u["gone"] not in admins
        assert u["admin_b"] in admins
        assert app_admins(conn, "hr")[0] != u["owner_a"]


class Checker:
    """The checks' side of a flow file: a form with a member, a department and a text field."""

    flow = FLOW

    def __init__(self) -> None:
        self.reports: list[tuple[Path, str]] = []
        self._form = FormDef(key="contract", label=Label("合同", "Contract"), fields=(
            FieldDef(key="sales", type="member", label=Label("销售", "Sales")),
            FieldDef(key="dept", type="department", label=Label("部门", "Department")),
            FieldDef(key="title", type="text", label=Label("标题", "Title"))))

    @property
    def form(self) -> FormDef | None:
        return self._form

    def report(self, path: Path, message: Label) -> None:
        self.reports.append((path, message.en))

    def formula(self, path: Path, text: str, form: str | None = None) -> None:
        return None

    def known_form(self, path: Path, key: str) -> FormDef | None:
        return self._form if key == "contract" else None

    def field(self, path: Path, key: str, *, form: str | None = None) -> FieldDef | None:
        found = self._form.field(key)
        if found is None and key != "owner":
            self.report(path, Label("", f"form 'contract' has no field '{key}'"))
        return found

    def role(self, path: Path, key: str) -> None:
        if key not in ("finance", "legal"):
            self.report(path, Label("", f"there is no role '{key}'"))


def test_entries_are_checked_with_their_paths() -> None:
    checker = Checker()
    check_entries(checker, [
        {"type": "members", "users": ["a"]},
        {"type": "department_heds", "levels": 2},
        {"type": "department_head", "levels": 0},
        {"type": "role", "role": "sales"},
        {"type": "member_field", "field": "dept"},
        {"type": "member_field", "field": "owner"},
        {"type": "department_field_head", "field": "nope"},
        {"type": "department_heads"},
        {"type": "chosen", "from": [{"type": "chosen"}, {"type": "role", "role": "finance"},
                                    {"type": "member_field", "field": "title"}]},
        "manager",
    ], ("nodes", 0, "approvers"))
    where = [(path[3:], message) for path, message in checker.reports]
    assert [w[0] for w in where] == [
        (1, "type"), (2, "levels"), (3, "role"), (4, "field"), (6, "field"), (7,),
        (8, "from", 0, "type"), (8, "from", 2, "field"), (9, "type")]
    assert "did you mean 'department_heads'" in where[0][1]
    assert where[3][1] == "field 'dept' must be of type member"
    assert where[6][1] == "A choice cannot offer another choice"
