"""A dashboard's filter bar: the URL's parameters as the global filters' raw
values (one parameter per filter key, as the REST API takes them), and what
each control shows.

The bar is a plain GET form, so it works without scripts; a custom date range
(``period=range&period_from=..&period_to=..``) and several picks
(``owner=3&owner=7``) are folded by a redirect into the one-parameter form
(``period=2024-01-01..2024-06-30``, ``owner=3,7``) that is shared and read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from engine.core.i18n import Label
from engine.definitions.model import AppDef
from engine.definitions.report_files import DashboardDef, DashboardFilter
from engine.fields.choice import options_of
from runtime.web.context import services
from runtime.web.i18n import label_text

RANGE = "range"  # the preset select's "custom range" choice
PRESETS = (
    ("all", Label("全部", "All time")),
    ("this_month", Label("本月", "This month")),
    ("last_month", Label("上月", "Last month")),
    ("this_quarter", Label("本季度", "This quarter")),
    ("last_quarter", Label("上季度", "Last quarter")),
    ("this_year", Label("今年", "This year")),
    ("last_year", Label("去年", "Last year")),
    ("last_30_days", Label("最近 30 天", "Last 30 days")),
    ("last_12_months", Label("最近 12 个月", "Last 12 months")),
    (RANGE, Label("自定义…", "Custom…")),
)


@dataclass
class Control:
    """One filter of the bar: the value in force and the choices to show."""

    key: str
    type: str
    label: Label
    value: str
    choices: list[tuple[str, str]] = field(default_factory=list)
    start: str = ""  # a date range's ends
    end: str = ""


def canonical_args(dashboard: DashboardDef, args: MultiDict[str, str]) -> str | None:
    """The query string in one-parameter-per-filter form, or None when ``args`` already is."""
    out: list[tuple[str, str]] = []
    changed = False
    keys = {f.key: f for f in dashboard.filters}
    ends = {f"{k}_{end}" for k, f in keys.items() if f.type == "date_range" for end in ("from", "to")}
    for key in dict.fromkeys(args):
        values = args.getlist(key)
        if key in ends:
            changed = True
            continue
        if key not in keys:
            out.extend((key, v) for v in values)
            continue
        if values == [RANGE]:
            values = [f"{args.get(f'{key}_from', '')}..{args.get(f'{key}_to', '')}"]
            changed = True
        joined = ",".join(v for v in values if v)
        changed = changed or len(values) != 1 or not joined
        if joined and joined != "..":
            out.append((key, joined))
    return urlencode(out) if changed else None


def raw_filters(dashboard: DashboardDef | None, args: MultiDict[str, str]) -> dict[str, str]:
    """The filters' raw values present in ``args`` (the others take their defaults)."""
    if dashboard is None:
        return {}
    return {f.key: args[f.key] for f in dashboard.filters if args.get(f.key)}


def _date_range(control: Control, _app: AppDef, _f: DashboardFilter) -> None:
    control.choices = [(key, label_text(name)) for key, name in PRESETS]
    if ".." in control.value:
        control.start, control.end = control.value.split("..", 1)
        control.value = RANGE


def _member(control: Control, _app: AppDef, _f: DashboardFilter) -> None:
    org = services().org
    names = {u.id: u.name for u in org.list_users(active=True)}
    picked = [v for v in control.value.split(",") if v]
    control.choices = [("me", label_text(Label("我自己", "Me")))]
    control.choices += [(v, names.get(int(v), f"#{v}")) for v in picked if v.isdigit()]


def _department(control: Control, _app: AppDef, _f: DashboardFilter) -> None:
    departments = services().org.list_departments()  # depth first: indent by depth
    depth: dict[int, int] = {}
    for d in departments:
        depth[d.id] = depth.get(d.parent_id, -1) + 1 if d.parent_id is not None else 0
        control.choices.append((str(d.id), "\u3000" * depth[d.id] + d.name))


def _select(control: Control, app: AppDef, f: DashboardFilter) -> None:
    form_key, _, field_key = (f.options_from or "").partition(".")
    form = app.form(form_key)
    found = form.field(field_key) if form is not None else None
    if found is not None:
        control.choices = [(o.key, label_text(o.label)) for o in options_of(found)]


# Filter type -> how its control gets its choices (a type without one shows a text box).
CONTROLS: dict[str, Callable[[Control, AppDef, DashboardFilter], None]] = {
    "date_range": _date_range, "member": _member, "department": _department, "select": _select,
}


def filter_bar(app: AppDef, dashboard: DashboardDef, raw: dict[str, str]) -> list[Control]:
    """The controls of ``dashboard``'s filters, showing ``raw`` (or each default)."""
    controls = []
    for f in dashboard.filters:
        default: Any = f.default
        control = Control(f.key, f.type, f.label, raw.get(f.key, "" if default is None else str(default)))
        fill = CONTROLS.get(f.type)
        if fill is not None:
            fill(control, app, f)
        controls.append(control)
    return controls


def applied(controls: list[Control]) -> list[tuple[Label, str]]:
    """The filters in force, as (filter label, value shown), for the report page."""
    out = []
    for c in controls:
        if c.value == RANGE:
            out.append((c.label, f"{c.start} – {c.end}"))
            continue
        picked = [v for v in c.value.split(",") if v] if c.type != "date_range" else [c.value]
        names = dict(c.choices)
        if picked:
            out.append((c.label, label_text(Label("、", ", ")).join(names.get(v, v) for v in picked)))
    return out
