"""The import wizard without a browser (Flask's test client, bearer tokens;
the admin reads Chinese, their own language):
each step's page, what it refuses and says where, the job's page, progress
partial and failed-rows download."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import openpyxl
from flask import Flask
from flask.testing import FlaskClient

from engine.records import Actor
from tests.api.conftest import People

HTML = {"Accept": "text/html"}
WIZARD = "/a/crm/customer/import"


def _admin(people: People, language: str = "zh") -> dict[str, str]:
    return {"Authorization": f"Bearer {people.admin_token}", "Accept-Language": language, **HTML}


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def _upload(client: FlaskClient, people: People, data: bytes, name: str, language: str = "en") -> Any:
    return client.post(WIZARD, data={"file": (io.BytesIO(data), name)}, headers=_admin(people, language),
                       content_type="multipart/form-data")


def _wait(app: Flask, job_id: int) -> None:
    app.extensions["qiqiao"].imports.runner.join(job_id, 30)


def _select(html: str, name: str) -> str | None:
    """The value of the option selected in the select ``name``."""
    block = re.search(rf'<select id="{name}" name="{name}".*?</select>', html, re.S)
    assert block, name
    chosen = re.search(r'<option value="([^"]*)" selected>', block.group(0))
    return chosen.group(1) if chosen else None


def test_upload_refuses_no_file_a_wrong_type_and_an_empty_file_at_the_file_input(
        client: FlaskClient, people: People) -> None:
    listed = client.get("/a/crm/customer", headers=_admin(people)).get_data(as_text=True)
    assert f'href="{WIZARD}"' in listed  # the list page's Import button
    page = client.get(WIZARD, headers=_admin(people))
    assert page.status_code == 200 and 'type="file"' in page.get_data(as_text=True)
    missing = client.post(WIZARD, data={}, headers=_admin(people), content_type="multipart/form-data")
    assert missing.status_code == 422
    assert 'id="file-problem"' in missing.get_data(as_text=True)
    assert "请选择要导入的 CSV 或 xlsx 文件" in missing.get_data(as_text=True)
    wrong = _upload(client, people, b"name\nAcme\n", "customers.docx", "zh")
    body = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and 'aria-invalid="true"' in body and "customers.docx" in body
    empty = _upload(client, people, b"", "customers.csv")
    assert empty.status_code == 422 and 'id="file-problem"' in empty.get_data(as_text=True)
    picture = _upload(client, people, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "customers.xlsx")
    assert picture.status_code == 422 and 'id="file-problem"' in picture.get_data(as_text=True)


def test_a_dry_run_then_the_import_with_the_failed_rows(app: Flask, client: FlaskClient, people: People) -> None:
    rows = [["Customer name", "Level", "Phone", "Notes here"],
            ["Wizard One", "A", "13800138000", "x"], ["Wizard Two", "Z", "", "y"], ["", "B", "", "z"]]
    answer = _upload(client, people, _csv(rows), "wizard.csv")
    assert answer.status_code == 303
    mapping_url = answer.headers["Location"]
    html = client.get(mapping_url, headers=_admin(people)).get_data(as_text=True)
    assert _select(html, "map-0") == "name" and _select(html, "map-1") == "level"
    assert _select(html, "map-3") is None  # no field of that name: not imported, and why
    assert 'id="reason-3"' in html
    # Nothing mapped: said at the table, the choices kept.
    nothing = client.post(mapping_url, data={"action": "dry_run", "map-0": "", "map-1": "", "map-2": "", "map-3": ""},
                          headers=_admin(people))
    assert nothing.status_code == 422 and 'id="mapping-problem"' in nothing.get_data(as_text=True)
    # A field the form does not offer.
    odd = client.post(mapping_url, data={"action": "dry_run", "map-0": "name", "map-1": "nope"}, headers=_admin(people))
    assert odd.status_code == 422 and "列 Level 不是此表单的字段（nope）" in odd.get_data(as_text=True)
    chosen = {"map-0": "name", "map-1": "level", "map-2": "", "map-3": "", "on_error": "skip"}
    started = client.post(mapping_url, data={"action": "dry_run", **chosen}, headers=_admin(people))
    assert started.status_code == 303
    job_url = started.headers["Location"]
    job_id = int(job_url.rsplit("/", 1)[1])
    _wait(app, job_id)
    # Its start, kept as UTC on SQLite too: shown in the reader's zone (Shanghai).
    job = app.extensions["qiqiao"].imports.get(job_id, actor=Actor(people.admin_id, "web"))
    assert abs(job.created_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    page = client.get(job_url, headers=_admin(people)).get_data(as_text=True)
    assert "将新建" in page and "将失败" in page and f'action="{job_url}/run"' in page
    assert page.count('<td class="num" data-label="行号">') == 2  # rows 3 and 4
    partial = client.get(f"{job_url}/progress", headers=_admin(people))
    assert partial.headers["HX-Refresh"] == "true" and "hx-get" not in partial.get_data(as_text=True)
    # "Change the mapping" comes back with the dry run's choices.
    again = client.get(f"{mapping_url}?job={job_id}", headers=_admin(people)).get_data(as_text=True)
    assert _select(again, "map-2") is None and _select(again, "map-0") == "name"
    ran = client.post(f"{job_url}/run", headers=_admin(people))
    assert ran.status_code == 303
    real_url = ran.headers["Location"]
    _wait(app, int(real_url.rsplit("/", 1)[1]))
    done = client.get(real_url, headers=_admin(people)).get_data(as_text=True)
    assert ">新建</dt>" in done and "失败的行" in done and "下载失败的行（CSV）" in done
    got = client.get(f"{real_url}/failed-rows.csv", headers=_admin(people, "zh"))
    assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(got.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0][-1] == "错误原因" and [line[0] for line in lines[1:]] == ["Wizard Two", ""]
    book = client.get(f"{real_url}/failed-rows.xlsx", headers=_admin(people))
    assert openpyxl.load_workbook(io.BytesIO(book.data)).active.max_row == 3
    assert client.get(f"{real_url}/failed-rows.pdf", headers=_admin(people)).status_code == 404
    records = app.extensions["qiqiao"].records.get("crm")
    assert records.count("customer", filter={"field": "name", "op": "eq", "value": "Wizard One"})[0] == 1
    # The upload step lists both jobs.
    listed = client.get(WIZARD, headers=_admin(people)).get_data(as_text=True)
    assert f'href="{job_url}"' in listed and f'href="{real_url}"' in listed
    # The job is not another form's, nor an unknown one.
    assert client.get(job_url.replace("/customer/", "/contact/"), headers=_admin(people)).status_code == 404
    assert client.get(f"{WIZARD}/jobs/99999999999", headers=_admin(people)).status_code == 404


def test_a_workbook_offers_its_sheets(client: FlaskClient, people: People) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active.append(["whatever"])
    sheet = book.create_sheet("Customers")
    sheet.append(["客户名称", "行业"])
    sheet.append(["Sheet Co", "软件"])
    data = io.BytesIO()
    book.save(data)
    answer = _upload(client, people, data.getvalue(), "book.xlsx")
    url = answer.headers["Location"]
    first = client.get(url, headers=_admin(people)).get_data(as_text=True)
    assert 'id="sheet-choice"' in first and "whatever" in first
    chosen = client.get(f"{url}?sheet=Customers", headers=_admin(people)).get_data(as_text=True)
    assert _select(chosen, "map-0") == "name" and _select(chosen, "map-1") == "industry"
    missing = client.get(f"{url}?sheet=Nope", headers=_admin(people)).get_data(as_text=True)
    assert 'id="start-error"' in missing and "Nope" in missing


def test_without_the_import_right_the_wizard_is_refused(app: Flask, client: FlaskClient, people: People) -> None:
    org = app.extensions["qiqiao"].org
    org.create_role("wizard_reader", "只读客户", {"customer": {"actions": ["read", "create"], "read": "all"}},
                    app="crm")
    org.assign_role("wizard_reader", people.user_id)
    alice = {"Authorization": f"Bearer {people.user_token}", **HTML}
    assert f'href="{WIZARD}"' not in client.get("/a/crm/customer", headers=alice).get_data(as_text=True)
    page = client.get(WIZARD, headers=alice)
    assert page.status_code == 403 and "<title>" in page.get_data(as_text=True)
    posted = client.post(WIZARD, data={"file": (io.BytesIO(b"name\nx\n"), "x.csv")}, headers=alice,
                         content_type="multipart/form-data")
    assert posted.status_code == 403
    assert client.get("/a/crm/nope/import", headers=alice).status_code == 404


class Held:
    """A runner that leaves jobs queued (as a worker process would, until it takes them)."""

    def submit(self, job_id: int, work: Any) -> None:
        pass


def test_a_queued_job_polls_and_can_be_cancelled(app: Flask, client: FlaskClient, people: People) -> None:
    imports = app.extensions["qiqiao"].imports
    imports.runner = Held()
    answer = _upload(client, people, _csv([["Customer name"], ["Held Co"]]), "held.csv")
    started = client.post(answer.headers["Location"], data={"action": "run", "map-0": "name"}, headers=_admin(people))
    job_url = started.headers["Location"]
    page = client.get(job_url, headers=_admin(people)).get_data(as_text=True)
    assert f'hx-get="{job_url}/progress"' in page and "等待开始" in page and f'action="{job_url}/cancel"' in page
    partial = client.get(f"{job_url}/progress", headers=_admin(people))
    body = partial.get_data(as_text=True)
    assert "HX-Refresh" not in partial.headers and 'hx-trigger="load delay:500ms"' in body
    assert '<progress id="import-bar" value="0"' in body and "<html" not in body
    cancelled = client.post(f"{job_url}/cancel", headers=_admin(people))
    assert cancelled.status_code == 303 and cancelled.headers["Location"] == job_url
    assert imports.get(int(job_url.rsplit("/", 1)[1]), actor=Actor(people.admin_id, "web")).status == "cancelled"
    after = client.get(job_url, headers=_admin(people)).get_data(as_text=True)
    assert "已取消" in after and "hx-get" not in after and f'action="{job_url}/cancel"' not in after
    # Over already: asking again changes nothing, and back to its page.
    again = client.post(f"{job_url}/cancel", headers=_admin(people))
    assert again.status_code == 303 and again.headers["Location"] == job_url


def test_a_file_over_the_size_limit_is_refused_at_the_upload_step(
        sqlite_copy: Any, tmp_path: Any, people: People) -> None:
    """Not the bare 413 page: the upload step again, saying why in the
    reader's language, for a token and for a signed-in browser (whose form
    would otherwise be read for its CSRF token, and fail)."""
    from runtime.app import create_app
    from tests.api.conftest import ADMIN_PASSWORD, app_config

    small = create_app(app_config(sqlite_copy, FILES=str(tmp_path / "files"), MAX_CONTENT_LENGTH=64 * 1024))
    client = small.test_client()
    big = _csv([["客户名称"], *([f"Big {i:06d}" + "x" * 40] for i in range(2000))])
    answer = client.post(WIZARD, data={"file": (io.BytesIO(big), "big.csv")}, headers=_admin(people, "en"),
                         content_type="multipart/form-data", follow_redirects=True)
    assert answer.status_code == 200
    assert "文件超过 0.1 MB，这是一次导入的上限" in answer.text  # the admin's own language
    assert 'aria-invalid="true"' in answer.text
    browser = small.test_client()
    signed_in = browser.post("/auth/login", json={"login": "admin", "password": ADMIN_PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    refused = browser.post(WIZARD, data={"file": (io.BytesIO(big), "big.csv"), "csrf_token": "x"},
                           headers={**HTML, "Accept-Language": "zh"}, content_type="multipart/form-data")
    assert refused.status_code == 303 and refused.headers["Location"].endswith(f"{WIZARD}?too_large=1")
    page = browser.get(refused.headers["Location"], headers=HTML)
    assert "文件超过 0.1 MB，这是一次导入的上限" in page.text
    # A file within the limit goes on as before.
    fine = client.post(WIZARD, data={"file": (io.BytesIO(_csv([["客户名称"], ["Small Co"]])), "small.csv")},
                       headers=_admin(people, "en"), content_type="multipart/form-data")
    assert fine.status_code == 303 and "/file/" in fine.headers["Location"]
