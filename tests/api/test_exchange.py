"""Import and export over HTTP: the engine's own import and export, with the
report as JSON and the file as the answer."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import openpyxl
from flask.testing import FlaskClient

from engine.org.service import OrgService
from engine.store.database import Database
from runtime.app import create_app
from tests.api.conftest import People, app_config

FORM = "/api/v1/apps/crm/forms/customer"


def upload(client: FlaskClient, headers: dict[str, str], content: bytes, name: str = "customers.csv",
           options: dict[str, Any] | None = None) -> Any:
    data: dict[str, Any] = {"file": (io.BytesIO(content), name)}
    if options is not None:
        data["options"] = json.dumps(options)
    return client.post(f"{FORM}/import", data=data, headers=headers, content_type="multipart/form-data")


CSV = "客户名称,行业,年营业额（百万美元）\nAcme,零售,12.5\nGlobex,finance,7\n".encode()


def test_import_a_csv_file(client: FlaskClient, admin: dict[str, str]) -> None:
    dry = upload(client, admin, CSV, options={"dry_run": True})
    assert dry.status_code == 200, dry.get_data(as_text=True)
    assert dry.get_json()["dry_run"] is True and dry.get_json()["totals"]["created"] == 2
    assert client.get(f"{FORM}/records", headers=admin).get_json()["records"] == []

    report = upload(client, admin, CSV)
    assert report.status_code == 200
    body = report.get_json()
    assert body["totals"]["created"] == 2 and body["failures"] == []
    names = {r["name"]: r for r in client.get(f"{FORM}/records", headers=admin).get_json()["records"]}
    assert names["Acme"]["industry"] == "retail" and names["Acme"]["revenue"] == "12.50"

    again = upload(client, admin, CSV, options={"key_field": "name", "on_duplicate": "skip"})
    assert again.get_json()["totals"]["skipped"] == 2


def test_import_reports_bad_rows_per_row(client: FlaskClient, admin: dict[str, str]) -> None:
    content = b"name,revenue\nGood,1\n,2\nBad,lots\n"
    body = upload(client, admin, content, options={"on_error": "skip"}).get_json()
    assert body["totals"]["created"] == 1 and body["totals"]["failed"] == 2
    assert {f["row"] for f in body["failures"]} == {3, 4}


def test_import_an_xlsx_workbook(client: FlaskClient, admin: dict[str, str]) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["name", "level"])
    sheet.append(["Initech", "a"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    body = upload(client, admin, buffer.getvalue(), name="book.xlsx").get_json()
    assert body["totals"]["created"] == 1


def test_import_refusals(client: FlaskClient, admin: dict[str, str]) -> None:
    no_file = client.post(f"{FORM}/import", data={}, headers=admin, content_type="multipart/form-data")
    assert no_file.status_code == 400 and "file" in no_file.get_json()["error"]["details"]
    as_json = client.post(f"{FORM}/import", json={"file": "x"}, headers=admin)
    assert as_json.status_code == 415
    picture = upload(client, admin, b"\x89PNG\r\n\x1a\n\x00\x00", name="photo.png")
    assert picture.status_code == 400 and picture.get_json()["error"]["code"] == "file_refused"
    latin1 = upload(client, admin, "客户名称\nAcme\n".encode() + "Café\n".encode("latin-1"))
    assert latin1.status_code == 400, latin1.get_json()
    assert latin1.get_json()["error"]["details"]["file"] == ["文件第 3 行不是 UTF-8 编码的文本：请另存为“CSV UTF-8”或 .xlsx"]
    unknown = upload(client, admin, CSV, options={"on_dupe": "skip"})
    assert unknown.status_code == 400 and "options.on_dupe" in unknown.get_json()["error"]["details"]
    wrong_type = upload(client, admin, CSV, options={"dry_run": "yes"})
    assert wrong_type.status_code == 400
    not_object = upload(client, admin, CSV, options=["dry_run"])  # type: ignore[arg-type]
    assert not_object.status_code == 422
    bad_mapping = upload(client, admin, CSV, options={"mapping": {"客户名称": "nmae"}})
    assert bad_mapping.status_code == 400 and bad_mapping.get_json()["error"]["code"] == "mapping_refused"


def test_import_and_export_are_rights_of_their_own(client: FlaskClient, alice: dict[str, str],
                                                   sqlite_copy: Database, people: People) -> None:
    assert upload(client, alice, CSV).status_code == 403
    org = OrgService(sqlite_copy)
    org.create_role("clerk", "Clerk", app="crm", grants={"customer": {"actions": ["create", "read"]}})
    org.assign_role("crm:clerk", people.user_id)
    fresh = create_app(app_config(sqlite_copy)).test_client()
    assert fresh.post(f"{FORM}/records", json={"name": "By hand"}, headers=alice).status_code == 201
    refused = upload(fresh, alice, CSV)
    assert refused.status_code == 403 and refused.get_json()["error"]["details"]["action"] == "import"
    assert fresh.get(f"{FORM}/export", headers=alice).status_code == 403
    org.update_role_grants("crm:clerk", {"customer": {"actions": ["create", "read", "import", "export"]}})
    fresh = create_app(app_config(sqlite_copy)).test_client()
    assert upload(fresh, alice, CSV).status_code == 200
    assert fresh.get(f"{FORM}/export", headers=alice, query_string={"format": "csv"}).status_code == 200


def seed(client: FlaskClient, headers: dict[str, str]) -> None:
    rows = [{"name": "Acme", "level": "a", "revenue": "12.5"}, {"name": "Globex", "level": "b"},
            {"name": "Initech", "level": "a"}]
    assert client.post(f"{FORM}/records/bulk", json={"records": rows}, headers=headers).status_code == 201


def test_export_xlsx_and_csv(client: FlaskClient, admin: dict[str, str]) -> None:
    seed(client, admin)
    response = client.get(f"{FORM}/export", headers={**admin, "Accept-Language": "en"})
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert "Customer name" in rows[0] and len(rows) == 4

    csv_response = client.get(f"{FORM}/export", headers=admin, query_string={
        "format": "csv", "header": "key", "fields": "name,level", "sort": "-name",
        "filter": json.dumps({"field": "level", "op": "eq", "value": "a"})})
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    assert csv_response.headers["Content-Type"] == "text/csv; charset=utf-8"  # the charset once
    lines = list(csv.reader(io.StringIO(csv_response.data.decode("utf-8-sig"))))
    assert lines == [["name", "level"], ["Initech", "A（重点客户）"], ["Acme", "A（重点客户）"]]  # labels, in zh

    view = client.get(f"{FORM}/export", headers=admin, query_string={"format": "csv", "view": "key_accounts"})
    assert len(list(csv.reader(io.StringIO(view.data.decode("utf-8-sig"))))) == 3


def test_exports_are_inert_and_import_back(client: FlaskClient, admin: dict[str, str]) -> None:
    names = ['=HYPERLINK("http://evil","x")', "+1+1", "@SUM(A1)", "'=quoted", "-3"]
    rows = [{"name": name, "level": "b"} for name in names]
    assert client.post(f"{FORM}/records/bulk", json={"records": rows}, headers=admin).status_code == 201
    csv_file = client.get(f"{FORM}/export", headers=admin,
                          query_string={"format": "csv", "fields": "name,level", "header": "key", "sort": "id"})
    lines = list(csv.reader(io.StringIO(csv_file.data.decode("utf-8-sig"))))
    assert [line[0] for line in lines[1:]] == ["'=HYPERLINK(\"http://evil\",\"x\")", "'+1+1", "'@SUM(A1)",
                                               "''=quoted", "-3"]
    xlsx_file = client.get(f"{FORM}/export", headers=admin, query_string={"fields": "name,level", "sort": "id"})
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(xlsx_file.data)).read("xl/worksheets/sheet1.xml")
    for data, kind in ((csv_file.data, "csv"), (xlsx_file.data, "xlsx")):
        # Each name read back is the stored one: it finds its record, and changes nothing.
        report = upload(client, admin, data, f"back.{kind}", {"key_field": "name", "on_duplicate": "upsert"})
        assert report.status_code == 200, report.json
        totals = report.json["totals"]
        assert (totals["created"], totals["updated"], totals["unchanged"]) == (0, 0, len(names)), str(totals)
    listed = client.get(f"{FORM}/records", headers=admin, query_string={"fields": "name,level", "sort": "id"}).json
    assert [r["name"] for r in listed["records"]] == names


def test_export_refusals(client: FlaskClient, admin: dict[str, str], alice: dict[str, str]) -> None:
    assert client.get(f"{FORM}/export", headers=admin, query_string={"format": "pdf"}).status_code == 400
    assert client.get(f"{FORM}/export", headers=admin, query_string={"filter": "{"}).status_code == 400
    assert client.get(f"{FORM}/export", headers=admin, query_string={"sort": "nope"}).status_code == 400
    assert client.get(f"{FORM}/export", headers=admin, query_string={"limit": "5"}).status_code == 400
    assert client.get(f"{FORM}/export", headers=alice).status_code == 403


def test_an_app_owner_may_do_everything_in_the_app(client: FlaskClient, admin: dict[str, str],
                                                   alice: dict[str, str], sqlite_copy: Database,
                                                   people: People) -> None:
    seed(client, admin)
    assert client.get(f"{FORM}/records", headers=alice).status_code == 403
    OrgService(sqlite_copy).add_app_owner("crm", people.user_id, actor_id=people.admin_id)
    owner = create_app(app_config(sqlite_copy)).test_client()
    listed = owner.get(f"{FORM}/records", headers=alice)
    assert listed.status_code == 200 and len(listed.get_json()["records"]) == 3  # the admin's records too
    forms = owner.get("/api/v1/apps/crm/forms", headers=alice).get_json()["forms"]
    customer = next(f for f in forms if f["key"] == "customer")
    assert {"create", "read", "update", "delete", "import", "export"} <= set(customer["actions"])
    assert upload(owner, alice, CSV).status_code == 200
    assert owner.get(f"{FORM}/export", headers=alice, query_string={"format": "csv"}).status_code == 200
