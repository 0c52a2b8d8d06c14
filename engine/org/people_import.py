"""Import users and departments from a CSV or Excel file.

Columns (by key or Chinese header, in any order; only ``login`` is required):

| column | 中文 | what |
| --- | --- | --- |
| login | 登录名 | the user's login; an existing user is updated |
| name | 姓名 | display name (required for a new user) |
| email | 邮箱 | |
| mobile | 手机 | |
| department | 部门 | a path like ``总部/销售部/华东``; missing departments are created |
| main | 主部门 | yes/no: this is the user's main department |
| position | 职位 | their position in that department |
| roles | 角色 | role keys (``key`` or ``app:key``), comma-separated |

A user in several departments takes one row per department. Everything is
checked first and written in one transaction: one bad row and nothing is
written, and the report lists every failure by row (as the spreadsheet
numbers it: the header is row 1), column and message. A dry run checks and
reports the same way, and writes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.core.errors import QiqiaoError, ValidationError
from engine.core.i18n import Label, Message
from engine.org.base import DEPARTMENTS
from engine.org.users import KEEP

if TYPE_CHECKING:
    from engine.org.service import OrgService

COLUMNS: dict[str, tuple[str, ...]] = {
    "login": ("login", "登录名", "账号"),
    "name": ("name", "姓名"),
    "email": ("email", "邮箱"),
    "mobile": ("mobile", "手机", "手机号"),
    "department": ("department", "部门"),
    "main": ("main", "主部门"),
    "position": ("position", "职位"),
    "roles": ("roles", "角色"),
}
YES = {"yes", "y", "true", "1", "是", "主"}
NO = {"", "no", "n", "false", "0", "否"}

UNREADABLE = Message("无法读取 {name}：只支持 .csv 和 .xlsx",
                     "Cannot read {name}: only .csv and .xlsx files are supported")
EMPTY_FILE = Label("文件没有表头", "The file has no header row")
UNKNOWN_COLUMN = Message("未知的列“{name}”（可用：{known}）",
                         "Unknown column \"{name}\" (known: {known})")
NO_LOGIN_COLUMN = Label("缺少 login（登录名）列", "The login column is missing")
LOGIN_REQUIRED = Label("登录名不能为空", "The login is required")
BAD_MAIN = Message("“{value}”应为 yes 或 no", "\"{value}\" should be yes or no")
NEEDS_DEPARTMENT = Label("填写了主部门或职位，但没有部门",
                         "A main flag or position needs a department")


@dataclass(frozen=True)
class RowFailure:
    """Why one row (or, for the header, row 1) could not be imported."""

    row: int
    column: str | None
    message: Label

    def describe(self, locale: str = "en") -> str:
        where = (f"第 {self.row} 行" if locale.startswith("zh") else f"row {self.row}")
        if self.column:
            where += f" {self.column}" if locale.startswith("zh") else f", {self.column}"
        return f"{where}: {self.message.text(locale)}"


@dataclass
class PeopleImportReport:
    """What an import did (or, in a dry run or when a row failed, would have done)."""

    rows: int = 0
    users_created: int = 0
    users_updated: int = 0
    departments_created: int = 0
    memberships: int = 0
    roles_assigned: int = 0
    failures: list[RowFailure] = field(default_factory=list)
    dry_run: bool = False

    @property
    def written(self) -> bool:
        return not self.dry_run and not self.failures

    def describe(self, locale: str = "en") -> str:
        zh = locale.startswith("zh")
        if self.failures:
            head = (f"{len(self.failures)} 处错误，未导入任何数据：" if zh else
                    f"{len(self.failures)} problem(s); nothing was imported:")
            return "\n".join([head, *(f"  {f.describe(locale)}" for f in self.failures)])
        counts = (f"{self.rows} 行：新建用户 {self.users_created}，更新用户 {self.users_updated}，"
                  f"新建部门 {self.departments_created}，部门成员 {self.memberships}，"
                  f"角色分配 {self.roles_assigned}" if zh else
                  f"{self.rows} row(s): {self.users_created} user(s) created, "
                  f"{self.users_updated} updated, {self.departments_created} department(s) "
                  f"created, {self.memberships} membership(s), {self.roles_assigned} role "
                  "assignment(s)")
        if self.dry_run:
            return ("试运行，未写入：" if zh else "Dry run, nothing written: ") + counts
        return counts


class _Rollback(Exception):
    pass


def import_people(
    service: OrgService, path: str | Path, *, dry_run: bool = False,
    actor_id: int | None = None,
) -> PeopleImportReport:
    """Import the users and departments in a CSV or Excel file (see the
    module docstring); ``actor_id`` must be an admin (None: the system)."""
    service.ensure_admin(actor_id)
    header, rows = read_sheet(Path(path))
    report = PeopleImportReport(dry_run=dry_run)
    columns = _columns(header, report)
    if report.failures:
        return report
    try:
        with service.database.transaction() as conn:
            bound = service.within(conn)
            before = _department_count(conn)
            for number, cells in rows:
                report.rows += 1
                values = {key: cells[i] for i, key in enumerate(columns)
                          if key is not None and i < len(cells)}
                try:
                    with conn.begin_nested():
                        _import_row(bound, values, report, actor_id)
                except ValidationError as error:
                    report.failures.extend(
                        RowFailure(number, key if key in COLUMNS else None, message)
                        for key, messages in error.field_errors.items() for message in messages)
                    if not error.field_errors:
                        report.failures.append(RowFailure(number, None, error.message))
                except QiqiaoError as error:
                    report.failures.append(RowFailure(number, None, error.message))
            report.departments_created = _department_count(conn) - before
            if report.failures or dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return report


def _department_count(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(DEPARTMENTS)).scalar_one())


def _columns(header: list[str], report: PeopleImportReport) -> list[str | None]:
    aliases = {alias.lower(): key for key, names in COLUMNS.items() for alias in names}
    columns: list[str | None] = []
    for name in header:
        key = aliases.get(name.strip().lower())
        if key is None and name.strip():
            known = ", ".join(COLUMNS)
            report.failures.append(RowFailure(1, name, UNKNOWN_COLUMN.format(name=name, known=known)))
        columns.append(key)
    if "login" not in columns:
        report.failures.append(RowFailure(1, "login", NO_LOGIN_COLUMN))
    return columns


def _import_row(
    service: OrgService, values: dict[str, str], report: PeopleImportReport,
    actor_id: int | None,
) -> None:
    login = values.get("login", "")
    if not login:
        raise ValidationError(LOGIN_REQUIRED, field_errors={"login": [LOGIN_REQUIRED]})
    main_text = values.get("main", "").lower()
    if main_text not in YES | NO:
        problem = BAD_MAIN.format(value=values["main"])
        raise ValidationError(problem, field_errors={"main": [problem]})
    user = service.find_user_by_login(login)
    email, mobile, name = values.get("email") or None, values.get("mobile") or None, values.get("name")
    if user is None:
        # Its errors are per field already: login, name (required), email, mobile.
        user = service.create_user(login, name or "", email=email, mobile=mobile,
                                   actor_id=actor_id)
        report.users_created += 1
    elif name or email or mobile:
        updated = service.update_user(user.id, name=name or KEEP, email=email or KEEP,
                                      mobile=mobile or KEEP, actor_id=actor_id)
        report.users_updated += updated != user
    if values.get("department"):
        with _blame("department"):
            department = service.ensure_department_path(values["department"], actor_id=actor_id)
        with _blame("position"):
            service.add_member(user.id, department.id, main=main_text in YES,
                               position=values.get("position") or None, actor_id=actor_id)
        report.memberships += 1
    elif main_text in YES or values.get("position"):
        raise ValidationError(NEEDS_DEPARTMENT, field_errors={"department": [NEEDS_DEPARTMENT]})
    problems: list[Label] = []
    for ref in values.get("roles", "").replace("，", ",").split(","):
        if not ref.strip():
            continue
        try:
            report.roles_assigned += service.assign_role(ref.strip(), user.id, actor_id=actor_id)
        except QiqiaoError as error:
            problems.append(error.message)
    if problems:
        raise ValidationError(problems[0], field_errors={"roles": problems})


@contextmanager
def _blame(column: str) -> Iterator[None]:
    """Report what goes wrong inside on ``column``."""
    try:
        yield
    except ValidationError as error:
        messages = [m for found in error.field_errors.values() for m in found] or [error.message]
        raise ValidationError(error.message, field_errors={column: messages}) from None
    except QiqiaoError as error:
        raise ValidationError(error.message, field_errors={column: [error.message]}) from None


# --- reading the file ------------------------------------------------------------
def read_sheet(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and the non-blank data rows (numbered as the sheet shows
    them) of a CSV (UTF-8, ``,`` ``;`` or tab) or Excel file, cells as text."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        rows = _csv_rows(path)
    elif suffix in (".xlsx", ".xlsm"):
        rows = _excel_rows(path)
    else:
        raise ValidationError(UNREADABLE.format(name=path.name))
    numbered = ((n, [_text(c) for c in cells]) for n, cells in enumerate(rows, start=1))
    first = next(numbered, None)
    if first is None:
        raise ValidationError(EMPTY_FILE)
    return first[1], ((n, cells) for n, cells in numbered if any(cells))


def _csv_rows(path: Path) -> Iterator[list[Any]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
        delimiter = max((",", ";", "\t"), key=first.count)
        handle.seek(0)
        # utf-8-sig only skips the byte order mark at the very start.
        yield from csv.reader(handle, delimiter=delimiter)


def _excel_rows(path: Path) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.active
        if sheet is None:
            return
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a mobile number typed into Excel
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()
