"""Printing a record: its app's print template, rendered for one viewer.

``PrintService(records, files).render(form, record_id, template, actor=...,
locale=..., time_zone=...)`` reads the record with the actor's rights (a
record outside their scope is ``NotFoundError``; fields they may not read
are simply absent), builds the template's context and renders it in the
sandboxed, autoescaping environment of ``print_templates``. ``pdf`` turns
the same HTML into PDF (``engine.printing.pdf``).

The context:

- ``record.<field>``: display text (``¥1,234.50``, option labels, names and
  titles, moments in the viewer's zone); a subform is a list of rows of
  display texts;
- ``values.<field>``: the values themselves, for filters
  (``values.amount|capital``);
- ``fields.<field>``: the field's label in the viewer's language;
- ``images.<field>``: an image field's pictures, ``[{name, src}]`` with a
  ``data:`` URI read from the file storage;
- ``related("payment_plan", "contract")``: the records of another form that
  point at this one (those the actor may read; none when they may read none);
- ``app``, ``form``, ``template`` (labels), ``now`` and ``today`` (in the
  viewer's zone), ``locale``, ``time_zone``, ``page_size`` (``A4 portrait``),
  and ``t("中文", "English")`` for the template's own words.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import TemplateError

from engine.core.clock import DEFAULT_TIMEZONE
from engine.core.errors import DefinitionError, NotFoundError, PermissionDenied, ValidationError
from engine.core.i18n import Label
from engine.definitions.model import PrintTemplateDef
from engine.definitions.print_templates import compiled_template, templates_of
from engine.fields.files import ImageType
from engine.printing.values import FieldValues, RecordDisplay, raw_values
from engine.records.access import ReadGuard
from engine.records.actor import Actor
from engine.records.columns import system_field
from engine.records.service import SYSTEM, RecordService
from engine.store.files import FileStorage

# Pictures a print embeds: raster formats only (an SVG could name outside resources).
EMBEDDED_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
MAX_EMBEDDED_BYTES = 20 * 1024 * 1024
MAX_RELATED = 500
LOCALES = ("zh", "en")


class PrintService:
    """Renders the records of one app through its print templates."""

    def __init__(self, records: RecordService, files: FileStorage | None = None) -> None:
        self.records = records
        self.files = files

    def templates(self, form_key: str) -> list[PrintTemplateDef]:
        """The form's print templates (NotFoundError for an unknown form)."""
        self.records.form(form_key)
        return templates_of(self.records.app.prints, form_key)

    def template(self, form_key: str, key: str) -> PrintTemplateDef:
        """One of the form's print templates, or NotFoundError naming those it has."""
        found = next((p for p in self.templates(form_key) if p.key == key), None)
        if found is None:
            form = self.records.form(form_key)[0].form
            known = ", ".join(p.key for p in self.templates(form_key)) or "-"
            raise NotFoundError(Label(f"{form.label.zh}没有打印模板 {key}（有：{known}）",
                                      f"{form.label.en} has no print template {key} (it has: {known})"),
                                details={"form": form_key, "template": key})
        return found

    def render(self, form_key: str, record_id: int, template_key: str, *, actor: Actor = SYSTEM,
               locale: str = "zh", time_zone: str | None = None) -> str:
        """The record printed through the template, as HTML."""
        template = self.template(form_key, template_key)
        context = self.context(form_key, record_id, template, actor=actor, locale=locale, time_zone=time_zone)
        try:
            return compiled_template(template.source).render(context)
        except (TemplateError, ValueError, TypeError, ArithmeticError, LookupError) as exc:
            raise DefinitionError(Label(f"打印模板 {template.key} 无法生成：{exc}",
                                        f"The print template {template.key} could not be rendered: {exc}"),
                                  details={"template": template.key}) from None

    def pdf(self, form_key: str, record_id: int, template_key: str, *, actor: Actor = SYSTEM,
            locale: str = "zh", time_zone: str | None = None) -> bytes:
        """The record printed through the template, as PDF."""
        from engine.printing.pdf import html_to_pdf  # WeasyPrint loads slowly: only when asked for

        html = self.render(form_key, record_id, template_key, actor=actor, locale=locale, time_zone=time_zone)
        return html_to_pdf(html, page_size(self.template(form_key, template_key)))

    def context(self, form_key: str, record_id: int, template: PrintTemplateDef, *, actor: Actor,
                locale: str, time_zone: str | None) -> dict[str, Any]:
        """What the template sees (see the module docstring)."""
        locale = check_locale(locale)
        zone = zone_named(time_zone)
        service = self.records
        record = service.get(form_key, record_id, actor=actor)
        compiled, _ = service.form(form_key)
        guard = actor.policy(service, form_key).guard()
        display = RecordDisplay(service, form_key, locale, zone, guard)
        with service.reading() as conn:
            shown = display.shown(conn, [record])[0]
        labels = {key: f.label.text(locale) for key in record
                  if (f := compiled.form.field(key) or system_field(key)) is not None}
        now = service.clock.now().astimezone(zone)
        return {
            "record": shown,
            "values": raw_values(compiled, record, zone),
            "fields": FieldValues(labels),
            "images": FieldValues(self._images(compiled.types, record)),
            "related": self._related(record_id, actor, locale, zone, guard),
            "app": service.app.label.text(locale),
            "form": compiled.form.label.text(locale),
            "template": template.label.text(locale),
            "now": now,
            "today": now.date(),
            "locale": locale,
            "time_zone": zone.key,
            "page_size": page_size(template),
            "t": lambda zh, en: zh if locale == "zh" else en,
        }

    def _images(self, types: dict[str, Any], record: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
        out: dict[str, list[dict[str, str]]] = {}
        budget = MAX_EMBEDDED_BYTES
        for key, ftype in types.items():
            if not isinstance(ftype, ImageType) or key not in record or self.files is None:
                continue
            pictures = []
            for item in ftype.files_in(record[key]):
                if item.get("content_type") not in EMBEDDED_TYPES or int(item.get("size") or 0) > budget:
                    continue
                try:
                    with self.files.open(str(item["id"])) as stream:
                        data = stream.read(budget + 1)
                except NotFoundError:
                    continue
                budget -= len(data)
                encoded = base64.b64encode(data).decode("ascii")
                pictures.append({"name": str(item.get("name", "")),
                                 "src": f"data:{item['content_type']};base64,{encoded}"})
            out[key] = pictures
        return out

    def _related(self, record_id: int, actor: Actor, locale: str, zone: ZoneInfo,
                 guard: ReadGuard | None) -> Callable[[str, str], list[FieldValues]]:
        service = self.records

        def related(form_key: str, field_key: str) -> list[FieldValues]:
            try:
                relation = service.form(form_key)[0].form.field(field_key)
                many = relation is not None and bool(relation.setting("multiple", False))
                match = {"field": field_key, "op": "has_any", "value": [record_id]} if many \
                    else {"field": field_key, "op": "eq", "value": record_id}
                page = service.list(form_key, filter=match, sort=["id"], limit=MAX_RELATED, actor=actor)
            except (PermissionDenied, NotFoundError, ValidationError):
                return []  # what they may not read is not printed
            display = RecordDisplay(service, form_key, locale, zone, guard)
            with service.reading() as conn:
                return display.shown(conn, page["records"])

        return related


def page_size(template: PrintTemplateDef) -> str:
    """The CSS ``@page`` size of a template: ``A4 portrait``."""
    return f"{template.paper} {template.orientation}"


def check_locale(locale: str) -> str:
    short = locale.split("-")[0].split("_")[0].lower()
    if short not in LOCALES:
        message = Label(f"语言应为 zh 或 en，而不是 {locale}", f"The language must be zh or en, not {locale}")
        raise ValidationError(message, field_errors={"locale": [message]})
    return short


def zone_named(name: str | None) -> ZoneInfo:
    """The viewer's time zone (IANA name), the deployment's by default."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        message = Label(f"未知的时区 {name}（如 Asia/Shanghai）", f"Unknown time zone {name} (e.g. Asia/Shanghai)")
        raise ValidationError(message, field_errors={"tz": [message]}) from None

