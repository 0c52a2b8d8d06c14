"""``qiqiao serve``: the web app under granian, a production HTTP server.

Granian parses HTTP and moves bytes in Rust; each worker process imports
``runtime.app:create_app`` and calls it, so the app is configured by the
``QIQIAO_*`` environment (``--database`` sets ``QIQIAO_DATABASE_URL`` for
the workers). Requests run on ``--threads`` Python threads per worker;
``--workers`` processes share the port (several use several cores: the
organization and definitions caches are per process and kept for seconds,
see ``runtime.identity`` and ``runtime.services``). By default there is one
worker per core (``default_workers`` says why; docs/store.md sizes
deployments).

Before the workers start, the command brings the database's system tables
up to date (``engine.store.migrate``: additive, hand-written migrations in
one transaction) and builds the app once in its own process, so a bad
setting or an unreachable database is reported there, in a sentence,
instead of in each worker. Without ``QIQIAO_SECRET_KEY`` a random
key is made for this run and shared by its workers (sessions end at the next
start). It listens on 127.0.0.1:5000 unless told otherwise; on another
address it reminds you to set ``QIQIAO_SECRET_KEY`` and ``QIQIAO_SECURE``
(behind TLS).

Granian rather than waitress or gunicorn: on the API's own benchmark
(``bench/api.py``) a record created over HTTP costs about 0.1 ms less with
granian than with waitress (which parses HTTP and hands each request between
threads in Python), and gunicorn does not run on Windows.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Mapping

import click

APP_FACTORY = "runtime.app:create_app"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def check_app(environ: Mapping[str, str]) -> None:
    """Bring the database's system tables up to date and build the app once
    from ``environ``, as a worker will: a bad setting or an unreachable
    database is one clear sentence here, not a traceback per worker."""
    from engine.store.database import Database
    from engine.store.migrate import head_revision, upgrade_if_behind
    from runtime.app import create_app
    from runtime.config import app_settings

    try:
        settings = app_settings(environ)
        database = Database(settings["DATABASE_URL"])
        before = upgrade_if_behind(database)  # here, once, before any worker starts (workers only check)
        if before is not None:
            click.echo(f"Upgraded the database's system tables from {before or 'nothing'} to {head_revision()}")
        create_app({**settings, "DATABASE": database})
    except Exception as error:  # any failure to start is reported the same way
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise click.ClickException(f"cannot start the app: {reason}") from None
    database.dispose()


def check_port(host: str, port: int) -> None:
    """Refuse, in a sentence, an address that is taken (granian would log and exit)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def serve_environment(database: str | None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment the workers get: ``base`` (the process's), the database
    URL given on the command line, and a secret key for this run when none is set."""
    environ = dict(os.environ if base is None else base)
    if database:
        environ["QIQIAO_DATABASE_URL"] = database
    if not environ.get("QIQIAO_SECRET_KEY"):
        environ["QIQIAO_SECRET_KEY"] = secrets.token_urlsafe(32)
        click.echo("Note: QIQIAO_SECRET_KEY is not set: sessions use a key made for this run and end "
                   "when the server restarts. Set QIQIAO_SECRET_KEY in production.", err=True)
    return environ


# Ctrl+C reaches every process of the group, the workers too; a worker that
# took the signal mid-start can miss the server's own stop and be waited for
# forever (seen with two workers). After this long a worker is killed: its
# requests are over or lost with it, and every write is a transaction.
WORKERS_KILL_SECONDS = 10


def default_threads() -> int:
    """Request threads per worker: enough to overlap database waits, no more
    than granian advises for the cores (twice the cores and one), at most 8."""
    return min(8, 2 * (os.cpu_count() or 1) + 1)


def default_workers() -> int:
    """Worker processes: one per core, on SQLite as on PostgreSQL.

    SQLite takes one writer at a time. Within a process, writers queue in
    turn; between processes the head of each queue polls a file lock every
    half millisecond (``engine.store.contention``), so a second process's
    writer starts about when the first one commits, instead of after
    SQLite's own busy handler, which sleeps up to 100 ms between tries. One
    process per core lets reads and the Python work of requests use every
    core (measured with bench/load.py at 8 clients with an import running:
    2 workers gave 1.5x the requests per second of 1, and a third of its p99)."""
    return max(1, os.cpu_count() or 1)


def wants_worker(choice: bool | None, database_url: str) -> bool:
    """Whether ``serve`` runs the outbox worker in its own process: as asked,
    else on SQLite only. SQLite is the one-machine, one-command set-up (``make
    demo``); a PostgreSQL deployment runs ``qiqiao worker`` processes of its own."""
    if choice is not None:
        return choice
    return database_url.startswith("sqlite")


def serve(host: str, port: int, *, workers: int | None = None, threads: int | None = None,
          database: str | None = None, access_log: bool = False, worker: bool | None = None) -> None:
    """Serve the app until interrupted (Ctrl+C, SIGTERM); on SQLite (or when
    ``worker`` says so) with the outbox worker in a thread of this process."""
    threads = threads or default_threads()
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server


    environ = serve_environment(database)
    check_app(environ)
    workers = workers or default_workers()
    check_port(host, port)
    os.environ.update(environ)  # the workers inherit it
    if host not in LOCAL_HOSTS and environ.get("QIQIAO_SECURE", "").lower() not in ("1", "true", "yes", "on"):
        click.echo("Note: serving beyond this machine; behind HTTPS set QIQIAO_SECURE=1 "
                   "(Secure cookies, HSTS).", err=True)
    from runtime.config import database_url
    from runtime.worker import start_in_thread

    url = database_url(environ.get("QIQIAO_DATABASE_URL"))
    in_process = wants_worker(worker, url)
    click.echo(f"Serving Qiqiao on http://{host}:{port}/ ({workers} worker(s), {threads} thread(s) each; "
               f"{'outbox worker in this process' if in_process else 'no outbox worker: run qiqiao worker'}; "
               "Ctrl+C to stop)")
    logging.getLogger("qiqiao.runtime").info("serving on %s:%s", host, port)
    background = start_in_thread(url, environ) if in_process else None
    try:
        Server(APP_FACTORY, address=host, port=port, interface=Interfaces.WSGI, factory=True,
               workers=workers, blocking_threads=threads, log_level=LogLevels.warning,
               log_access=access_log, workers_kill_timeout=WORKERS_KILL_SECONDS).serve()
    finally:
        if background is not None:
            thread, stop = background
            stop.set()
            thread.join(WORKERS_KILL_SECONDS)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Worker processes  [default: one per core].")
@click.option("--threads", default=None, type=click.IntRange(1, 512),
              help="Request threads per worker  [default: twice the cores and one, at most 8].")
@click.option("--database", default=None, metavar="URL",
              help="Database URL (default: $QIQIAO_DATABASE_URL or instance/qiqiao.sqlite3).")
@click.option("--access-log/--no-access-log", default=False, show_default=True, help="Log every request.")
@click.option("--worker/--no-worker", default=None,
              help="Run the outbox worker in this process  [default: on SQLite only].")
def serve_command(host: str, port: int, workers: int | None, threads: int | None, database: str | None,
                  access_log: bool, worker: bool | None) -> None:
    """Serve the web app and REST API with granian."""
    serve(host, port, workers=workers, threads=threads, database=database, access_log=access_log, worker=worker)
