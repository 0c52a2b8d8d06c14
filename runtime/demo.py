"""``qiqiao demo``: a CRM to try, in one command (what ``make demo`` runs).

It creates the database (``--instance``, default ``instance/``), installs the
CRM template (or brings an installed one's menu and roles up to date),
creates an admin (``admin``, a new random password each run, printed) and a
small company (``PEOPLE``: a sales team, its manager and director, service,
finance, marketing, legal and the general manager, each holding the CRM role
of their job — the CRM's flows find their approvers among them; one new
password for all of them each run, printed with their logins and roles),
generates demo data from the field types'
fake values — a few hundred customers, contacts, leads, opportunities and
follow-ups, and the contracts, payment plans and receipts, service tickets
and feedback the dashboards report on, created over the last two years; a
record's dates fall around the month it was made — issues an API token for the
admin, prints the sign-in and an example API call, and serves the app on
127.0.0.1:5000 (``--no-serve`` stops before that; the tests use it).

Running it again keeps the data (it is generated only into an empty CRM)
and prints a new password and token; the demo token printed before is
revoked, so there is never more than one live demo token. The data follows
the CRM's model (``runtime.demo_shapes``): fake values alone know their field, not
that a pool customer has no owner.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import secrets
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

# Records per form, in the order relations need, and whether they are spread
# over the two years (reference data is there from the start).
PLAN: tuple[tuple[str, int, bool], ...] = (
    ("product", 12, False), ("sales_agent", 6, False), ("customer", 300, True), ("contact", 300, True),
    ("lead", 300, True), ("opportunity", 400, True), ("follow_up", 300, True),
    ("contract", 120, True), ("payment_plan", 200, True), ("payment_receipt", 150, True),
    ("service_ticket", 240, True), ("feedback", 150, True),
)
MONTHS = 24
SKIPPED_TYPES = frozenset({"attachment", "image", "signature", "subform", "department"})
# The demo's people: login, name, department (path, code), position, CRM
# role. The first of a department heads it; the sales reps own the demo data.
PEOPLE: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("zhao.lei", "赵磊", "销售部", "sales", "销售经理", "sales_manager"),
    ("zhang.wei", "张伟", "销售部", "sales", "销售代表", "sales"),
    ("li.na", "李娜", "销售部", "sales", "销售代表", "sales"),
    ("wang.fang", "王芳", "销售部", "sales", "销售代表", "sales"),
    ("chen.jie", "陈杰", "销售部", "sales", "销售代表", "sales"),
    ("liu.yang", "刘洋", "客服部", "service", "客服经理", "service_manager"),
    ("zhou.min", "周敏", "客服部", "service", "客服专员", "service_agent"),
    ("sun.li", "孙丽", "财务部", "finance", "财务经理", "finance"),
    # Two in finance: the contract's countersign (会签) needs both.
    ("he.jing", "何静", "财务部", "finance", "会计", "finance"),
    ("wu.hao", "吴昊", "市场部", "marketing", "市场专员", "marketing"),
    ("zheng.yi", "郑怡", "法务部", "legal", "法务专员", "legal"),
    ("ma.jun", "马骏", "总经办", "management", "总经理", "general_manager"),
    # In the general office, not the sales department: leads go round the reps, not the director.
    ("qian.feng", "钱峰", "总经办", "management", "销售总监", "sales_director"),
)
DATA_OWNER_ROLE = "sales"
DEMO_TOKEN = "demo"  # the name of the admin's token, followed by when it was issued
EXAMPLE_PATH = "/api/v1/apps/crm/forms/customer/records?limit=5&sort=-created_at"


@dataclass(frozen=True)
class DemoSetup:
    """What the set-up made: how to sign in and an API call to try."""

    database_url: str
    admin_login: str
    admin_password: str
    token: str
    created: Mapping[str, int]
    base_url: str = "http://127.0.0.1:5000"
    people_password: str = ""
    people: tuple[tuple[str, str, str], ...] = ()  # login, name, role key

    @property
    def example_call(self) -> str:
        url = shlex.quote(self.base_url + EXAMPLE_PATH)
        return f"curl -H 'Authorization: Bearer {self.token}' {url}"


def set_up_demo(database_url: str, *, seed: int = 7, clock: Any = None, base_url: str = "http://127.0.0.1:5000",
                scale: float = 1.0) -> DemoSetup:
    """Database, CRM, people, data and a token (idempotent but for the password and token)."""
    from engine.core.clock import SystemClock
    from engine.fields import FIELD_TYPES
    from engine.org.service import OrgService
    from engine.packages import install_package, installed_apps
    from engine.packages.parts import upgrade_parts
    from engine.store.database import Database
    from engine.store.migrate import upgrade_system_tables
    from templates_lib import TEMPLATES

    clock = clock or SystemClock()
    database = Database(database_url)
    try:
        upgrade_system_tables(database)
        if "crm" not in installed_apps(database):
            install_package(database, TEMPLATES.get("crm").path, FIELD_TYPES, package="crm")
        else:  # a demo made by an older Qiqiao: its people need the package's roles
            upgrade_parts(database, TEMPLATES.get("crm").path, FIELD_TYPES)
        org = OrgService(database, clock)
        password = secrets.token_urlsafe(12)
        admin = org.find_user_by_login("admin")
        if admin is None:
            admin = org.create_user("admin", "管理员 Admin", password=password, is_admin=True, locale="zh")
        else:
            org.set_password(admin.id, password)
        people_password = secrets.token_urlsafe(9)
        team = _people(org, people_password)
        owners = [admin.id, *(team[login] for login, *_, role in PEOPLE if role == DATA_OWNER_ROLE)]
        created = _generate(database, clock, owners, random.Random(seed), scale)
        if created:  # a new demo: let its rules run on a few writes, and its approvals be under way
            # Imported here, not at the top: every qiqiao command loads this module (for
            # its demo command) and would pay for the engine's imports before it starts.
            from runtime.demo_flows import show_flows
            from runtime.demo_rules import show_rules

            show_rules(database, clock, team)
            show_flows(database, clock, team)
        token = _replace_demo_token(org, admin.id, clock.now())
        return DemoSetup(database.url.render_as_string(hide_password=True), "admin", password, token,
                         created, base_url, people_password,
                         tuple((login, name, role) for login, name, *_, role in PEOPLE))
    finally:
        database.dispose()


def _replace_demo_token(org: Any, admin_id: int, now: dt.datetime) -> str:
    """A new demo token for the admin; the ones earlier runs printed are revoked
    (the plaintext of a token is not kept, so it cannot be shown again), so
    there is at most one live demo token however often the demo runs."""
    for info in org.list_tokens(admin_id):
        if info.revoked_at is None and info.name.startswith(DEMO_TOKEN):
            org.revoke_token(info.id)
    token, _ = org.issue_token(admin_id, f"{DEMO_TOKEN} {now:%Y-%m-%d %H:%M}", expires_in_days=30)
    return str(token)


def _people(org: Any, password: str) -> dict[str, int]:
    """The people of ``PEOPLE`` in their departments, each holding their CRM
    role, all with ``password`` (new each run, like the admin's); by login."""
    ids: dict[str, int] = {}
    for login, name, path, code, position, role in PEOPLE:
        user = org.find_user_by_login(login)
        if user is None:
            user = org.create_user(login, name, password=password)
            department = org.find_department_by_path(path)
            if department is None:
                department = org.create_department(path, head_id=user.id, code=code)
            org.add_member(user.id, department.id, main=True, position=position)
        else:
            org.set_password(user.id, password)
        org.assign_role(f"crm:{role}", user.id)  # False when they hold it already
        ids[login] = user.id
    return ids


def _generate(database: Any, clock: Any, users: list[int], rng: random.Random, scale: float) -> dict[str, int]:
    """Fake records for each form of ``PLAN`` into an empty CRM, month by month."""
    from engine.core.clock import FixedClock
    from engine.fields import FIELD_TYPES
    from engine.packages import installed_app
    from engine.records import RecordService

    app = installed_app(database, "crm")
    probe = RecordService(database, app, field_types=FIELD_TYPES)
    if probe.count("customer", cap=1)[0]:
        return {}
    # form -> month -> ids: a record points only at records made before it.
    made: dict[str, dict[int, list[int]]] = {}
    start = clock.now() - dt.timedelta(days=730)
    moments = [start + dt.timedelta(days=month * 30.4 + rng.uniform(0, 25)) for month in range(MONTHS)]
    for order, (form_key, total, spread) in enumerate(PLAN):
        wanted = max(1, int(total * scale))
        months = MONTHS if spread else 1
        seen: dict[str, set[Any]] = {}
        for month in range(months):
            count = wanted // months + (1 if month < wanted % months else 0)
            if not count:
                continue
            # Later forms of a month come later in it: what they point at exists by then.
            moment = moments[month] + dt.timedelta(hours=order)
            service = RecordService(database, app, field_types=FIELD_TYPES, clock=FixedClock(moment))
            earlier = {form: [i for m, ids in by_month.items() if m <= month for i in ids]
                       for form, by_month in made.items()}
            new = _create_leniently(service, form_key, functools.partial(
                _fake_row, service, form_key, earlier, users, rng, seen), count)
            made.setdefault(form_key, {})[month] = new
    return {form: sum(len(ids) for ids in by_month.values()) for form, by_month in made.items()}


@functools.cache
def special_values() -> dict[tuple[str, str], Callable[[random.Random], Any]]:
    """Fake values guess from a field's key; a few CRM fields need a better guess."""
    from engine.fields import demo

    return {
        ("customer", "name"): demo.company_name,
        ("lead", "company"): demo.company_name,
        ("product", "name"): lambda rng: rng.choice(demo.PRODUCTS),
        ("customer", "year_established"): lambda rng: rng.randint(1985, 2022),
        # "title" is a job title here, a subject elsewhere (follow-ups, articles).
        ("contact", "title"): lambda rng: rng.choice(demo.JOB_TITLES),
        ("lead", "title"): lambda rng: rng.choice(demo.JOB_TITLES),
    }


def _fake_row(service: Any, form_key: str, ids: Mapping[str, list[int]], users: list[int],
              rng: random.Random, seen: dict[str, set[Any]]) -> dict[str, Any]:
    compiled, _ = service.form(form_key)
    row: dict[str, Any] = {"owner": rng.choice(users)}
    for field in compiled.input_fields:
        ftype = compiled.types[field.key]
        # Read-only fields are stamped by the form's rules and actions (when a
        # customer entered the pool, when a lead was converted), not typed in.
        if field.type in SKIPPED_TYPES or field.readonly or (not field.required and rng.random() < 0.25):
            continue
        if ftype.role == "relation":
            target = ids.get(str(field.setting("target")))
            if target:
                row[field.key] = rng.choice(target)
            continue
        if field.type == "member":
            row[field.key] = rng.choice(users)
            continue
        special = special_values().get((form_key, field.key))
        make: Callable[[random.Random], Any] = special or functools.partial(ftype.fake, field)
        value = make(rng)
        if field.unique and value is not None:
            value = distinct_value(value, make, seen.setdefault(field.key, set()))
        if value is not None:
            row[field.key] = value
    _around(row, service.clock.today())
    from runtime.demo_shapes import MODEL_SHAPES
    from runtime.demo_titles import TITLERS  # imported here, as show_flows: see set_up_demo

    shape = MODEL_SHAPES.get(form_key)
    if shape is not None:
        shape(row, ids, users, rng)

    titler = TITLERS.get(form_key)
    if titler is not None:
        titler(row, functools.partial(_customer_name, service), rng)
    return row


def distinct_value(value: Any, make: Callable[[random.Random], Any], taken: set[Any]) -> Any:
    """``value``, or another made like it when taken: a company's name drawn
    again, with a numbered one ("…有限公司2", which reads as a typo) only as
    the last resort. The draws come from their own generator, seeded by the
    value, so the demo's other data stays as it was."""
    again = random.Random(str(value))
    for _ in range(100):  # the last free name of twelve is found in 100 draws but for 0.02%
        if value not in taken:
            break
        value = make(again)
    base, number = value, 2
    while value in taken:
        value = f"{base}{number}"
        number += 1
    taken.add(value)
    return value


def _around(row: dict[str, Any], day: dt.date) -> None:
    """Move the fake dates (spread around one fixed day) to around ``day``,
    the month the record is made in: a report by close date or ticket
    opening then has this year and the year before to compare."""
    from engine.fields.temporal import DEMO_DAY

    shift = day - DEMO_DAY
    for key, value in row.items():
        if isinstance(value, dt.date | dt.datetime):
            row[key] = value + shift


def _customer_name(service: Any, customer_id: Any) -> str | None:
    if not isinstance(customer_id, int):
        return None
    from engine.records import SYSTEM

    return str(service.get("customer", customer_id, actor=SYSTEM).get("name") or "") or None


def _create_leniently(service: Any, form_key: str, make_row: Callable[[], dict[str, Any]],
                      count: int) -> list[int]:
    """``count`` records from fake rows through ``create_many`` (every check a
    user's input meets). Fake values know their field, not the form's rules
    ("the close date cannot be before the engage date"): a row a rule refuses
    is made again, a few times, and left out after that."""
    from engine.records.batch import RowsInvalid

    rows = [make_row() for _ in range(count)]
    for attempt in range(8):
        try:
            return list(service.create_many(form_key, rows))
        except RowsInvalid as error:
            bad = error.row_errors
            if attempt == 6:
                rows = [row for index, row in enumerate(rows) if index not in bad]
            else:
                rows = [make_row() if index in bad else row for index, row in enumerate(rows)]
    return []


@click.command("demo")
@click.option("--instance", "instance", default="instance", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder for the SQLite database.")
@click.option("--database", default=None, metavar="URL", help="Database URL (instead of --instance).")
@click.option("--serve/--no-serve", default=True, show_default=True, help="Serve the app when set up.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--seed", default=7, show_default=True, type=int, help="Seed of the demo data.")
@click.option("--scale", default=1.0, show_default=True, type=float, help="Multiply the amount of demo data.")
def demo_command(instance: Path, database: str | None, serve: bool, host: str, port: int, seed: int,
                 scale: float) -> None:
    """Set up a CRM with demo data and an admin, print how to sign in, and serve it."""
    from runtime.cli import open_database, reported
    from runtime.serve import serve as serve_app

    url = database or f"sqlite:///{(instance / 'qiqiao.sqlite3').resolve()}"
    with reported("en"):  # an unreachable database is one sentence
        open_database(url, create=True).dispose()
    click.echo("Setting up the demo (database, CRM, users, demo data) ...")
    setup = set_up_demo(url, seed=seed, base_url=f"http://{host}:{port}", scale=scale)
    for form_key, count in setup.created.items():
        click.echo(f"  {form_key}: {count} records")
    click.echo("")
    click.echo(f"Database:  {setup.database_url}")
    click.echo(f"Sign in:   {setup.base_url}/auth/login  login: {setup.admin_login}  "
               f"password: {setup.admin_password}")
    click.echo(f"People:    each signs in with the password {setup.people_password}")
    for login, name, role in setup.people:
        click.echo(f"  {login:<10} {name}  crm:{role}")
    click.echo(f"API token: {setup.token}")
    click.echo("Try:")
    click.echo(f"  {setup.example_call}")
    click.echo(f"OpenAPI:   {setup.base_url}/api/v1/openapi.json (with the same header)")
    if serve:
        serve_app(host, port, database=url)
