"""``qiqiao serve``: the web app under waitress, a production WSGI server.

It listens on 127.0.0.1:5000 unless told otherwise; on another address it
reminds you to set ``QIQIAO_SECRET_KEY`` and ``QIQIAO_SECURE`` (behind TLS).
Works both as ``qiqiao serve`` and on a Flask app's own CLI (``flask serve``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from flask import Flask


def app_for_command(database: str | None = None) -> Flask:
    """The app a command runs on: the Flask CLI's own (tests' ``runner``),
    else a new one from the environment (``qiqiao ...``)."""
    from flask.cli import ScriptInfo

    from runtime.app import create_app

    info = click.get_current_context().find_object(ScriptInfo)
    if info is not None:
        return info.load_app()
    return create_app({"DATABASE_URL": database} if database else None)


def serve_app(app: Flask, host: str, port: int, threads: int) -> None:
    import waitress

    if host not in ("127.0.0.1", "localhost", "::1") and not app.config.get("SECURE"):
        click.echo("Note: serving beyond this machine; behind HTTPS set QIQIAO_SECURE=1 "
                   "(Secure cookies, HSTS).", err=True)
    click.echo(f"Serving Qiqiao on http://{host}:{port}/ (Ctrl+C to stop)")
    waitress.serve(app, host=host, port=port, threads=threads, ident="qiqiao")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int, help="Worker threads.")
@click.option("--database", default=None, metavar="URL",
              help="Database URL (default: $QIQIAO_DATABASE_URL or instance/qiqiao.sqlite3).")
def serve_command(host: str, port: int, threads: int, database: str | None) -> None:
    """Serve the web app and REST API with waitress."""
    serve_app(app_for_command(database), host, port, threads)
