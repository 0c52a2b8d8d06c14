"""CSV cells no spreadsheet evaluates, and back (CWE-1236, formula injection).

A CSV cell that begins with ``= + - @``, tab or carriage return is a formula
to Excel and its kin: anyone who can write a text field could plant
``=HYPERLINK("http://evil","x")`` in the spreadsheet of whoever exports it.
``neutralized`` puts a ``'`` in front, as OWASP's CSV-injection page
recommends; ``restored`` takes it off when the file is imported again. The
pair is exact: ``restored(neutralized(text)) == text`` for every text, one
that already begins with ``'`` included. (xlsx needs neither: its text cells
are written as strings.)

``first_line_not_utf8`` finds where a file stops being UTF-8 text, so such a
file is refused before any of it is imported.
"""

from __future__ import annotations

import codecs
import re
from typing import IO

ESCAPE = "'"
FORMULA_STARTS = "=+-@\t\r"
_ESCAPED_NEXT = FORMULA_STARTS + ESCAPE
# Text that is just a signed number: a spreadsheet reads it as that number, not a formula.
_PLAIN_NUMBER = re.compile(r"[+-](?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def neutralized(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet evaluates: ``'`` in front when
    it begins like a formula, or when it begins with ``'`` and a character
    that ``restored`` would otherwise take for a neutralized cell. Signed
    numbers (``-12.5``) are left as they are: they read as numbers."""
    first = text[:1]
    if not first:
        return text
    if first in FORMULA_STARTS:
        if first in "+-" and _PLAIN_NUMBER.fullmatch(text):
            return text
        return ESCAPE + text
    if first == ESCAPE and len(text) > 1 and text[1] in _ESCAPED_NEXT:
        return ESCAPE + text
    return text


def restored(cell: str) -> str:
    """The text that ``neutralized`` made ``cell`` from."""
    if cell[:1] == ESCAPE and len(cell) > 1 and cell[1] in _ESCAPED_NEXT:
        return cell[1:]
    return cell


def first_line_not_utf8(raw: IO[bytes]) -> int | None:
    """The number of the first line of ``raw`` that is not UTF-8, or None
    (read to the end, a megabyte at a time)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    while chunk := raw.read(1 << 20):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            return line + chunk[:max(exc.start, 0)].count(b"\n")
        line += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return line
    return None
