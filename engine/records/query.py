"""List queries (DESIGN §6): filter, sort, search, keyset pages, capped counts.

``build_list_query`` makes one Core ``select()`` for a page of a form's
records. The order is always total: the sort keys the caller asks for, then
``id``. Blanks sort last whichever the direction, on SQLite and PostgreSQL
alike. Page 2 onwards starts *after* the previous page's last row (keyset
pagination, never OFFSET): its sort values and id travel in an opaque cursor,
base64 of tagged JSON so dates and decimals come back as what they were.

``count_query`` counts the matches up to a cap, so a count on a large table
costs at most ``cap`` rows. See docs/filters.md.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.i18n import Label
from engine.definitions.model import AppDef, FormDef, SortKey
from engine.records.filters import (
    NUL_TEXT,
    SYSTEM_FIELDS,
    FilterCompiler,
    PathGuard,
    PathResolver,
    QueryError,
    at,
    has_nul,
    query_error,
)
from engine.store.tables import FieldTypes, FormTables, form_tables, stored_in_columns

MAX_LIMIT = 1000
MAX_SORT_KEYS = 8
MAX_SEARCH_WORDS = 10
MAX_SEARCH_LENGTH = 200
MAX_CURSOR_LENGTH = 4096
DEFAULT_COUNT_CAP = 10_000

SORT = Label("排序", "Sort")
SEARCH = Label("搜索", "Search")
CURSOR = Label("翻页游标", "Cursor")
PAGING = Label("分页", "Paging")
COLUMNS = Label("列", "Columns")
_BAD_CURSOR = Label(
    "游标无效或已损坏，请从第一页重新开始", "The cursor is not valid; start again from the first page"
)
_OTHER_SORT = Label(
    "此游标属于另一种排序，请从第一页重新开始",
    "This cursor was made for a different sort; start again from the first page",
)

SortSpec = SortKey | Mapping[str, Any] | str


@dataclass(frozen=True)
class SortTerm:
    """One key of the order: the path asked for, its direction, the SQL
    expression, and the key of the row mapping that holds its value."""

    path: str
    desc: bool
    expression: sa.ColumnElement[Any]
    key: str
    nullable: bool = True

    def order_by(self) -> sa.UnaryExpression[Any]:
        ordered = self.expression.desc() if self.desc else self.expression.asc()
        # Blanks last in both directions (PostgreSQL puts NULLs first on DESC by default).
        return ordered.nulls_last() if self.nullable else ordered


@dataclass(frozen=True)
class ListQuery:
    """A page query: ``select`` returns up to ``limit + 1`` rows (one more
    than a page, so the caller knows whether there is a next page), and
    ``cursor(row)`` is the ``after`` value that continues after ``row``."""

    select: sa.Select[Any]
    terms: tuple[SortTerm, ...]
    limit: int

    def cursor(self, row: Any) -> str:
        """The cursor of the page that starts after ``row`` (a Row or its mapping)."""
        mapping = row._mapping if hasattr(row, "_mapping") else row
        values = [encode_value(mapping[term.key]) for term in self.terms]
        return encode_cursor({"s": signature(self.terms), "v": values})

    def page(self, rows: Sequence[Any]) -> tuple[list[Any], str | None]:
        """The rows of the page and the next page's cursor (None on the last page)."""
        shown = list(rows[: self.limit])
        more = len(rows) > self.limit and bool(shown)
        return shown, self.cursor(shown[-1]) if more else None


class RecordCount(NamedTuple):
    """How many records match: exact, or ``cap`` and ``exact=False`` ("10,000+")."""

    total: int
    exact: bool


# --- building ----------------------------------------------------------------------------

def build_list_query(
    form: FormDef,
    app: AppDef | None,
    field_types: FieldTypes,
    *,
    filter: Mapping[str, Any] | None = None,
    sort: Sequence[SortSpec] = (),
    search: str | None = None,
    limit: int = 50,
    after: str | None = None,
    columns: Sequence[str] | None = None,
    today: dt.date | None = None,
    user_id: int | None = None,
    tables: FormTables | None = None,
    unsearchable: frozenset[str] = frozenset(),
    guard: PathGuard | None = None,
) -> ListQuery:
    """The query for one page of ``form``'s records.

    ``sort`` items are ``SortKey``, ``{"field": "amount", "desc": true}`` or
    ``"-amount"``; a field is a system field, a stored single-column field, a
    column of a multi-column field (``address.city``) or a path through
    single relations (``customer.name``). ``search`` matches every word in
    some text field. ``columns`` limits the selected fields (id and the sort
    columns are always selected). Bad input raises ``QueryError``. ``guard``
    (the reader's rights) checks every step of every path and limits related
    records to those the reader may read.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise query_error(PAGING, "limit", Label(
            f"每页条数应在 1 到 {MAX_LIMIT} 之间", f"The page size must be between 1 and {MAX_LIMIT}"
        ))
    tables = tables or form_tables(form, field_types)
    resolver = PathResolver(form, app, field_types, tables, guard)
    main = tables.main
    terms = sort_terms(resolver, sort)
    selected: list[Any] = selected_columns(resolver, columns)
    for term in terms:
        if term.key not in {str(getattr(c, "key", "")) for c in selected}:
            selected.append(term.expression.label(term.key) if term.key not in main.c else main.c[term.key])
    query = sa.select(*selected).select_from(main)
    query = query.where(*conditions(resolver, filter, search, today=today, user_id=user_id,
                                    unsearchable=unsearchable))
    if after is not None:
        query = query.where(keyset(terms, decode_values(after, terms)))
    query = query.order_by(*(term.order_by() for term in terms)).limit(limit + 1)
    return ListQuery(query, tuple(terms), limit)


def count_query(
    form: FormDef,
    app: AppDef | None,
    field_types: FieldTypes,
    *,
    filter: Mapping[str, Any] | None = None,
    search: str | None = None,
    cap: int = DEFAULT_COUNT_CAP,
    today: dt.date | None = None,
    user_id: int | None = None,
    tables: FormTables | None = None,
    unsearchable: frozenset[str] = frozenset(),
    scope: sa.ColumnElement[bool] | None = None,
    guard: PathGuard | None = None,
) -> sa.Select[int]:
    """``SELECT count(*) FROM (SELECT 1 ... LIMIT cap + 1)``: at most ``cap + 1``,
    so a result above ``cap`` means "more than cap" (see ``RecordCount``)."""
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise query_error(PAGING, "cap", Label("计数上限应是正整数", "The count cap must be a positive whole number"))
    tables = tables or form_tables(form, field_types)
    resolver = PathResolver(form, app, field_types, tables, guard)
    matching = (
        sa.select(sa.literal(1).label("one"))
        .select_from(tables.main)
        .where(*conditions(resolver, filter, search, today=today, user_id=user_id,
                           unsearchable=unsearchable))
        .where(*([scope] if scope is not None else []))
        .limit(cap + 1)
        .subquery("matching")
    )
    return sa.select(sa.func.count()).select_from(matching)


def count_records(
    connection: Connection,
    form: FormDef,
    app: AppDef | None,
    field_types: FieldTypes,
    *,
    cap: int = DEFAULT_COUNT_CAP,
    **options: Any,
) -> RecordCount:
    """Run ``count_query``: the count, exact up to ``cap``."""
    counted = int(connection.execute(count_query(form, app, field_types, cap=cap, **options)).scalar_one())
    return RecordCount(min(counted, cap), counted <= cap)


def conditions(
    resolver: PathResolver,
    filter: Mapping[str, Any] | None,
    search: str | None,
    *,
    today: dt.date | None,
    user_id: int | None,
    unsearchable: frozenset[str] = frozenset(),
) -> list[sa.ColumnElement[bool]]:
    found = []
    if filter:
        found.append(FilterCompiler(resolver, today=today, user_id=user_id).compile(filter))
    if search is not None:
        found.append(search_clause(resolver, search, unsearchable))
    return found


# --- search ------------------------------------------------------------------------------

def searchable_fields(resolver: PathResolver) -> list[str]:
    """The keys of the fields a search looks in: stored text-ish fields (their
    formula type is text) whose type offers ``contains``."""
    keys = []
    for field in resolver.root.fields:
        ftype = resolver.field_types.get(field.type)
        if (
            stored_in_columns(ftype, field)
            and ftype.formula_type_for(field) == "text"
            and "contains" in ftype.operators_for(field)
        ):
            keys.append(field.key)
    return keys


def search_clause(
    resolver: PathResolver, search: Any, unsearchable: frozenset[str] = frozenset()
) -> sa.ColumnElement[bool]:
    """Every word of ``search`` appears (case-insensitively) in some text field
    (``unsearchable`` ones left out: fields the reader may not see)."""
    if not isinstance(search, str):
        raise query_error(SEARCH, "search", Label("搜索内容应是文本", "The search must be text"))
    if has_nul(search):
        raise query_error(SEARCH, "search", NUL_TEXT)
    if len(search) > MAX_SEARCH_LENGTH:
        raise query_error(SEARCH, "search", Label(
            f"搜索内容超过 {MAX_SEARCH_LENGTH} 个字符", f"The search is longer than {MAX_SEARCH_LENGTH} characters"
        ))
    words = search.split()[:MAX_SEARCH_WORDS]
    if not words:
        return sa.true()
    keys = [key for key in searchable_fields(resolver) if key not in unsearchable]
    if not keys:
        return sa.false()
    spec = {"and": [{"or": [{"field": key, "op": "contains", "value": word} for key in keys]} for word in words]}
    return FilterCompiler(resolver).compile(spec)


# --- columns and sorting ---------------------------------------------------------------------

def selected_columns(resolver: PathResolver, columns: Sequence[str] | None) -> list[Any]:
    main = resolver.root.table
    if columns is None:
        return list(main.c)
    names = ["id"]
    for index, key in enumerate(columns):
        field_path = resolver.resolve(key, f"columns[{index}]", COLUMNS)
        field, ftype = field_path.field, field_path.type
        if field_path.hops or not stored_in_columns(ftype, field):
            continue  # values kept elsewhere (subform rows, links) are read by the record reader
        names.extend(n for n in ftype.column_names(field) if n not in names)
    return [main.c[name] for name in names]


def parse_sort(item: Any, path: str) -> tuple[Any, bool]:
    """``(field path, descending)`` from a SortKey, a mapping or ``"-amount"``."""
    if isinstance(item, SortKey):
        return item.field, item.desc
    if isinstance(item, str):
        text = item.strip()
        return (text[1:], True) if text.startswith("-") else (text, False)
    if isinstance(item, Mapping):
        unknown = [str(k) for k in item if k not in ("field", "desc", "direction")]
        if unknown:
            raise query_error(SORT, at(path, unknown[0]), Label(
                f"未知的键 {unknown[0]}（排序有 field 和 desc）", f"Unknown key {unknown[0]} (a sort has field and desc)"
            ))
        direction = item.get("direction")
        if direction not in (None, "asc", "desc"):
            raise query_error(SORT, at(path, "direction"), Label("方向应是 asc 或 desc", "The direction must be asc or desc"))
        desc = item.get("desc", direction == "desc")
        if not isinstance(desc, bool):
            raise query_error(SORT, at(path, "desc"), Label("desc 应是 true 或 false", "desc must be true or false"))
        return item.get("field"), desc
    raise query_error(SORT, path, Label(
        "排序项应是 {\"field\": ..., \"desc\": ...} 或 \"-字段\"", "A sort item must be {\"field\": ..., \"desc\": ...} or \"-field\""
    ))


def sort_terms(resolver: PathResolver, sort: Sequence[SortSpec]) -> list[SortTerm]:
    """The terms of the order, ending with ``id`` so the order is total."""
    if isinstance(sort, str | Mapping | SortKey):
        sort = [sort]
    if len(sort) > MAX_SORT_KEYS:
        raise query_error(SORT, "sort", Label(f"最多按 {MAX_SORT_KEYS} 个字段排序", f"At most {MAX_SORT_KEYS} sort keys"))
    terms = []
    for index, item in enumerate(sort):
        path = f"sort[{index}]"
        text, desc = parse_sort(item, path)
        terms.append(sort_term(resolver, text, desc, at(path, "field") if isinstance(item, Mapping) else path, index))
    if not any(term.key == "id" for term in terms):
        main_id = resolver.root.column("id")
        terms.append(SortTerm("id", terms[-1].desc if terms else False, main_id, "id", nullable=False))
    return terms


def sort_term(resolver: PathResolver, text: Any, desc: bool, path: str, index: int) -> SortTerm:
    field_path = resolver.resolve(text, path, SORT)
    field, ftype = field_path.field, field_path.type
    names = ftype.column_names(field) if stored_in_columns(ftype, field) else []
    if any(hop.kind != "relation" for hop in field_path.hops) or len(names) != 1:
        raise query_error(SORT, path, Label(
            f"不能按 {field_path.label.zh} 排序：排序需要只有一个值的字段（可用 address.city 这类路径选取多列字段的一列）",
            f"Cannot sort by {field_path.label.en}: sorting needs a field with a single value "
            "(pick one column of a multi-column field with a path like address.city)",
        ))
    expression: sa.ColumnElement[Any] = field_path.scope.column(names[0])
    if isinstance(expression.type, sa.JSON):
        raise query_error(SORT, path, Label(
            f"不能按 {field_path.label.zh} 排序：它可有多个值", f"Cannot sort by {field_path.label.en}: it holds several values"
        ))
    for hop in reversed(field_path.hops):
        expression = (
            sa.select(expression)
            .where(*hop.target.where(hop.target.column("id") == hop.source.column(hop.field.key)))
            .scalar_subquery()
        )
    if field_path.hops:
        return SortTerm(str(text), desc, expression, f"_sort_{index}")
    nullable = names[0] != "id" or field.key not in SYSTEM_FIELDS
    return SortTerm(str(text), desc, expression, names[0], nullable)


def signature(terms: Sequence[SortTerm]) -> list[list[Any]]:
    return [[term.path, term.desc] for term in terms]


def keyset(terms: Sequence[SortTerm], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Rows strictly after ``values`` in the order of ``terms`` (blanks last):
    equal on the first k-1 terms and beyond the row on the k-th, for some k."""
    options = []
    for k, (term, value) in enumerate(zip(terms, values, strict=True)):
        if value is None:
            continue  # nothing comes after a blank in its own term: blanks are last
        expression = term.expression
        beyond = expression < value if term.desc else expression > value
        if term.nullable:
            beyond = sa.or_(beyond, expression.is_(None))
        same = [
            t.expression.is_(None) if v is None else t.expression == v
            for t, v in zip(terms[:k], values[:k], strict=True)
        ]
        options.append(sa.and_(*same, beyond))
    return sa.or_(*options) if options else sa.false()


# --- cursors -----------------------------------------------------------------------------------

def encode_value(value: Any) -> Any:
    """A sort value as JSON, tagged when JSON alone would lose its type."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return {"n": format(value, "f")}
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, dt.time):
        return {"t": value.isoformat()}
    raise TypeError(f"cannot put a {type(value).__name__} in a cursor")


def decode_value(data: Any) -> Any:
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, dict) and len(data) == 1:
        (tag, text), = data.items()
        if isinstance(text, str):
            if tag == "n":
                number = Decimal(text)
                if number.is_finite():
                    return number
            elif tag == "dt":
                return dt.datetime.fromisoformat(text)
            elif tag == "d":
                return dt.date.fromisoformat(text)
            elif tag == "t":
                return dt.time.fromisoformat(text)
    raise ValueError("unknown cursor value")


def fits(value: Any, column_type: sa.types.TypeEngine[Any]) -> bool:
    """Whether a decoded value can stand for a value of the column (so a
    tampered cursor never reaches the database as the wrong type)."""
    if value is None:
        return True
    if isinstance(column_type, sa.types.TypeDecorator):  # a Moment is a DateTime underneath
        column_type = column_type.impl_instance
    if isinstance(column_type, sa.DateTime):
        return isinstance(value, dt.datetime)
    if isinstance(column_type, sa.Date):
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if isinstance(column_type, sa.Time):
        return isinstance(value, dt.time)
    if isinstance(column_type, sa.Boolean):
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if isinstance(column_type, sa.Integer):
        return isinstance(value, int)
    if isinstance(column_type, sa.Numeric):
        return isinstance(value, Decimal | int | float)
    if isinstance(column_type, sa.String):
        return isinstance(value, str)
    return False


def encode_cursor(data: Mapping[str, Any]) -> str:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_values(cursor: Any, terms: Sequence[SortTerm]) -> list[Any]:
    """The sort values a cursor carries, checked against ``terms``."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise query_error(CURSOR, "after", _BAD_CURSOR)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("v"), list):
            raise ValueError("not a cursor")
        values = [decode_value(item) for item in data["v"]]
    except (binascii.Error, UnicodeDecodeError, ValueError, InvalidOperation):
        raise query_error(CURSOR, "after", _BAD_CURSOR) from None
    if data.get("s") != signature(terms):
        raise query_error(CURSOR, "after", _OTHER_SORT)
    if len(values) != len(terms) or not all(
        fits(value, term.expression.type) and (value is not None or term.nullable)
        for value, term in zip(values, terms, strict=True)
    ):
        raise query_error(CURSOR, "after", _BAD_CURSOR)
    return values


__all__ = [
    "ListQuery",
    "QueryError",
    "RecordCount",
    "SortTerm",
    "build_list_query",
    "count_query",
    "count_records",
]
