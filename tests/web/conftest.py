"""Browser tests: Playwright for Python driving Debian's Chromium (never a
downloaded browser), against the real app served on loopback.

``site`` is the demo CRM (small) served by a real HTTP server in a thread,
on a database of each kind, made once per session per kind; tests that write
make their own records (unique names) so they do not depend on each other.
``browser_page`` opens a fresh browser context at a viewport and language
(desktop zh and phone en by default, see ``VIEWS``); every page load is
checked for Content-Security-Policy violations and script errors.
``axe`` runs axe-core (from npm) on the current page: no serious or critical
violations. ``shot`` keeps a screenshot under ``test-artifacts/screenshots``
(git ignores it) for people to look at.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from engine.org.service import OrgService
from engine.store.database import Database
from runtime.app import create_app
from runtime.demo import set_up_demo
from tests.api.conftest import app, client, people, sqlite_copy, template_database, world  # noqa: F401 (fixtures)
from tests.conftest import from_snapshot, postgres_schema_database

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(os.environ.get("QIQIAO_SCREENSHOTS", ROOT / "test-artifacts" / "screenshots"))
CHROMIUM = os.environ.get("QIQIAO_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "web-test-password-1"

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@dataclass
class Site:
    """The CRM served on loopback, and who can sign in to it."""

    kind: str
    url: str
    database: Database
    app: Any
    logins: dict[str, str] = field(default_factory=dict)  # login -> user id


def _demo(database: Database) -> dict[str, int]:
    """The demo CRM, and the people the tests sign in as (login -> id) with ``PASSWORD``."""
    set_up_demo(database.url.render_as_string(hide_password=False), seed=11, scale=0.02)
    org = OrgService(database)
    logins = {}
    for login in ("admin", "zhang.wei", "li.na"):
        user = org.find_user_by_login(login)
        assert user is not None
        org.set_password(user.id, PASSWORD)
        logins[login] = user.id
    return logins


def _serve(request: pytest.FixtureRequest, database: Database, tmp: Path, kind: str) -> Iterator[Site]:
    # Set up once for all the workers of a run, copied into this one's database (see from_snapshot).
    logins = from_snapshot(request, database, "web-demo", _demo)
    flask_app = create_app({"DATABASE": database, "SECRET_KEY": "web-tests", "DEFINITIONS_CHECK_SECONDS": 0,
                            "FILES": str(tmp / "files"), "LOGIN_RATE": "1000/minute"})
    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(kind, f"http://127.0.0.1:{server.server_port}", database, flask_app, dict(logins))
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="session")
def sqlite_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("web-sqlite")
    database = Database(f"sqlite:///{tmp / 'qiqiao.sqlite3'}")
    yield from _serve(request, database, tmp, "sqlite")
    database.dispose()


@pytest.fixture(scope="session")
def postgresql_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                    postgres_url: str) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("web-postgresql")
    database, _schema = postgres_schema_database(postgres_url)
    yield from _serve(request, database, tmp, "postgresql")
    database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest) -> Site:
    return request.getfixturevalue(f"{request.param}_site")  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


class Problems:
    """Script errors and CSP violations a page reported."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def watch(self, page: Any) -> None:
        page.on("console", lambda m: self.messages.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.messages.append(f"page error: {e}"))


def open_page(browser: Any, site: Site, *, viewport: dict[str, int] = DESKTOP, language: str = "zh",
              storage_state: Any = None) -> Any:
    """A new browser context and page on ``site``: no cookies, or those of
    ``storage_state`` (a signed-in context's, to skip signing in again)."""
    context = browser.new_context(
        storage_state=storage_state,
        viewport=viewport, base_url=site.url, locale="zh-CN" if language == "zh" else "en-US",
        extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9" if language == "zh" else "en-US,en;q=0.9"},
        has_touch=viewport == PHONE, is_mobile=viewport == PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = Problems()
    problems.watch(page)
    page.problems = problems
    return page


def sign_in(page: Any, login: str = "admin", password: str = PASSWORD, *, next_path: str = "/") -> None:
    page.goto(f"/auth/login?next={next_path}")
    page.fill("#login", login)
    page.fill("#password", password)
    follow(page, "form[action='/auth/login'] button[type=submit]")


def follow(page: Any, target: Any) -> None:
    """Click a link or a form's button (a selector or a locator) and wait
    until the page it leads to has loaded: waiting for the network to go
    idle instead would cost half a second more each time."""
    with page.expect_navigation():
        (page.locator(target) if isinstance(target, str) else target).click()


def axe(page: Any, *, context: str | None = None) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page (evaluated over
    DevTools, which the page's CSP does not govern)."""
    # Settled first: no request in flight, and every "loading" indicator
    # faded out (half faded, its text fails the contrast check).
    page.wait_for_function("""() => !document.querySelector('.htmx-request')
        && [...document.querySelectorAll('.htmx-indicator')].every(e => getComputedStyle(e).opacity === '0')""")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("(ctx) => axe.run(ctx || document, {resultTypes: ['violations']})", context)
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_problems(page: Any) -> None:
    """No console error or failed request, and nothing wider than a phone's
    screen (a page that scrolls sideways on a phone is broken there)."""
    assert page.problems.messages == [], page.problems.messages
    width = page.viewport_size["width"]
    if width <= PHONE["width"]:
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= width, f"{page.url} is {wide} px wide on a {width} px screen"
