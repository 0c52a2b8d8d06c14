"""Values shown by their field type, for every page (list cells, the record
page, related lists, history): money with its currency and precision, a
select as a coloured tag, a member by name, a relation as a link to its
record, files as download links and images as thumbnails, rich text as the
engine sanitized it, and everything else as the type's own ``display`` text.

``RENDERERS`` maps a field type key to a renderer; a type without one shows
its ``display`` text, escaped. ``Shown`` prepares a page of records once:
the names behind member, department and relation ids are fetched in one
query per field (``engine.records.names``), within the reader's read scope.

Option colours are definition data, and the CSP forbids ``style=``: a tag
carries the class ``opt-c-<hex>`` and ``/a/<app>/options.css`` (made from
the app's definitions, cached by their version) gives each its colour.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from markupsafe import Markup, escape

from engine.core.i18n import Label
from engine.definitions.model import AppDef, FieldDef
from engine.fields.base import FieldType
from engine.fields.choice import options_of
from engine.fields.sanitize import sanitize_html
from engine.records.access import ReadGuard
from engine.records.names import ids_in, names_for
from engine.records.service import RecordService
from runtime.web.i18n import current_language, format_moment

# A related record the reader may not read: its id, without its title.
OUT_OF_SCOPE = Label("这条记录不在你的查看范围内", "This record is outside what you may view")

STYLE_ATTRIBUTE = re.compile(r'\sstyle="[^"]*"')
HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


@dataclass
class Shown:
    """How one page shows the values of one form's records."""

    service: RecordService
    app_key: str
    form_key: str
    names: dict[str, dict[int, Any]] = field(default_factory=dict)
    record_id: int | None = None  # the record whose files are linked (record page)
    compact: bool = True  # a list cell (short) or the record page (whole)
    tags: dict[str, dict[Any, Markup]] = field(default_factory=dict)
    language: str = field(default_factory=current_language)  # looked up once, not per cell

    @classmethod
    def prepare(cls, service: RecordService, app_key: str, form_key: str, fields: Iterable[FieldDef],
                records: Iterable[Mapping[str, Any]], *, guard: ReadGuard | None,
                compact: bool = True, record_id: int | None = None) -> Shown:
        fields, records = list(fields), list(records)
        names = names_for(service, fields, records, guard=guard)
        if not compact:  # the record page shows subform rows: name their ids too
            for f in fields:
                rows = [row for record in records for row in record.get(f.key) or ()] if f.fields else []
                if rows and f.type == "subform":
                    for key, found in names_for(service, f.fields, rows, guard=guard).items():
                        names[f"{f.key}.{key}"] = found
        return cls(service, app_key, form_key, names, record_id=record_id, compact=compact)

    def value(self, f: FieldDef, value: Any, ftype: FieldType | None = None) -> Markup:
        """``value`` of field ``f``, ready for a template."""
        if value is None or value == "" or value == []:
            return Markup("")
        ftype = ftype or self.service.field_types.get(f.type)
        renderer = RENDERERS.get(f.type, text)
        return renderer(self, f, ftype, value)


Renderer = Callable[[Shown, FieldDef, FieldType, Any], Markup]


def text(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
    return escape(ftype.display(f, value, shown.language))


# Markup's ``%`` escapes its arguments as ``format`` does, several times faster
# (a list page renders a few hundred cells).
def _number(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
    return Markup('<span class="num">%s</span>') % ftype.display(f, value, shown.language)


def option_class(color: str | None) -> str:
    found = HEX.match(color or "")
    return f"opt-c-{found.group(1).lower()}" if found else "opt-plain"


def _tags(shown: Shown, f: FieldDef, keys: list[Any]) -> Markup:
    tags = shown.tags.get(f.key)
    if tags is None:  # each option's tag, made once per page
        language = shown.language
        tags = shown.tags[f.key] = {
            o.key: Markup('<span class="tag %s">%s</span>') % (option_class(o.color), o.label.text(language))
            for o in options_of(f)}
    return Markup(" ").join(
        tags.get(key) or Markup('<span class="tag opt-plain">%s</span>') % str(key) for key in keys)


def _select(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
    return _tags(shown, f, [value])


def _multiselect(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
    return _tags(shown, f, list(value))


def _named(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
    names = shown.names.get(f.key, {})
    return Markup("、" if shown.language == "zh" else ", ").join(
        escape(names.get(i, f"#{i}")) for i in ids_in(value))


def _relation(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
    target = str(f.setting("target"))
    names = shown.names.get(f.key, {})
    links = []
    for i in ids_in(value):
        if i in names:  # readable: a link with its title
            links.append(Markup('<a href="/a/{}/{}/{}">{}</a>').format(
                shown.app_key, target, i, names[i] if names[i] not in (None, "") else f"#{i}"))
        else:  # out of the reader's scope: the id only, no link, and why
            links.append(Markup('<span class="muted" title="{}">#{}</span>').format(
                OUT_OF_SCOPE.text(shown.language), i))
    return Markup("、" if shown.language == "zh" else ", ").join(links)


def _file_url(shown: Shown, item: Mapping[str, Any]) -> str | None:
    if shown.record_id is None:
        return None
    return (f"/api/v1/apps/{shown.app_key}/forms/{shown.form_key}/records/{shown.record_id}"
            f"/files/{item['id']}")


def _files(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
    items = value if isinstance(value, list) else [value]
    if shown.compact:
        return escape(ftype.display(f, value, shown.language))
    parts = []
    for item in items:
        url = _file_url(shown, item)
        name = item.get("name") or item.get("id")
        if url is None:
            parts.append(escape(name))
        elif f.type in ("image", "signature") or str(item.get("content_type", "")).startswith("image/"):
            parts.append(Markup('<a class="thumb" href="{0}"><img src="{0}" alt="{1}" loading="lazy"></a>')
                         .format(url, name))
        else:
            parts.append(Markup('<a href="{}?download=1" download>{}</a>').format(url, name))
    return Markup('<span class="files">{}</span>').format(Markup(" ").join(parts))


def _rich_text(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
    if shown.compact:
        return escape(ftype.display(f, value, shown.language))
    # Sanitized again on the way out (whatever wrote it), and without the
    # style attributes the sanitizer keeps: the page's CSP refuses inline styles.
    clean = STYLE_ATTRIBUTE.sub("", sanitize_html(str(value)))
    return Markup('<div class="rich-text">{}</div>').format(Markup(clean))


def _textarea(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
    if shown.compact:
        return escape(str(value))
    return Markup('<span class="multiline">{}</span>').format(value)


def _datetime(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
    return Markup("<time>%s</time>") % format_moment(value)


def _day(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
    """A date or a time of day, kept on one line (a list column would break "2026-12-04" at its dashes)."""
    return Markup("<time>%s</time>") % ftype.display(f, value, shown.language)


def _address(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
    if shown.compact or not isinstance(value, Mapping):
        return text(shown, f, ftype, value)
    region = " ".join(str(value[p]) for p in ("province", "city", "district") if value.get(p))
    detail = value.get("detail") or ""
    if region and detail:
        return Markup('<span class="address">{}<br>{}</span>').format(region, detail)
    return Markup('<span class="address">{}</span>').format(region or detail)


def _location(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
    if shown.compact or not isinstance(value, Mapping):
        return text(shown, f, ftype, value)
    point = Markup('<span class="num muted">{}, {}</span>').format(value.get("lat"), value.get("lng"))
    place = value.get("address")
    return Markup("{}<br>{}").format(place, point) if place else point


def _subform(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
    """All rows as a table (record page), each cell by its own type, with the
    totals of the columns the form sums; a list cell says how many rows."""
    if shown.compact or not isinstance(value, list):
        return text(shown, f, ftype, value)
    children = [(c, shown.service.field_types.get(c.type)) for c in f.fields]
    children = [(c, t) for c, t in children if not t.layout]
    rows = Shown(shown.service, shown.app_key, shown.form_key, record_id=shown.record_id, compact=False,
                 names={k.split(".", 1)[1]: v for k, v in shown.names.items() if k.startswith(f"{f.key}.")})
    labels = [c.label.text(current_language()) for c, _ in children]
    head = Markup("").join(Markup('<th scope="col">{}</th>').format(label) for label in labels)
    # Each cell names its column: on a phone the rows are cards, without the head.
    cell = Markup('<td data-label="{}">{}</td>')
    body = Markup("").join(
        Markup("<tr>{}</tr>").format(Markup("").join(
            cell.format(label, rows.value(c, row.get(c.key), t)) for label, (c, t) in zip(labels, children,
                                                                                         strict=True)))
        for row in value)
    summed = _summed_columns(shown, f)
    totals = [_column_total(rows, c, t, value, summed) for c, t in children]
    foot = Markup("")
    if any(totals):
        foot = Markup('<tfoot><tr>{}</tr></tfoot>').format(Markup("").join(
            cell.format(label, t) if t else Markup("<td></td>") for label, t in zip(labels, totals, strict=True)))
    return Markup('<div class="table-scroll"><table class="subform-view"><thead><tr>{}</tr></thead>'
                  '<tbody>{}</tbody>{}</table></div>').format(head, body, foot)


def _summed_columns(shown: Shown, f: FieldDef) -> set[str]:
    """The columns of subform ``f`` the form sums in a rollup (a quote's
    subtotals): those get a total; a sum of unit prices would mean nothing."""
    form = shown.service.form(shown.form_key)[0].form
    return {str(r.setting("field")) for r in form.fields
            if r.type == "rollup" and r.setting("source") == f.key and r.setting("aggregate") == "sum"
            and not r.setting("where")}


def _column_total(rows: Shown, child: FieldDef, ftype: FieldType, value: list[Any], summed: set[str]) -> Markup:
    if child.key not in summed:
        return Markup("")
    try:
        amounts = [Decimal(str(r[child.key])) for r in value if r.get(child.key) not in (None, "")]
    except InvalidOperation:
        return Markup("")
    return Markup("<strong>{}</strong>").format(rows.value(child, sum(amounts, Decimal(0)), ftype))


def _computed(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
    """A formula or rollup looks like a field of its result type."""
    return RENDERERS.get(str(f.setting("result_type") or "number"), text)(shown, f, ftype, value)


def _link(scheme: str) -> Renderer:
    def render(shown: Shown, f: FieldDef, ftype: FieldType, value: Any) -> Markup:
        href = f"{scheme}{value}" if scheme else str(value)
        if not scheme and not re.match(r"^https?://", href, re.IGNORECASE):
            return escape(value)  # only web links are links
        return Markup('<a href="{}" rel="noopener noreferrer">{}</a>').format(href, value)

    return render


RENDERERS: dict[str, Renderer] = {
    "number": _number, "money": _number, "percent": _number,
    "select": _select, "multiselect": _multiselect,
    "member": _named, "department": _named, "relation": _relation,
    "attachment": _files, "image": _files, "signature": _files,
    "rich_text": _rich_text, "textarea": _textarea, "datetime": _datetime, "date": _day, "time": _day,
    "email": _link("mailto:"), "phone": _link("tel:"), "url": _link(""),
    "address": _address, "location": _location, "subform": _subform,
    "formula": _computed, "rollup": _computed,
}


_CSS: dict[str, tuple[AppDef, str, str]] = {}


def options_css(app: AppDef) -> tuple[str, str]:
    """The CSS giving each option colour of ``app`` its class, and its digest
    (worked out once per published version of the app)."""
    cached = _CSS.get(app.key)
    if cached is not None and cached[0] is app:
        return cached[1], cached[2]
    css, digest = _options_css(app)
    _CSS[app.key] = (app, css, digest)
    return css, digest


def _options_css(app: AppDef) -> tuple[str, str]:
    colors: set[str] = set()
    for form in app.forms:
        for f in _all_fields(form.fields):
            for option in options_of(f) if f.type in ("select", "multiselect") else ():
                found = HEX.match(option.color or "")
                if found:
                    colors.add(found.group(1).lower())
    rules = [f".tag.opt-c-{c}{{--opt:#{c}}}" for c in sorted(colors)]
    css = "\n".join(rules) + "\n"
    return css, hashlib.sha256(css.encode()).hexdigest()[:12]


def _all_fields(fields: Iterable[FieldDef]) -> Iterable[FieldDef]:
    for f in fields:
        yield f
        yield from _all_fields(f.fields or ())
