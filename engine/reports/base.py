"""The registries a report is made of (docs/reports.md lists every entry; a
test fails when a registered one is undocumented):

- ``Aggregation`` (``engine.reports.measures.AGGREGATIONS``): count, sum,
  avg, min, max, count_distinct — which field types it accepts and the SQL
  aggregate over a column.
- ``Grain`` (``engine.reports.dates.GRAINS``): day, week, month, quarter,
  year — a date's bucket as an integer in SQL (per dialect, in one table in
  ``dates``), the bucket's first day and its label in Python, and how many
  buckets back "a year before" is.
- ``ChartType`` (``engine.reports.charts.CHART_TYPES``): table, pivot,
  number, bar, line, area, pie, funnel, scatter, dual_axis, gauge, ranking,
  map — its settings' JSON Schema, its check against the query, and the
  presentation of a result.
- ``GlobalFilter`` (``engine.reports.filters.GLOBAL_FILTERS``): date_range,
  member, department, select — a dashboard filter's value from the URL and
  the filter-language condition it puts on a report's field.

Each registry is built explicitly in one place, never by import side effects.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa

from engine.core.i18n import Label
from engine.definitions.model import FieldDef
from engine.reports.model import ReportQuery, ReportResult


class Aggregation(ABC):
    key: ClassVar[str]
    label: ClassVar[Label]
    description: ClassVar[Label]
    needs_field: ClassVar[bool] = True  # count does not

    @abstractmethod
    def accepts(self, field_type: str) -> bool:
        """Whether a field of type ``field_type`` can be aggregated so."""

    @abstractmethod
    def sql(self, column: sa.ColumnElement[Any] | None) -> sa.ColumnElement[Any]:
        """The aggregate over ``column`` (None: over rows, for count)."""

    def result_type(self, field_type: str) -> str:
        """The field type of the aggregate's values (count: number; sum of money: money)."""
        return field_type


class Grain(ABC):
    key: ClassVar[str]
    label: ClassVar[Label]
    description: ClassVar[Label]
    year_back: ClassVar[int]  # buckets back to the same period a year before (month: 12)

    @abstractmethod
    def bucket(self, dialect: str, column: sa.ColumnElement[Any], *, datetime: bool,
               fiscal_start: int, utc_offset_minutes: int, zone: str = "UTC") -> sa.ColumnElement[int]:
        """The bucket of ``column`` as an integer (consecutive buckets differ
        by 1); a datetime by its date in ``zone`` (SQLite: at the fixed
        ``utc_offset_minutes``)."""

    @abstractmethod
    def start(self, bucket: int, *, fiscal_start: int) -> dt.date:
        """The first day of ``bucket``."""

    @abstractmethod
    def text(self, bucket: int, *, fiscal_start: int) -> Label:
        """How ``bucket`` is shown ("2024年3月" / "Mar 2024", "2024 Q1", "FY2024")."""


@dataclass(frozen=True)
class Presentation:
    """What a chart type makes of a result: ``kind`` says how the page draws
    it (``echarts``: ``data`` is an ECharts option; ``table``, ``pivot``,
    ``number``: ``data`` is the structure their template draws). Every value
    in ``data`` is JSON-ready; numbers shown as text are already formatted
    for ``locale``."""

    kind: str
    data: Mapping[str, Any]


class ChartType(ABC):
    key: ClassVar[str]
    label: ClassVar[Label]
    description: ClassVar[Label]
    settings_schema: ClassVar[Mapping[str, Any]]  # JSON Schema of the chart mapping without "type"

    @abstractmethod
    def check(self, query: ReportQuery, settings: Mapping[str, Any]) -> list[tuple[str, Label]]:
        """Problems (path under ``chart``, message) of ``settings`` for
        ``query`` (e.g. a pie needs exactly one dimension)."""

    @abstractmethod
    def present(self, result: ReportResult, settings: Mapping[str, Any], locale: str) -> Presentation:
        """The result as this chart shows it."""


class GlobalFilter(ABC):
    key: ClassVar[str]
    label: ClassVar[Label]
    description: ClassVar[Label]

    @abstractmethod
    def accepts(self, field: FieldDef) -> bool:
        """Whether the filter can apply to ``field`` (a report's mapped field)."""

    @abstractmethod
    def parse(self, raw: str, path: str) -> Any:
        """The value of the URL parameter ``raw`` (a ``QueryError`` at
        ``path`` when it is not one)."""

    @abstractmethod
    def condition(self, field_path: str, value: Any, *, today: dt.date) -> Mapping[str, Any] | None:
        """The filter-language condition on ``field_path`` for ``value``
        (None: no condition, e.g. an empty choice)."""

    def condition_on(self, field: FieldDef, field_path: str, value: Any, *,
                     today: dt.date) -> Mapping[str, Any] | None:
        """The condition on ``field`` itself: a filter whose operator differs
        for single and multiple fields (in / has_any) overrides this."""
        return self.condition(field_path, value, today=today)
