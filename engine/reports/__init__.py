"""The report engine (DESIGN §9, docs/reports.md): a report is a query plus a
presentation.

- ``model``: the query (JSON in the spirit of Cube) and its result, as
  frozen dataclasses every part shares.
- ``query`` / ``compiler`` / ``dates`` / ``measures``: the query checked
  against the app and compiled to **one** SQLAlchemy Core ``select()``, with
  the viewer's data scope, date buckets per dialect, period comparison and
  running totals in SQL, pivots' subtotals in the same statement.
- ``charts``: the chart-type registry; each turns a result into an ECharts
  option (or a table, a pivot, a number card).
- ``service``: ``ReportEngine`` (``engine.reports``): reports and dashboards
  for a viewer, global filters, drill-down, the result cache keyed by query,
  viewer scope and data version, xlsx export and alerts.
"""
