"""Bilingual text: labels of definitions and messages shown to people.

Every label in a definition is ``{zh: ..., en: ...}``; a plain string means the
same text in both languages. Messages (errors, sentences in migration plans)
are built the same way so that each layer can speak to a user in either
language without a translation catalogue lookup at runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LOCALES = ("zh", "en")
DEFAULT_LOCALE = "en"


@dataclass(frozen=True, slots=True)
class Label:
    """A text in Chinese and English."""

    zh: str
    en: str

    def text(self, locale: str = DEFAULT_LOCALE) -> str:
        """The text for ``locale`` ("zh", "zh-CN", "en", "en-US" ...); English otherwise."""
        return self.zh if locale.lower().startswith("zh") else self.en

    def __str__(self) -> str:
        return self.en

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


def label(value: str | Mapping[str, Any] | Label) -> Label:
    """Normalise a definition's label: a string, a ``{zh, en}`` mapping or a Label.

    A mapping missing one language falls back to the other, so a definition
    written in one language still shows something in the other.
    """
    if isinstance(value, Label):
        return value
    if isinstance(value, str):
        return Label(value, value)
    zh = value.get("zh")
    en = value.get("en")
    if zh is None and en is None:
        raise ValueError("a label needs 'zh' or 'en'")
    return Label(str(zh if zh is not None else en), str(en if en is not None else zh))


@dataclass(frozen=True, slots=True)
class Message:
    """A message template in both languages, formatted with the same arguments.

    ``Message("未知字段 {name}", "Unknown field {name}").format(name="amout")``
    """

    zh: str
    en: str

    def format(self, **kwargs: Any) -> Label:
        return Label(self.zh.format(**kwargs), self.en.format(**kwargs))
