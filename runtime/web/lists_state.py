"""What a list page shows, read from its URL: the tab (a list view of the
form, ``view=``, or one of the reader's personal views, ``pv=``), the
reader's own filter on top (``filter=``, the filter language's JSON), the
sort (``sort=-amount,name``), the search and the page cursor. The URL is
the whole state, so reload, back and a shared link show the same list.

The parameters are the REST API's (``runtime/api/records.py`` parses them);
only ``pv`` is the page's own. The columns, filter and sort handed to the
engine are the tab's, with the reader's choices over them; which fields the
reader may see, filter or sort by is the engine's ``FormPolicy``'s answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import request

from engine.core.i18n import Label
from engine.definitions.model import FieldDef, FormDef, ListView
from engine.records import Actor, RecordService
from engine.records.access import FormPolicy
from engine.records.columns import system_field
from engine.records.compiled import CompiledForm
from engine.records.filters import QueryError
from engine.records.personal_views import PersonalView, PersonalViews
from runtime.api.records import (
    check_parameters,
    comma_list,
    filter_parameter,
    search_parameter,
    view_parameter,
)
from runtime.web.i18n import label_text

PAGE_PARAMETERS = frozenset({"view", "pv", "filter", "sort", "search", "after", "limit"})
PAGE_SIZE = 50
DEFAULT_COLUMNS = 8
# Types whose values make no sense in a list cell (layout items, subform tables).
NOT_COLUMNS = frozenset({"subform", "rich_text", "signature"})


@dataclass(frozen=True)
class Column:
    key: str
    field: FieldDef
    sortable: bool
    label: str  # in the reader's language


@dataclass
class ListState:
    app_key: str
    form_key: str
    service: RecordService
    compiled: CompiledForm
    policy: FormPolicy
    view: ListView | None
    personal: PersonalView | None
    personal_views: list[PersonalView]
    filter: dict[str, Any] | None  # the reader's own, over the tab's
    sort: list[str]
    search: str | None
    after: str | None
    limit: int
    page_size: int = PAGE_SIZE  # the tab's own page size: ``limit`` says only another
    columns: list[Column] = field(default_factory=list)

    @property
    def form(self) -> FormDef:
        return self.compiled.form

    @property
    def base_filter(self) -> Mapping[str, Any] | None:
        """The tab's own filter (not removable from the page, only by changing tab)."""
        if self.personal is not None:
            return self.personal.filter
        return self.view.filter if self.view is not None else None

    @property
    def effective_filter(self) -> dict[str, Any] | None:
        base = dict(self.base_filter) if self.base_filter else None
        if base and self.filter:
            return {"and": [base, self.filter]}
        return base or self.filter

    @property
    def effective_sort(self) -> list[str]:
        if self.sort:
            return self.sort
        if self.personal is not None:
            return list(self.personal.sort)
        return [("-" if s.desc else "") + s.field for s in self.view.sort] if self.view is not None else []

    def list_arguments(self) -> dict[str, Any]:
        return {"filter": self.effective_filter, "sort": self.effective_sort, "search": self.search,
                "limit": self.limit, "after": self.after, "fields": [c.key for c in self.columns]}

    def params(self, **changes: Any) -> dict[str, str]:
        """The URL parameters of this state, with ``changes`` (None removes one)."""
        current: dict[str, Any] = {
            "view": self.view.key if self.view is not None and self.personal is None else None,
            "pv": str(self.personal.id) if self.personal is not None else None,
            "filter": dump_filter(self.filter),
            "sort": ",".join(self.sort) or None,
            "search": self.search,
            "limit": str(self.limit) if self.limit != self.page_size else None,
        }
        current.update(changes)
        return {k: str(v) for k, v in current.items() if v not in (None, "")}

    def url(self, part: str = "", **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return f"/a/{self.app_key}/{self.form_key}{part}" + (f"?{query}" if query else "")

    def tab_url(self, part: str = "", *, view: str | None = None, pv: int | None = None) -> str:
        """A tab's URL: the search is kept, the reader's filter and sort are the tab's."""
        return self.url(part, view=view, pv=pv, filter=None, sort=None)

    def sort_of(self, key: str) -> str | None:
        """"asc", "desc" or None: how the list is sorted by ``key`` first."""
        sort = self.effective_sort
        if not sort or sort[0].lstrip("-") != key:
            return None
        return "desc" if sort[0].startswith("-") else "asc"

    def sort_url(self, key: str, part: str = "") -> str:
        """Clicking a header: ascending, then descending, then the tab's own order."""
        now = self.sort_of(key) if self.sort else None
        following = {None: key, "asc": f"-{key}", "desc": None}[now]
        return self.url(part, sort=following)


def _bad(name: str, zh: str, en: str) -> QueryError:
    return QueryError(Label(f"参数 {name}：{zh}", f"Parameter {name}: {en}"), name)


def dump_filter(spec: Mapping[str, Any] | None) -> str | None:
    """A filter as its URL parameter (compact JSON), None when there is none."""
    return json.dumps(spec, ensure_ascii=False, separators=(",", ":")) if spec else None


def read_state(service: RecordService, app_key: str, form_key: str, actor: Actor, *,
               strict: bool = True) -> ListState:
    """The list's state from the query string (a ``QueryError`` names a bad
    parameter); ``strict``: no other parameter (the builder's
    inputs and an export's format come along with the state)."""
    if strict:
        check_parameters(PAGE_PARAMETERS)
    compiled, _ = service.form(form_key)
    policy = actor.policy(service, form_key)
    policy.require("read")
    personal_views = PersonalViews(service).list(actor.user_id, form_key) if actor.user_id is not None else []
    personal = None
    raw_pv = request.args.get("pv")
    if raw_pv:
        if not raw_pv.isdigit():
            raise _bad("pv", "应为个人视图的编号", "must be the number of a personal view")
        personal = PersonalViews(service).get(actor.user_id or 0, form_key, int(raw_pv))
    view = view_parameter(compiled)
    if view is None and personal is None and compiled.form.list_views:
        view = compiled.form.list_views[0]
    page_size = limit = PAGE_SIZE if view is None else view.page_size
    raw_limit = request.args.get("limit")
    if raw_limit:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 200:
            raise _bad("limit", "应为 1 到 200 的整数", "must be a whole number from 1 to 200")
        limit = int(raw_limit)
    state = ListState(app_key, form_key, service, compiled, policy, view, personal, personal_views,
                      filter_parameter(), comma_list("sort") or [], search_parameter(),
                      request.args.get("after") or None, limit, page_size)
    state.columns = columns_of(state)
    return state


def columns_of(state: ListState) -> list[Column]:
    """The tab's columns without those the reader sees on no record; the
    title field first when the tab names none."""
    form = state.form
    if state.personal is not None and state.personal.columns:
        keys = list(state.personal.columns)
    elif state.view is not None and state.view.columns:
        keys = list(state.view.columns)
    else:
        keys = [f.key for f in form.fields
                if not state.service.field_types.get(f.type).layout and f.type not in NOT_COLUMNS][:DEFAULT_COLUMNS]
    hidden = state.policy.hidden_everywhere()
    sortable = sortable_keys(state)
    found = []
    for key in keys:
        f = form.field(key) or system_field(key)
        if f is None or key in hidden:
            continue
        found.append(Column(key, f, key in sortable, label_text(f.label)))
    return found


def sortable_keys(state: ListState) -> set[str]:
    """Fields with one stored value that every reading role shows (the ones the
    engine lets the reader sort by) and the system fields."""
    allowed = state.policy.rights.fields_every_reader_shows(single_valued(state.compiled))
    return allowed | {"id", "owner", "created_at", "updated_at", "created_by", "updated_by"}


_SINGLE: dict[int, tuple[CompiledForm, frozenset[str]]] = {}


def single_valued(compiled: CompiledForm) -> frozenset[str]:
    """The form's fields stored in one column that is not a list (worked out once per form)."""
    cached = _SINGLE.get(id(compiled))
    if cached is not None and cached[0] is compiled:
        return cached[1]
    keys = set()
    for f in compiled.form.fields:
        columns = compiled.types[f.key].columns(f) if compiled.storage[f.key] == "column" else []
        if len(columns) == 1 and not isinstance(columns[0].type, sa.JSON):
            keys.add(f.key)
    if len(_SINGLE) > 1000:
        _SINGLE.clear()
    _SINGLE[id(compiled)] = (compiled, frozenset(keys))
    return frozenset(keys)


def tab_label(view: ListView | PersonalView) -> Label | str:
    return view.label if isinstance(view, ListView) else view.name
