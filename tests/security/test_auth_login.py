"""Probes 8 and 9 on signing in, with real threads where it is about
concurrency: forty wrong passwords at once get five tries, not eight; a
stranger's failures do not lock a login at another address; refused bearer
tokens are rate limited; a sign-in form post must say where it comes from."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.security.auth_world import USER_PASSWORD, World, auth_world

__all__ = ["auth_world"]

ORIGIN = {"Origin": "http://localhost"}


def _wrong_login(world: World, _: int) -> int:
    client = world.app.test_client()
    return client.post("/auth/login", json={"login": "alice", "password": "not-her-password"},
                       environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code


def test_forty_parallel_wrong_passwords_get_five_tries(auth_world: World) -> None:
    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(lambda i: _wrong_login(auth_world, i), range(40)))
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == 35
    with auth_world.database.reading() as conn:
        failed = conn.exec_driver_sql("SELECT count(*) FROM audit_log WHERE action = 'login_failed'").scalar()
    assert failed == 5  # only five passwords were even checked


def test_failures_elsewhere_do_not_lock_a_login_out(auth_world: World) -> None:
    client = auth_world.app.test_client()
    for _ in range(5):
        client.post("/auth/login", json={"login": "alice", "password": "guess-guess"},
                    environ_base={"REMOTE_ADDR": "203.0.113.7"})
    blocked = client.post("/auth/login", json={"login": "alice", "password": USER_PASSWORD},
                          environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) <= 60
    # Alice, at her own desk, still signs in.
    own = client.post("/auth/login", json={"login": "alice", "password": USER_PASSWORD},
                      environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert own.status_code == 200


def test_a_good_sign_in_does_not_use_up_the_allowance(auth_world: World) -> None:
    client = auth_world.app.test_client()
    for _ in range(8):
        response = client.post("/auth/login", json={"login": "alice", "password": USER_PASSWORD},
                               environ_base={"REMOTE_ADDR": "192.0.2.11"})
        assert response.status_code == 200


def test_a_sign_in_form_post_must_name_its_origin(auth_world: World) -> None:
    client = auth_world.app.test_client()
    form = {"login": "alice", "password": USER_PASSWORD}
    bare = client.post("/auth/login", data=form)
    assert bare.status_code == 403 and bare.get_json()["error"]["code"] == "csrf_failed"
    assert client.post("/auth/login", data=form, headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/auth/login", data=form, headers={"Referer": "https://evil.example/x"}).status_code == 403
    assert client.post("/auth/login", data=form, headers={"Referer": "http://localhost/login"}).status_code == 303
    assert client.post("/auth/login", data=form, headers=ORIGIN).status_code == 303
    # A text/plain post (what a cross-site form can send as "JSON") is a form post too.
    plain = client.post("/auth/login", data='{"login": "alice", "password": "x"}', content_type="text/plain")
    assert plain.status_code == 403


def _bad_token(world: World, index: int) -> int:
    client = world.app.test_client()
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer qq_guess{index:040d}"},
                      environ_base={"REMOTE_ADDR": "198.51.100.4"}).status_code


def test_invalid_bearer_tokens_are_rate_limited(auth_world: World) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda i: _bad_token(auth_world, i), range(60)))
    assert set(statuses) == {401, 429}
    assert statuses.count(401) >= 20  # QIQIAO_TOKEN_FAIL_RATE: 20/minute
    assert statuses[-1] == 429
    client = auth_world.app.test_client()
    blocked = client.get("/api/v1/me", headers=auth_world.auth(), environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    # Good tokens from other addresses are untouched.
    fine = client.get("/api/v1/me", headers=auth_world.auth(), environ_base={"REMOTE_ADDR": "198.51.100.5"})
    assert fine.status_code == 200


def test_the_token_limit_is_exact_one_at_a_time(auth_world: World) -> None:
    statuses = [_bad_token(auth_world, i) for i in range(22)]
    assert statuses == [401] * 20 + [429] * 2
