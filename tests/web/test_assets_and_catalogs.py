"""Static files by content hash, compressed, cached; the zh catalog covers every UI string."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from flask.testing import FlaskClient

from runtime.web.assets import Assets
from runtime.web.errors import TITLES
from runtime.web.i18n import catalog

ROOT = Path(__file__).resolve().parents[2]


def test_a_static_file_is_served_by_its_digest_for_a_year(client: FlaskClient) -> None:
    page = client.get("/auth/login").get_data(as_text=True)
    url = re.search(r'src="(/static/[0-9a-f]{12}/vendor/htmx\.min\.js)"', page)
    assert url, "the page names htmx by its digest"
    plain = client.get(url.group(1))
    assert plain.status_code == 200 and plain.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert plain.headers["Content-Type"].startswith("text/javascript")
    packed = client.get(url.group(1), headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data and len(packed.data) < len(plain.data) / 2
    again = client.get(url.group(1), headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304


def test_an_old_digest_gets_todays_file_but_not_for_keeps(client: FlaskClient) -> None:
    response = client.get("/static/000000000000/qiqiao/app.css")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-cache"
    assert client.get("/static/000000000000/qiqiao/nothing.css").status_code == 404
    assert client.get("/static/000000000000/../app.py").status_code == 404


def test_the_digest_changes_with_the_content(tmp_path: Path) -> None:
    (tmp_path / "a.css").write_text("a{}")
    first = Assets.load(tmp_path).url("a.css")
    (tmp_path / "a.css").write_text("a{color:red}")
    assert Assets.load(tmp_path).url("a.css") != first


def test_every_ui_string_has_a_chinese_translation() -> None:
    method_map = [("runtime/web/**.py", "python"), ("runtime/templates/**.html", "jinja2")]
    found = {message for _file, _line, message, _comments, _context in
             extract_from_dir(str(ROOT), method_map, options_map={"runtime/templates/**.html":
                                                                  {"extensions": "jinja2.ext.i18n"}})}
    ids = {m[0] if isinstance(m, tuple) else m for m in found} | set(TITLES.values())
    zh = catalog("zh")
    missing = sorted(i for i in ids if i not in zh)
    assert missing == [], f"add these to a .po under runtime/translations/zh: {missing}"
