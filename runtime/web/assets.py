"""The files the pages load: our own (``runtime/static/qiqiao``, in git) and
the front-end libraries (``runtime/static/vendor``, copied from
``node_modules`` by ``python -m runtime.vendor``, which ``make`` runs after
``npm ci``; git ignores the copies).

Every file is served from ``/static/<digest>/<name>``, the digest being the
first 12 hex digits of its SHA-256: a page names the exact content it was
made with, so browsers may keep a file for a year (``immutable``) and a new
release is fetched at once. Files are read and hashed once per process (the
folder is small), and gzip-compressed on first request for clients that
accept it. No bundler: each library ships a ready-made minified file.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, request

STATIC = Path(__file__).resolve().parent.parent / "static"

TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon",
         ".woff2": "font/woff2", ".json": "application/json"}
COMPRESSIBLE = frozenset({".js", ".css", ".svg", ".json"})
YEAR = 365 * 24 * 3600


class MissingAsset(RuntimeError):
    """A page names a file that is not there (the vendor copies are made by ``make``)."""


@dataclass
class _File:
    body: bytes
    digest: str
    gzipped: bytes | None = None


@dataclass
class Assets:
    """The static files of one process, by name (``vendor/htmx.min.js``)."""

    root: Path
    files: dict[str, _File] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, root: Path = STATIC) -> Assets:
        assets = cls(root)
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in TYPES:
                body = path.read_bytes()
                name = path.relative_to(root).as_posix()
                assets.files[name] = _File(body, hashlib.sha256(body).hexdigest()[:12])
        return assets

    def url(self, name: str) -> str:
        found = self.files.get(name)
        if found is None:
            raise MissingAsset(f"static file {name!r} is missing: run `make` (npm ci and "
                               f"python -m runtime.web.assets) to copy the front-end libraries")
        return f"/static/{found.digest}/{name}"

    def gzipped(self, found: _File) -> bytes:
        if found.gzipped is None:
            with self._lock:
                found.gzipped = gzip.compress(found.body, compresslevel=9, mtime=0)
        return found.gzipped

    def response(self, digest: str, name: str) -> Response:
        found = self.files.get(name)
        if found is None:
            abort(404)
        suffix = Path(name).suffix
        body = found.body
        headers = {"Content-Type": TYPES[suffix], "Vary": "Accept-Encoding", "ETag": f'"{found.digest}"'}
        # An old digest gets today's file, but must not be kept as if it were the old one.
        headers["Cache-Control"] = (f"public, max-age={YEAR}, immutable" if digest == found.digest
                                    else "no-cache")
        if request.if_none_match.contains(found.digest):
            return Response(status=304, headers=headers)
        if suffix in COMPRESSIBLE and request.accept_encodings["gzip"]:
            body = self.gzipped(found)
            headers["Content-Encoding"] = "gzip"
        return Response(body, headers=headers)


bp = Blueprint("assets", __name__)


@bp.get("/static/<digest>/<path:name>")
def static_file(digest: str, name: str) -> Response:
    from runtime.web.context import current_assets

    return current_assets().response(digest, name)


def register_assets(app: Flask) -> Assets:
    assets = app.extensions["qiqiao.assets"] = Assets.load()
    app.register_blueprint(bp)
    return assets
