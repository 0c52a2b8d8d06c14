"""The URL map remembers matches, and only matches: the answers are those of
Werkzeug's own matcher, request after request."""

from __future__ import annotations

from typing import Any

from flask import request

from runtime import routing
from runtime.routing import QiqiaoFlask


def make_app() -> QiqiaoFlask:
    app = QiqiaoFlask("routing-test")

    @app.get("/forms/<form>/records/<int:record_id>")
    def record(form: str, record_id: int) -> dict[str, Any]:
        arguments = dict(request.view_args or {})
        request.view_args["form"] = "changed"  # type: ignore[index]  # a view may change its arguments
        return {"endpoint": request.endpoint, "arguments": arguments}

    @app.post("/forms/<form>/records")
    def create(form: str) -> tuple[dict[str, str], int]:
        return {"form": form}, 201

    @app.get("/folder/")
    def folder() -> str:
        return "folder"

    return app


def test_matches_are_remembered_and_answer_as_the_first_time() -> None:
    app = make_app()
    client = app.test_client()
    for _ in range(3):
        answer = client.get("/forms/deal/records/7")
        assert answer.get_json() == {"endpoint": "record", "arguments": {"form": "deal", "record_id": 7}}
    assert client.get("/forms/deal/records/8").get_json()["arguments"]["record_id"] == 8
    assert client.post("/forms/deal/records").status_code == 201
    assert len(app.url_map.matches) == 3


def test_refusals_and_redirects_are_not_remembered() -> None:
    app = make_app()
    client = app.test_client()
    for _ in range(2):
        assert client.get("/forms/deal/records/x").status_code == 404  # not an int
        assert client.put("/forms/deal/records").status_code == 405
        assert client.get("/nowhere").status_code == 404
        moved = client.get("/folder")
        assert moved.status_code == 308 and moved.headers["Location"].endswith("/folder/")
    assert app.url_map.matches == {}
    assert client.post("/forms/deal/records").status_code == 201  # the 405 did not stick to the path
    assert client.get("/folder/").get_data(as_text=True) == "folder"


def test_memory_is_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(routing, "MAX_MATCHES", 10)
    app = make_app()
    client = app.test_client()
    for record_id in range(25):
        assert client.get(f"/forms/deal/records/{record_id}").status_code == 200
        assert len(app.url_map.matches) <= 10
    assert client.get("/forms/deal/records/3").get_json()["arguments"]["record_id"] == 3


def test_a_route_added_before_serving_is_found() -> None:
    app = make_app()
    client = app.test_client()
    app.url_map.add(app.url_rule_class("/late", endpoint="late", methods=["GET"]))
    app.view_functions["late"] = lambda: "late"
    assert client.get("/late").get_data(as_text=True) == "late"
