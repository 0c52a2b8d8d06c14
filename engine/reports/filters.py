"""A dashboard's global filters (``GLOBAL_FILTERS``): date_range, member,
department, select. Each reads its URL parameter (one per filter key, the
same in the REST API) and puts a filter-language condition on the field
each report maps it to (``DashboardFilter.fields``); reports not mapped are
untouched. docs/reports.md has the reference.

Values in URLs: a date range ``2024-01-01..2024-12-31`` (either end may be
empty) or a preset (``this_year`` ...); members ``3,7`` or ``me``; a
department ``12`` (with its sub-departments); select options ``won,lost``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from engine.core.errors import QueryError, query_error
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.model import FieldDef
from engine.reports.base import GlobalFilter

AREA = Label("看板筛选", "Dashboard filter")
DATE_TYPES = frozenset({"date", "datetime"})
MEMBER_TYPES = frozenset({"member", "members"})
DEPARTMENT_TYPES = frozenset({"department", "departments"})
SELECT_TYPES = frozenset({"select", "multiselect"})
MULTI_TYPES = frozenset({"members", "departments", "multiselect"})


def _month_start(day: dt.date, back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def _quarter_start(day: dt.date, back: int = 0) -> dt.date:
    return _month_start(day.replace(day=1), (day.month - 1) % 3 + 3 * back)


# preset -> (first day, day after the last) from today; None: no bound.
PRESETS: dict[str, Any] = {
    "all": lambda t: (None, None),
    "today": lambda t: (t, t + dt.timedelta(days=1)),
    "this_month": lambda t: (_month_start(t), _month_start(t, -1)),
    "last_month": lambda t: (_month_start(t, 1), _month_start(t)),
    "this_quarter": lambda t: (_quarter_start(t), _quarter_start(t, -1)),
    "last_quarter": lambda t: (_quarter_start(t, 1), _quarter_start(t)),
    "this_year": lambda t: (dt.date(t.year, 1, 1), dt.date(t.year + 1, 1, 1)),
    "last_year": lambda t: (dt.date(t.year - 1, 1, 1), dt.date(t.year, 1, 1)),
    "last_30_days": lambda t: (t - dt.timedelta(days=29), t + dt.timedelta(days=1)),
    "last_12_months": lambda t: (_month_start(t, 11), _month_start(t, -1)),
}


@dataclass(frozen=True)
class DateRange:
    """``start`` inclusive, ``end`` inclusive (as typed); ``preset`` when one was chosen."""

    start: dt.date | None
    end: dt.date | None
    preset: str | None = None

    def bounds(self, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
        """(first day, day after the last)."""
        if self.preset is not None:
            low, high = PRESETS[self.preset](today)
            return low, high
        return self.start, self.end + dt.timedelta(days=1) if self.end else None


@dataclass(frozen=True)
class Departments:
    """A chosen department with the ids of its subtree and of its people
    (filled in by the service, which reads the organization)."""

    department: int
    subtree: tuple[int, ...] = ()
    members: tuple[int, ...] = ()


def _ids(raw: str, path: str, what: Label) -> list[int]:
    items = [p.strip() for p in raw.split(",") if p.strip()]
    if not all(p.isdigit() for p in items):
        raise query_error(AREA, path, Label(f"{what.zh}需要用逗号分隔的编号", f"{what.en} needs ids separated by commas"))
    return [int(p) for p in items]


class DateRangeFilter(GlobalFilter):
    key = "date_range"
    label = Label("日期范围", "Date range")
    description = Label("按日期字段筛选：预设（本月、今年……）或起止日期",
                        "On a date field: a preset (this month, this year ...) or from/to dates")
    presets: ClassVar[tuple[str, ...]] = tuple(PRESETS)

    def accepts(self, field: FieldDef) -> bool:
        return field.type in DATE_TYPES

    def parse(self, raw: str, path: str) -> Any:
        text = raw.strip()
        if text in PRESETS:
            return DateRange(None, None, text)
        if ".." not in text:
            raise query_error(AREA, path, Label(
                f"日期范围应为 起..止（如 2024-01-01..2024-12-31）或预设：{', '.join(PRESETS)}",
                f"A date range is from..to (like 2024-01-01..2024-12-31) or a preset: {', '.join(PRESETS)}"))
        low, high = (part.strip() for part in text.split("..", 1))
        try:
            start = dt.date.fromisoformat(low) if low else None
            end = dt.date.fromisoformat(high) if high else None
        except ValueError:
            raise query_error(AREA, path, Label(f"日期 {text} 无效（格式 YYYY-MM-DD）",
                                                f"Invalid date in {text} (format YYYY-MM-DD)")) from None
        if start and end and end < start:
            raise query_error(AREA, path, Label("结束日期早于开始日期", "The end is before the start"))
        return DateRange(start, end)

    def condition(self, field_path: str, value: Any, *, today: dt.date) -> Mapping[str, Any] | None:
        low, high = value.bounds(today)
        parts: list[Mapping[str, Any]] = []
        if low is not None:
            parts.append({"field": field_path, "op": "gte", "value": low.isoformat()})
        if high is not None:
            parts.append({"field": field_path, "op": "lt", "value": high.isoformat()})
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else {"and": parts}


class MemberFilter(GlobalFilter):
    key = "member"
    label = Label("成员", "Member")
    description = Label("按成员字段（如负责人）筛选：一个或多个成员，或“我”",
                        "On a member field (like the owner): one or more people, or me")

    def accepts(self, field: FieldDef) -> bool:
        return field.type in MEMBER_TYPES

    def parse(self, raw: str, path: str) -> Any:
        if raw.strip() == "me":
            return "me"
        return tuple(_ids(raw, path, Label("成员", "A member filter")))

    def condition(self, field_path: str, value: Any, *, today: dt.date) -> Mapping[str, Any] | None:
        if value == "me":
            return {"field": field_path, "op": "is_me"}
        if not value:
            return None
        return {"field": field_path, "op": "in", "value": list(value)}

    def condition_on(self, field: FieldDef, field_path: str, value: Any, *,
                     today: dt.date) -> Mapping[str, Any] | None:
        if value == "me" or not value:
            return self.condition(field_path, value, today=today)
        return {"field": field_path, "op": "has_any" if field.type in MULTI_TYPES else "in", "value": list(value)}


class DepartmentFilter(GlobalFilter):
    key = "department"
    label = Label("部门", "Department")
    description = Label("按部门筛选（含下级部门）：映射到成员字段时为该部门的人，映射到部门字段时为该部门",
                        "By department, with its sub-departments: on a member field its people, on a "
                        "department field the departments")

    def accepts(self, field: FieldDef) -> bool:
        return field.type in MEMBER_TYPES | DEPARTMENT_TYPES

    def parse(self, raw: str, path: str) -> Any:
        ids = _ids(raw, path, Label("部门", "A department filter"))
        if len(ids) != 1:
            raise query_error(AREA, path, Label("请选择一个部门", "Choose one department"))
        return Departments(ids[0])

    def condition(self, field_path: str, value: Any, *, today: dt.date) -> Mapping[str, Any] | None:
        # On a member field: its people (a department field goes through condition_on).
        return {"field": field_path, "op": "in", "value": list(value.members)}

    def condition_on(self, field: FieldDef, field_path: str, value: Any, *,
                     today: dt.date) -> Mapping[str, Any] | None:
        ids = list(value.subtree or (value.department,)) if field.type in DEPARTMENT_TYPES else list(value.members)
        return {"field": field_path, "op": "has_any" if field.type in MULTI_TYPES else "in", "value": ids}


class SelectFilter(GlobalFilter):
    key = "select"
    label = Label("选项", "Options")
    description = Label("按单选或多选字段的选项筛选", "On a select field: one or more of its options")

    def accepts(self, field: FieldDef) -> bool:
        return field.type in SELECT_TYPES

    def parse(self, raw: str, path: str) -> Any:
        return tuple(p.strip() for p in raw.split(",") if p.strip())

    def condition(self, field_path: str, value: Any, *, today: dt.date) -> Mapping[str, Any] | None:
        if not value:
            return None
        return {"field": field_path, "op": "in", "value": list(value)}

    def condition_on(self, field: FieldDef, field_path: str, value: Any, *,
                     today: dt.date) -> Mapping[str, Any] | None:
        if not value:
            return None
        return {"field": field_path, "op": "has_any" if field.type in MULTI_TYPES else "in", "value": list(value)}


def build_global_filters() -> Registry[GlobalFilter]:
    registry: Registry[GlobalFilter] = Registry("global filter")
    registry.register_all([DateRangeFilter(), MemberFilter(), DepartmentFilter(), SelectFilter()])
    return registry


GLOBAL_FILTERS = build_global_filters()

__all__ = ["AREA", "GLOBAL_FILTERS", "PRESETS", "DateRange", "Departments", "QueryError",
           "build_global_filters"]
