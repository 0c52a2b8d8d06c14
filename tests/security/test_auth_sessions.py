"""Probe 5: a saved session cookie must stop working when the session ends —
by logout, a new password or deactivation — on SQLite and PostgreSQL. And
the probes that held: a session change without its CSRF token is refused."""

from __future__ import annotations

from pathlib import Path

from engine.org.service import OrgService
from tests.security.auth_world import USER_PASSWORD, World, auth_world, make_app, sign_in

__all__ = ["auth_world"]

COOKIE = "qiqiao_session"
CUSTOMERS = "/api/v1/apps/crm/forms/customer/records"


def _replay(world: World, cookie: str, csrf: str) -> tuple[int, int]:
    """A new browser with a saved cookie: the status of a read and of a change."""
    thief = world.app.test_client()
    thief.set_cookie(COOKIE, cookie)
    read = thief.get("/api/v1/me").status_code
    write = thief.post(CUSTOMERS, json={"name": "Replayed"}, headers={"X-CSRF-Token": csrf}).status_code
    return read, write


def test_logout_ends_the_session_on_the_server(auth_world: World) -> None:
    browser = auth_world.app.test_client()
    csrf = sign_in(browser, "admin", "admin-password-1")
    cookie = browser.get_cookie(COOKIE)
    assert cookie is not None
    assert _replay(auth_world, cookie.value, csrf) == (200, 201)  # the saved cookie works while signed in
    assert browser.post("/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    # The answers were cached (QIQIAO_AUTH_CACHE): logout forgets them in this process at once.
    assert _replay(auth_world, cookie.value, csrf) == (401, 401)
    with auth_world.database.reading() as conn:
        names = [r[0] for r in conn.exec_driver_sql("SELECT name FROM crm_customer").all()]
    assert names == ["Replayed"]


def test_a_new_password_and_deactivation_end_every_session(auth_world: World, tmp_path: Path) -> None:
    app = make_app(auth_world.database, tmp_path / "files", AUTH_CACHE_SECONDS=0)
    world = World(app, auth_world.database, auth_world.people)
    first, second = app.test_client(), app.test_client()
    csrf = sign_in(first, "alice", USER_PASSWORD)
    sign_in(second, "alice", USER_PASSWORD)
    saved = first.get_cookie(COOKIE)
    assert saved is not None and first.get("/api/v1/me").status_code == 200
    org = OrgService(world.database)
    org.set_password(world.people.user_id, "a-new-password-2", actor_id=world.people.user_id)
    assert first.get("/api/v1/me").status_code == 401
    assert second.get("/api/v1/me").status_code == 401
    assert _replay(world, saved.value, csrf) == (401, 401)

    again = app.test_client()
    sign_in(again, "alice", "a-new-password-2")
    assert again.get("/api/v1/me").status_code == 200
    org.deactivate_user(world.people.user_id)
    org.activate_user(world.people.user_id)
    # Deactivation ended the session: coming back does not revive it.
    assert again.get("/api/v1/me").status_code == 401


def test_a_session_change_needs_its_csrf_token(auth_world: World) -> None:
    browser = auth_world.app.test_client()
    csrf = sign_in(browser, "admin", "admin-password-1")
    refused = browser.post(CUSTOMERS, json={"name": "No token"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "csrf_failed"
    wrong = browser.post(CUSTOMERS, json={"name": "Wrong token"}, headers={"X-CSRF-Token": csrf + "x"})
    assert wrong.status_code == 403
    elsewhere = browser.post(CUSTOMERS, json={"name": "Elsewhere"},
                             headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert elsewhere.status_code == 403
    logout_without = browser.post("/auth/logout")
    assert logout_without.status_code == 403  # nobody can sign a victim out from another site
    assert browser.get("/api/v1/me").status_code == 200
    with auth_world.database.reading() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM crm_customer").scalar() == 0


def test_a_forged_or_unknown_session_key_is_refused(auth_world: World) -> None:
    from itsdangerous import URLSafeTimedSerializer

    # A cookie signed with the right key but naming a session the server never started.
    serializer = auth_world.app.session_interface.get_signing_serializer(auth_world.app)  # type: ignore[attr-defined]
    assert isinstance(serializer, URLSafeTimedSerializer)
    browser = auth_world.app.test_client()
    browser.set_cookie(COOKIE, serializer.dumps({"sid": "made-up", "uid": auth_world.people.admin_id}))
    assert browser.get("/api/v1/me").status_code == 401
