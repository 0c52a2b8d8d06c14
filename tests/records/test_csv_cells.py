"""Neutralizing CSV cells (engine.records.csv_cells): inert for a
spreadsheet, and exactly reversible."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.records.csv_cells import neutralized, restored


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'=x", "''=x"),  # already begins with the escape: escaped again, so it reads back
        ("''", "'''"),
        ("'plain", "'plain"),  # nothing restored would take off
        ("'", "'"),
        ("", ""),
        ("-5", "-5"),  # signed numbers stay numbers
        ("+7.5", "+7.5"),
        ("-1e3", "-1e3"),
        ("-", "'-"),
        ("a=1", "a=1"),
        ("客户=1", "客户=1"),
    ],
)
def test_cells_that_begin_like_a_formula_get_a_quote(text: str, cell: str) -> None:
    assert neutralized(text) == cell
    assert restored(cell) == text


@given(st.text(alphabet=st.sampled_from("=+-@\t\r'a1. "), max_size=6) | st.text(max_size=20))
def test_restoring_a_neutralized_cell_gives_the_text_back(text: str) -> None:
    cell = neutralized(text)
    assert restored(cell) == text
    # Inert: a cell that begins like a formula is a plain signed number, or quoted.
    if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        assert cell[0] in "+-" and set(cell) <= set("0123456789.eE+-")
        float(cell)  # a number, which a spreadsheet reads as one
