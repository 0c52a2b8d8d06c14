"""HTML to PDF: a real PDF with CJK text, and a document that can reach
nothing outside itself — checked against a real HTTP server on loopback."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from pypdf import PdfReader

from engine.printing.pdf import DataOnlyFetcher, html_to_pdf

# A 1x1 transparent GIF.
DOT = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


class Recorder(BaseHTTPRequestHandler):
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Recorder.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def text_of(pdf: bytes) -> str:
    return "".join("".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_pdf_of_chinese_text_on_its_paper() -> None:
    html = ('<html><body style="font-family: \'Noto Sans CJK SC\', sans-serif">'
            "<h1>报价单 QT202612040001</h1><p>壹仟贰佰叁拾肆元伍角陆分</p></body></html>")
    pdf = html_to_pdf(html, "A5 landscape")
    assert pdf.startswith(b"%PDF")
    assert "报价单QT202612040001" in text_of(pdf) and "壹仟贰佰叁拾肆元伍角陆分" in text_of(pdf)
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 420)  # A5, landscape
    fonts = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"]
    # The CJK font the CSS names is embedded (a subset): not a fallback's empty boxes.
    assert {str(f.get_object()["/BaseFont"]).split("+")[1] for f in fonts.values()} == {
        "Noto-Sans-CJK-SC", "Noto-Sans-CJK-SC-Bold"}  # the heading is bold


def test_a_document_reaches_no_url_and_no_file(server: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: blue }", encoding="utf-8")
    html = (f'<html><head><link rel="stylesheet" href="{server}/linked.css">'
            f'<style>@import url("{server}/imported.css"); '
            f'body {{ background: url("{server}/background.png") }}'
            f'@font-face {{ font-family: X; src: url("{server}/font.woff") }}</style>'
            f'<link rel="stylesheet" href="file://{secret}"></head>'
            f'<body style="font-family: X"><img src="{server}/image.png"><img src="{DOT}">'
            f'<img src="/etc/hostname"><img src="file:///etc/passwd">text</body></html>')
    fetcher = DataOnlyFetcher()
    pdf = html_to_pdf(html, fetcher=fetcher)
    assert pdf.startswith(b"%PDF") and "text" in text_of(pdf)
    assert Recorder.paths == []  # the server never heard from the document
    refused = set(fetcher.refused)
    assert {f"{server}/linked.css", f"{server}/imported.css", f"{server}/image.png",
            f"file://{secret}", "file:///etc/passwd"} <= refused
    assert not any(url.startswith("data:") for url in refused)
