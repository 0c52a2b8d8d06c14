"""Problems found in a definition package, named by file and JSON path.

Every check of the loader reports a ``DefinitionIssue``; a package with any
issue raises one ``PackageError`` carrying all of them, so an app builder
fixes a package in one round instead of one error at a time. An issue reads

    forms/quote.yaml: fields[3].target: form 'prodcut' does not exist — did you mean 'product'?
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.core.errors import DefinitionError
from engine.core.i18n import Label

PathPart = str | int
Path = tuple[PathPart, ...]


@dataclass(frozen=True)
class DefinitionIssue:
    """One problem: the file (relative to the package, ``/``-separated), the
    JSON path inside it (``fields[3].target``, empty for the whole file), what
    is wrong in both languages, and the line when only the line is known
    (a YAML syntax error)."""

    file: str
    json_path: str
    message: Label
    line: int | None = None

    def text(self, locale: str = "en") -> str:
        message = self.message.text(locale)
        if self.json_path:
            return f"{self.file}: {self.json_path}: {message}"
        if self.line is not None:
            where = f"第 {self.line} 行" if locale.lower().startswith("zh") else f"line {self.line}"
            return f"{self.file}: {where}: {message}"
        return f"{self.file}: {message}"

    def __str__(self) -> str:
        return self.text("en")

    def as_dict(self, locale: str = "en") -> dict[str, Any]:
        return {
            "file": self.file,
            "path": self.json_path,
            "line": self.line,
            "message": self.message.text(locale),
        }


class PackageError(DefinitionError):
    """A package failed to load; ``issues`` lists every problem found, in file order."""

    code = "package_error"

    def __init__(self, package: str, issues: Sequence[DefinitionIssue]) -> None:
        self.package = package
        self.issues = list(issues)
        count = len(self.issues)
        message = Label(
            f"应用包 {package} 有 {count} 个问题：\n" + format_issues(self.issues, "zh"),
            f"package {package} has {count} problem{'s' if count != 1 else ''}:\n"
            + format_issues(self.issues, "en"),
        )
        super().__init__(message, details=[issue.as_dict() for issue in self.issues])

    def as_dict(self, locale: str = "en") -> dict[str, Any]:
        body = super().as_dict(locale)
        body["details"] = [issue.as_dict(locale) for issue in self.issues]
        return body


def format_issues(issues: Iterable[DefinitionIssue], locale: str = "en") -> str:
    """The issues one per line, for ``qiqiao app validate`` and error pages."""
    return "\n".join(issue.text(locale) for issue in issues)


def json_path(path: Iterable[PathPart]) -> str:
    """``("fields", 3, "target")`` -> ``fields[3].target``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def path_sort_key(text: str) -> tuple[tuple[int, int, str], ...]:
    """Orders JSON paths as a reader expects: ``fields[2]`` before ``fields[10]``."""
    parts = re.findall(r"\[(\d+)\]|\['(?:[^']*)'\]|([^.\[\]]+)", text)
    return tuple((0, int(index), "") if index else (1, 0, name) for index, name in parts)


def did_you_mean(value: str, candidates: Iterable[str]) -> Label:
    """`` — did you mean 'x'?`` when a candidate looks like ``value``, else empty."""
    close = difflib.get_close_matches(value, sorted(set(candidates)), n=1, cutoff=0.6)
    if not close:
        return Label("", "")
    return Label(f"，是否指 '{close[0]}'？", f" — did you mean '{close[0]}'?")


def join(*parts: Label) -> Label:
    return Label("".join(p.zh for p in parts), "".join(p.en for p in parts))
