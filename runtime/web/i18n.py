"""The pages' own words, and how values are shown to the reader.

UI strings are written in English in the templates and the views
(``{{ _("Sign in") }}``, ``gettext("...")``, ``N_("...")`` to mark a string
translated later) and translated by the gettext catalogs
``runtime/translations/zh/LC_MESSAGES/*.po`` (kept in git, one file per area
of the UI so parallel work does not collide; ``pybabel extract -F babel.cfg``
finds new strings). The catalogs are read from the ``.po`` files at start, so
there is no compiled ``.mo`` to forget to build.
Definition labels are already bilingual (``Label``): ``label_text`` picks the
reader's language.

The reader's language: their own choice (kept on their account), else, before
they sign in, the language they picked on the sign-in page (a cookie), else
their browser's. Times are shown in the reader's time zone (their own, else
the deployment's), as ``2026-12-04 15:41``: the same order in both languages.
"""

from __future__ import annotations

import datetime as dt
import decimal
import zoneinfo
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from flask import g, has_request_context, request

from engine.core.i18n import Label

CATALOGS = Path(__file__).resolve().parent.parent / "translations"
LANGUAGES = {"zh": "中文", "en": "English"}
HTML_LANG = {"zh": "zh-CN", "en": "en"}
LANGUAGE_COOKIE = "qq_lang"


@cache
def catalog(language: str) -> dict[str, Any]:
    """msgid -> translation (a string, or a tuple of plural forms) of ``language``,
    from every ``.po`` file of the language."""
    found: dict[str, Any] = {}
    for path in sorted((CATALOGS / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            po = read_po(handle, locale=language)
        for message in po:
            if not message.id or message.fuzzy:
                continue
            key = str(message.id[0] if isinstance(message.id, (tuple, list)) else message.id)
            if isinstance(message.string, tuple):
                if all(message.string):
                    found[key] = message.string
            elif message.string:
                found[key] = message.string
    return found


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs; ``gettext`` translates it where it is shown."""
    return message


def current_language() -> str:
    """zh or en: what the page is being shown in."""
    if has_request_context():
        chosen = g.get("ui_language")
        if chosen is None:
            chosen = g.ui_language = browser_language()
        return str(chosen)
    return "zh"


def browser_language() -> str:
    picked = request.cookies.get(LANGUAGE_COOKIE)
    if picked in LANGUAGES:
        return str(picked)
    for value, _quality in request.accept_languages:
        primary = value.split("-")[0].split("_")[0].lower()
        if primary in LANGUAGES:
            return primary
    return "zh"


def gettext(message: str, **variables: Any) -> str:
    text = catalog(current_language()).get(message, message)
    if isinstance(text, tuple):
        text = text[0]
    return str(text) % variables if variables else str(text)


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    forms = catalog(current_language()).get(singular)
    if isinstance(forms, tuple):
        text = forms[0] if len(forms) == 1 or n == 1 else forms[1]
    else:
        text = singular if n == 1 else plural
    return str(text) % _Kept({"num": n, **variables})


class _Kept(dict[str, Any]):
    """Placeholders not given stay as they are: Jinja's ``ngettext`` calls
    this one without the template's variables and fills them in after."""

    def __missing__(self, key: str) -> str:
        return f"%({key})s"


def label_text(value: Label | str | None) -> str:
    """A definition's bilingual label in the reader's language."""
    if value is None:
        return ""
    if isinstance(value, Label):
        return value.text(current_language())
    return str(value)


# --- time and numbers ----------------------------------------------------------------
def reader_zone() -> zoneinfo.ZoneInfo:
    zone = g.get("ui_zone") if has_request_context() else None
    return zone if isinstance(zone, zoneinfo.ZoneInfo) else zoneinfo.ZoneInfo("Asia/Shanghai")


def format_moment(value: dt.datetime | str | None, *, seconds: bool = False) -> str:
    """A moment in the reader's zone (naive moments are UTC, as the store keeps them)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(reader_zone())
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def format_day(value: dt.date | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value[:10]
    return value.strftime("%Y-%m-%d")


def format_number(value: Any, precision: int | None = None) -> str:
    """Grouped digits in the reader's locale, with ``precision`` decimals when given."""
    if value is None or value == "":
        return ""
    number = decimal.Decimal(str(value))
    pattern = "#,##0" + ("." + "0" * precision if precision else "") if precision is not None else None
    locale = "zh_CN" if current_language() == "zh" else "en_US"
    return str(format_decimal(number, format=pattern, locale=locale, decimal_quantization=True))
