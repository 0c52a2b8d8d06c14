"""The report query and its result (``engine.definitions.report_query``,
where report files can read them): re-exported here, where the report
engine's parts import them from."""

from engine.definitions.report_query import (
    AREA,
    COMPARE_KINDS,
    OTHERS,
    Compare,
    Dimension,
    Measure,
    Order,
    Pivot,
    QueryError,
    ReportQuery,
    ReportResult,
    ResultColumn,
    Running,
    Top,
    parse_query,
)

__all__ = ["AREA", "COMPARE_KINDS", "OTHERS", "Compare", "Dimension", "Measure", "Order", "Pivot",
           "QueryError", "ReportQuery", "ReportResult", "ResultColumn", "Running", "Top", "parse_query"]
