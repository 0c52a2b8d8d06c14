"""HTML sanitizing for rich text, on the standard library's ``html.parser``.

An allow-list, not a block-list: only the tags and attributes below survive;
``script``/``style``/embedded content are dropped with their content, other
unknown tags are dropped but their text kept; ``on*`` attributes, inline
styles beyond a few text properties, and URLs whose scheme is not http(s),
mailto or tel (``javascript:``, ``vbscript:``, ``data:`` except inline images)
are removed. The output is re-serialized from the parse, so it is well formed
and sanitizing it again gives the same text.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "div", "span", "b", "strong", "i", "em", "u", "s", "strike", "del", "ins",
    "sub", "sup", "small", "mark", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li",
    "blockquote", "pre", "code", "a", "img", "table", "thead", "tbody", "tfoot", "tr", "th", "td",
    "caption", "colgroup", "col", "font",
})
VOID_TAGS = frozenset({"br", "hr", "img", "col"})
# Dropped together with everything inside them.
DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "iframe", "object", "embed", "noscript", "template", "textarea",
    "select", "svg", "math", "head", "title", "frame", "frameset", "applet", "audio", "video",
})
GLOBAL_ATTRIBUTES = frozenset({"title", "style", "class", "dir", "lang"})
TAG_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "target", "rel"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "td": frozenset({"colspan", "rowspan", "align"}),
    "th": frozenset({"colspan", "rowspan", "align", "scope"}),
    "col": frozenset({"span", "width"}),
    "ol": frozenset({"start", "type"}),
    "font": frozenset({"color", "size"}),
    "p": frozenset({"align"}),
    "div": frozenset({"align"}),
}
URL_ATTRIBUTES = frozenset({"href", "src"})
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
SAFE_STYLE_PROPERTIES = frozenset({
    "color", "background-color", "text-align", "font-weight", "font-style", "font-size",
    "text-decoration", "text-indent", "line-height", "margin-left", "padding-left",
})
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[a-z0-9+/=\s]+$", re.IGNORECASE)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):", re.IGNORECASE)
_UNSAFE_STYLE_VALUE = re.compile(r"url\s*\(|expression|javascript:|[<>\\]|@import", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


def safe_url(url: str, *, image: bool = False) -> bool:
    """True for http(s)/mailto/tel URLs, relative URLs, and (for images) inline data images."""
    compact = _CONTROL.sub("", url)
    if image and _DATA_IMAGE.match(url.strip()):
        return True
    match = _SCHEME.match(compact)
    if match is None:
        return True  # relative and scheme-relative links
    return match.group(1).lower() in SAFE_SCHEMES


def safe_style(style: str) -> str:
    """Only the declarations of ``SAFE_STYLE_PROPERTIES`` with harmless values."""
    kept = []
    for declaration in style.split(";"):
        name, colon, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip()
        if colon and name in SAFE_STYLE_PROPERTIES and value and not _UNSAFE_STYLE_VALUE.search(value):
            kept.append(f"{name}: {value}")
    return "; ".join(kept)


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=True)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        if self.skipping:
            if tag in DROPPED_WITH_CONTENT and not closed:
                self.skipping.append(tag)
            return
        if tag in DROPPED_WITH_CONTENT:
            if not closed and tag not in VOID_TAGS:
                self.skipping.append(tag)
            return
        if tag not in ALLOWED_TAGS:
            return
        kept = self._attributes(tag, attrs)
        text = "".join(f' {name}="{html.escape(value, quote=True)}"' for name, value in kept)
        self.out.append(f"<{tag}{text}>")
        if tag not in VOID_TAGS and not closed:
            self.open.append(tag)
        elif tag not in VOID_TAGS:
            self.out.append(f"</{tag}>")

    def _attributes(self, tag: str, attrs: list[tuple[str, str | None]]) -> list[tuple[str, str]]:
        allowed = GLOBAL_ATTRIBUTES | TAG_ATTRIBUTES.get(tag, frozenset())
        kept: list[tuple[str, str]] = []
        seen: set[str] = set()
        for name, value in attrs:
            name = name.lower()
            if name in seen or name not in allowed or name.startswith("on"):
                continue
            text = value or ""
            if name in URL_ATTRIBUTES and not safe_url(text, image=(tag == "img")):
                continue
            if name == "style":
                text = safe_style(text)
                if not text:
                    continue
            if name == "target" and text not in ("_blank", "_self"):
                continue
            if name == "rel":
                continue  # set below for links that open a new window
            seen.add(name)
            kept.append((name, text))
        if tag == "a" and ("target", "_blank") in kept:
            kept.append(("rel", "noopener noreferrer"))
        return kept

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag not in self.open:
            return  # a stray end tag
        while self.open:
            top = self.open.pop()
            self.out.append(f"</{top}>")
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(html.escape(data, quote=False))

    def result(self) -> str:
        self.close()
        while self.open:
            self.out.append(f"</{self.open.pop()}>")
        return "".join(self.out)


def sanitize_html(text: str) -> str:
    """``text`` reduced to the allowed subset of HTML, well formed."""
    sanitizer = _Sanitizer()
    sanitizer.feed(text)
    return sanitizer.result()


_BLOCK_BREAK = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6]|/tr|/blockquote|/pre)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def html_to_text(markup: str) -> str:
    """The plain text of sanitized HTML: tags removed, block ends as line breaks."""
    text = _TAG.sub("", _BLOCK_BREAK.sub("\n", markup))
    lines = [" ".join(line.split()) for line in html.unescape(text).split("\n")]
    return "\n".join(line for line in lines if line)
