"""HTML to PDF through WeasyPrint, with no way out of the document.

A print template is written by an app builder, not by us: its HTML may
name any URL. The fetcher refuses every one but ``data:`` (the pictures
the renderer embeds from the file storage), so a template can neither read
the server's files nor reach the network, not even through CSS. Fonts come
from the system (fontconfig): the CRM's templates ask for "Noto Sans CJK SC"
(Debian's fonts-noto-cjk) and fall back to any CJK font installed.
"""

from __future__ import annotations

from typing import Any

from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher

ALLOWED_SCHEMES = frozenset({"data"})


class DataOnlyFetcher(URLFetcher):  # type: ignore[misc]
    """Fetches ``data:`` URIs and refuses everything else; ``refused`` lists
    what the document asked for in vain."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=ALLOWED_SCHEMES, allow_redirects=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> Any:
        if url.split(":", 1)[0].lower() not in ALLOWED_SCHEMES:
            self.refused.append(url)
            raise ValueError(f"print templates may not load {url[:200]}")
        return super().fetch(url, headers)


def html_to_pdf(html: str, page_size: str = "A4 portrait", fetcher: DataOnlyFetcher | None = None) -> bytes:
    """The PDF of ``html``, on paper of ``page_size`` (a CSS ``@page`` size)."""
    fetcher = fetcher or DataOnlyFetcher()
    # No base URL: a relative link resolves to nothing rather than to a folder of the server.
    document = HTML(string=html, base_url=None, url_fetcher=fetcher)
    page = CSS(string=f"@page {{ size: {page_size}; }}", url_fetcher=fetcher)
    pdf: bytes = document.write_pdf(stylesheets=[page])
    return pdf
