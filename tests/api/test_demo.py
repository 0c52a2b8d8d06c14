"""``qiqiao demo`` (what ``make demo`` runs) ends with an app that answers the
example call it prints, and the admin login it prints works."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskCliRunner

from runtime.app import create_app
from runtime.demo import demo_command
from tests.api.conftest import app_config


def test_demo_set_up_answers_its_example_call(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = runner.invoke(demo_command, ["--instance", str(tmp_path), "--no-serve", "--scale", "0.1"])
    assert result.exit_code == 0, result.output
    output = result.output
    for form in ("customer", "lead", "opportunity"):
        count = int(re.search(rf"{form}: (\d+) records", output).group(1))  # type: ignore[union-attr]
        assert count >= 20, output
    login = re.search(r"login: (\S+)\s+password: (\S+)", output)
    assert login is not None and login.group(1) == "admin"
    curl = next(line.strip() for line in output.splitlines() if line.strip().startswith("curl "))
    words = shlex.split(curl)
    header = words[words.index("-H") + 1]
    url = urlsplit(words[-1])
    assert url.netloc == "127.0.0.1:5000" and header.startswith("Authorization: Bearer qq_")

    app = create_app(app_config(DATABASE_URL=f"sqlite:///{tmp_path / 'qiqiao.sqlite3'}"))
    client = app.test_client()
    name, _, value = header.partition(": ")
    answer = client.get(f"{url.path}?{url.query}", headers={name: value})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    records = answer.get_json()["records"]
    assert len(records) == 5 and all(r["name"] for r in records)
    years = {r["created_at"][:4] for r in client.get("/api/v1/apps/crm/forms/opportunity/records?limit=1000",
                                                     headers={name: value}).get_json()["records"]}
    assert len(years) >= 2  # spread over two years

    signed_in = client.post("/auth/login", json={"login": "admin", "password": login.group(2)})
    assert signed_in.status_code == 200
    people_hold_their_roles(app, output)

    again = runner.invoke(demo_command, ["--instance", str(tmp_path), "--no-serve", "--scale", "0.1"])
    assert again.exit_code == 0, again.output
    assert "customer:" not in again.output  # the data is kept, not doubled
    # The run replaced the demo token: the one printed first no longer works, the new one does.
    new_curl = next(line.strip() for line in again.output.splitlines() if line.strip().startswith("curl "))
    new_words = shlex.split(new_curl)
    value = new_words[new_words.index("-H") + 1].partition(": ")[2]
    app.extensions["qiqiao"].identities.forget_token()
    total = client.get("/api/v1/apps/crm/forms/customer/records?count=true&limit=1", headers={name: value})
    assert total.get_json()["count"] == count_of(output, "customer")


def people_hold_their_roles(app: Flask, output: str) -> None:
    """The printed people sign in with the printed password, and each sees
    what their CRM role allows: a sales rep no payment plans, finance no
    campaigns, legal contracts only, the general manager everything."""
    password = re.search(r"each signs in with the password (\S+)", output)
    assert password is not None
    people = dict(re.findall(r"^\s+([a-z.]+)\s+\S+\s+crm:([a-z_]+)$", output, re.MULTILINE))
    assert set(people.values()) == {"sales", "sales_manager", "sales_director", "service_agent", "service_manager",
                                    "finance", "marketing", "legal", "general_manager"}
    expected = {"sales": {"customer": 200, "payment_plan": 403, "campaign": 403},
                "finance": {"customer": 200, "payment_plan": 200, "campaign": 403},
                "general_manager": {"customer": 200, "payment_plan": 200, "campaign": 200},
                "legal": {"contract": 200, "payment_plan": 403}}
    for role, answers in expected.items():
        login = next(who for who, held in people.items() if held == role)
        client = app.test_client()
        assert client.post("/auth/login", json={"login": login, "password": password.group(1)}).status_code == 200
        for form, status in answers.items():
            assert client.get(f"/api/v1/apps/crm/forms/{form}/records?limit=1").status_code == status, (role, form)


def count_of(output: str, form: str) -> int:
    found = re.search(rf"{form}: (\d+) records", output)
    assert found is not None
    return int(found.group(1))
