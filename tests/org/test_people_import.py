"""Importing users and departments from CSV and Excel: per-row failures,
all-or-nothing, dry runs — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from engine.core.errors import PermissionDenied, ValidationError
from engine.org.people_import import RowFailure, import_people
from engine.org.service import OrgService
from engine.store.database import Database
from tests.org.conftest import audit_rows

HEADER = ["login", "name", "email", "mobile", "department", "main", "position", "roles"]
GOOD = [
    ["zhang", "张三", "zhang@example.com", "13812345678", "总部/销售部/华东", "yes", "经理", "staff"],
    ["li", "李四", "", "", "总部/销售部/华东", "", "", "staff, crm:sales"],
    ["li", "", "", "", "总部/市场部", "yes", "顾问", ""],
    ["wang", "王五", "", "", "", "", "", ""],
]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[object]], header: list[str] = HEADER) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


@pytest.fixture
def roles(org: OrgService) -> None:
    org.create_role("staff", "员工")
    org.create_role("sales", "销售", app="crm")


@pytest.mark.usefixtures("roles")
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_import_users_departments_memberships_and_roles(
    org: OrgService, tmp_path: Path, kind: str,
) -> None:
    path = (write_csv(tmp_path / "people.csv", GOOD) if kind == "csv"
            else write_xlsx(tmp_path / "people.xlsx", GOOD))  # type: ignore[arg-type]
    report = import_people(org, path)
    assert report.failures == [] and report.written
    assert (report.rows, report.users_created, report.departments_created, report.memberships,
            report.roles_assigned) == (4, 3, 4, 3, 3)
    assert report.describe("en") == ("4 row(s): 3 user(s) created, 0 updated, 4 department(s) "
                                      "created, 3 membership(s), 3 role assignment(s)")
    zhang, li = org.find_user_by_login("zhang"), org.find_user_by_login("li")
    assert zhang is not None and li is not None
    assert (zhang.email, zhang.mobile) == ("zhang@example.com", "13812345678")
    east = org.find_department_by_path("总部/销售部/华东")
    market = org.find_department_by_path("总部/市场部")
    assert east is not None and market is not None
    assert [(m.department_id, m.is_main, m.position) for m in org.memberships(zhang.id)] == [
        (east.id, True, "经理")]
    assert [(m.department_id, m.is_main) for m in org.memberships(li.id)] == [
        (market.id, True), (east.id, False)]
    assert org.principal(li.id, app="crm").roles == {"staff", "sales"}


@pytest.mark.usefixtures("roles")
def test_every_failure_is_reported_and_nothing_is_written(
    org: OrgService, database: Database, tmp_path: Path,
) -> None:
    rows = [
        GOOD[0],
        ["x", "", "bad-email", "123", "", "", "", ""],
        ["ok_user", "OK", "", "", "总部", "maybe", "", ""],
        ["", "No login", "", "", "", "", "", ""],
        ["someone", "Someone", "", "", "总部/a/b", "", "", "nosuch, staff"],
        ["posonly", "Pos", "", "", "", "", "经理", ""],
    ]
    report = import_people(org, write_csv(tmp_path / "bad.csv", rows))
    assert not report.written
    got = [(f.row, f.column) for f in report.failures]
    assert got == [(3, "login"), (3, "name"), (3, "email"), (3, "mobile"), (4, "main"),
                   (5, "login"), (6, "roles"), (7, "department")]
    assert report.failures[6].message.en == 'There is no role "nosuch"'
    text = report.describe("en")
    assert text.startswith("8 problem(s); nothing was imported:")
    assert '  row 3, email: "bad-email" is not a valid email address' in text
    assert "第 4 行 main" in report.describe("zh")
    assert org.list_users() == [] and org.list_departments() == []
    assert audit_rows(database, form="_users") == []


@pytest.mark.usefixtures("roles")
def test_a_dry_run_reports_and_writes_nothing(org: OrgService, tmp_path: Path) -> None:
    report = import_people(org, write_csv(tmp_path / "people.csv", GOOD), dry_run=True)
    assert report.failures == [] and not report.written
    assert (report.users_created, report.departments_created) == (3, 4)
    assert report.describe("en").startswith("Dry run, nothing written: 4 row(s)")
    assert org.list_users() == [] and org.list_departments() == []


def test_existing_users_are_updated(org: OrgService, tmp_path: Path) -> None:
    org.create_user("zhang", "张三", email="old@example.com")
    rows = [["ZHANG", "张三丰", "new@example.com", "", "", "", "", ""]]
    report = import_people(org, write_csv(tmp_path / "people.csv", rows))
    assert (report.users_created, report.users_updated) == (0, 1)
    user = org.find_user_by_login("zhang")
    assert user is not None and (user.name, user.email) == ("张三丰", "new@example.com")


def test_chinese_headers_and_excel_numbers(org: OrgService, tmp_path: Path) -> None:
    header = ["登录名", "姓名", "手机", "部门", "主部门"]
    path = write_xlsx(tmp_path / "people.xlsx", [["zhao", "赵六", 13812345678, "研发部", "是"]],
                      header)
    assert import_people(org, path).written
    user = org.find_user_by_login("zhao")
    assert user is not None and user.mobile == "13812345678"


def test_header_problems(org: OrgService, tmp_path: Path) -> None:
    report = import_people(org, write_csv(tmp_path / "p.csv", [["a"]], ["name", "salary"]))
    assert report.failures == [
        RowFailure(1, "salary", report.failures[0].message),
        RowFailure(1, "login", report.failures[1].message)]
    with pytest.raises(ValidationError):
        import_people(org, tmp_path / "people.xls")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValidationError):
        import_people(org, tmp_path / "empty.csv")


def test_only_admins_import(org: OrgService, tmp_path: Path) -> None:
    plain = org.create_user("plain", "Plain")
    with pytest.raises(PermissionDenied):
        import_people(org, write_csv(tmp_path / "p.csv", GOOD), actor_id=plain.id)
