"""Rich text sanitizing: whatever comes in, what goes out is safe and stable."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.fields.sanitize import html_to_text, safe_style, safe_url, sanitize_html

PIECES = st.sampled_from([
    "<p>", "</p>", "<b>", "</b>", "<script>", "</script>", "<a href='javascript:x()'>", "</a>",
    "<img src=x onerror=alert(1)>", "<div onclick=\"x\">", "</div>", "<style>", "</style>",
    "<iframe>", "</iframe>", "<a href=\"https://ok.cn\" target=_blank>", "<span style='color:red;behavior:x'>",
    "</span>", "<!-- c -->", "<br/>", "&lt;", "&amp;", "\"", "'", "<", ">", "text", "文字", " ", "<svg><script>",
    "<ul><li>", "</li></ul>", "<table><tr><td colspan=2>", "</td></tr></table>", "<p/>", "<SCRIPT>",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=20).map("".join))
def test_sanitized_html_is_safe_and_stable(markup: str) -> None:
    clean = sanitize_html(markup)
    lowered = clean.lower()
    assert "<script" not in lowered and "<iframe" not in lowered and "<style" not in lowered
    assert "javascript:" not in lowered
    assert not re.search(r"<[^>]*\son\w+\s*=", lowered)
    assert sanitize_html(clean) == clean
    html_to_text(clean)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_survives(text: str) -> None:
    clean = sanitize_html(text)
    assert sanitize_html(clean) == clean


def test_urls() -> None:
    assert safe_url("https://example.com/a?b=1")
    assert safe_url("/relative/path")
    assert safe_url("mailto:a@b.cn")
    assert not safe_url("javascript:alert(1)")
    assert not safe_url(" java\tscript:alert(1)")
    assert not safe_url("vbscript:x")
    assert not safe_url("data:text/html;base64,PHNjcmlwdD4=")
    assert safe_url("data:image/png;base64,iVBORw0KGgo=", image=True)
    assert not safe_url("data:image/png;base64,iVBORw0KGgo=")


def test_styles() -> None:
    assert safe_style("color: red; position: fixed; background-color:#fff") == "color: red; background-color: #fff"
    assert safe_style("color: expression(alert(1))") == ""
    assert safe_style("font-size: 12px; background-color: url(x)") == "font-size: 12px"
