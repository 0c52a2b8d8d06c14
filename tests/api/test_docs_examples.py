"""The examples of docs/api.md, run in order against a fresh CRM.

An example is an ```http block (a request: the request line, headers, a
blank line and a body) followed by an ```http-response block (the status
line and, optionally, JSON the answer must match: ``"…"`` is any value, an
object lists only some of the keys). ``$TOKEN`` is the admin's token and
``$CSRF`` the CSRF token of the last sign-in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import People

DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "api.md"
BLOCK = re.compile(r"```(http|http-response)\n(.*?)```", re.DOTALL)
ANY = "…"


@dataclass
class Example:
    method: str
    target: str
    headers: dict[str, str]
    body: str
    status: int
    expected: Any
    line: int
    extra: dict[str, Any] = field(default_factory=dict)


def examples(text: str) -> list[Example]:
    found: list[Example] = []
    pending: tuple[str, int] | None = None
    for match in BLOCK.finditer(text):
        kind, content = match.group(1), match.group(2)
        line = text[: match.start()].count("\n") + 1
        if kind == "http":
            assert pending is None, f"docs/api.md:{line}: a request without a response before it"
            pending = (content, line)
            continue
        assert pending is not None, f"docs/api.md:{line}: a response without its request"
        request, request_line = pending
        pending = None
        head, _, body = request.partition("\n\n")
        first, *header_lines = head.strip().splitlines()
        method, target = first.split(" ", 1)
        headers = dict(h.split(": ", 1) for h in header_lines)
        status_line, _, expected = content.partition("\n")
        status = int(status_line.split()[1])
        found.append(Example(method, target, headers, body.strip(), status,
                             json.loads(expected) if expected.strip() else None, request_line))
    assert pending is None, "docs/api.md ends with a request without its response"
    return found


def matches(expected: Any, actual: Any, where: str = "") -> list[str]:
    if expected == ANY:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where or 'body'}: expected an object, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{where}.{key}: missing")
            else:
                problems += matches(value, actual[key], f"{where}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {expected!r}, got {actual!r}"]
        return [p for i, (e, a) in enumerate(zip(expected, actual, strict=True)) for p in matches(e, a, f"{where}[{i}]")]
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]


def test_the_doc_has_examples() -> None:
    found = examples(DOC.read_text(encoding="utf-8"))
    assert len(found) >= 12
    assert {e.status for e in found} >= {200, 201, 400, 401, 403, 409, 422}


def test_the_examples_answer_as_documented(client: FlaskClient, people: People) -> None:
    csrf = ""
    for example in examples(DOC.read_text(encoding="utf-8")):
        headers = {k: v.replace("$TOKEN", people.admin_token).replace("$CSRF", csrf)
                   for k, v in example.headers.items()}
        path, _, query = example.target.partition("?")
        # The doc shows queries unencoded; the client encodes them.
        params = dict(part.split("=", 1) for part in query.split("&")) if query else {}
        response = client.open(path, method=example.method, headers=headers, query_string=params,
                               data=example.body.encode() if example.body else None)
        where = f"docs/api.md:{example.line} {example.method} {example.target}"
        assert response.status_code == example.status, f"{where}: {response.get_data(as_text=True)}"
        body = response.get_json(silent=True)
        if example.expected is not None:
            problems = matches(example.expected, body)
            assert not problems, f"{where}: " + "; ".join(problems) + f"\n{json.dumps(body, ensure_ascii=False)}"
        if isinstance(body, dict) and "csrf_token" in body:
            csrf = body["csrf_token"]


@pytest.mark.parametrize("text", ["```http\nGET /x\n```\n", "```http-response\nHTTP/1.1 200\n```\n"])
def test_an_unpaired_block_is_an_error(text: str) -> None:
    with pytest.raises(AssertionError):
        examples(text)
