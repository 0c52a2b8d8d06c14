"""The application factory: ``create_app(test_config=None)`` (DESIGN §11).

The composition root: it reads the configuration (``QIQIAO_*`` from the
environment, overridden by ``test_config``), opens one ``Database`` and one
``EventBus``, and wires (through ``engine.composition.compose``, shared
with the CLI) the organization, the record services (one per installed
app), then the error handlers, the security headers and the
blueprints: ``auth`` (browser sign-in), the web pages (``runtime.web``) and
``api`` (``/api/v1``).

``test_config`` may carry ready-made objects: ``DATABASE`` (a ``Database``),
``CLOCK`` (a ``Clock``) — what tests use to run the app on a database of
each kind and at a fixed time.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.composition import compose
from engine.core.clock import Clock, SystemClock
from engine.fields import FIELD_TYPES
from engine.records.import_jobs import ImportJobs
from engine.store.database import Database
from engine.store.files import LocalFolderStorage
from engine.store.migrate import require_current
from runtime.api import build_api
from runtime.api.hooks import register_hooks
from runtime.auth import register_auth
from runtime.config import app_settings, parse_rate
from runtime.errors import register_error_handlers, retry_transient
from runtime.identity import Identities
from runtime.jsonio import QiqiaoJSONProvider
from runtime.ratelimit import SlidingWindow
from runtime.routing import QiqiaoFlask
from runtime.security import register_security
from runtime.services import Services
from runtime.web import register_web

log = logging.getLogger("qiqiao.runtime")


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """A Qiqiao web app: the REST API and browser sign-in."""
    app = QiqiaoFlask("runtime", instance_relative_config=True, static_folder=None)
    app.json_provider_class = QiqiaoJSONProvider
    app.json = QiqiaoJSONProvider(app)
    app.config.from_mapping(app_settings())
    if test_config is not None:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        # Sessions signed with a key that changes on every start end at every
        # restart, and differ between processes: fine for trying things out only.
        app.config["SECRET_KEY"] = secrets.token_urlsafe(32)
        log.warning("QIQIAO_SECRET_KEY is not set: using a random key; sessions end when the server "
                    "restarts. Set QIQIAO_SECRET_KEY in production.")
    # Secure mode implies Secure cookies (a config may also set the cookie flag alone).
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config.get("SESSION_COOKIE_SECURE") or app.config.get("SECURE"))

    database = app.config.get("DATABASE")
    if not isinstance(database, Database):
        database = Database(app.config["DATABASE_URL"])
    require_current(database)  # system tables behind the code: refuse now, not request by request
    clock: Clock = app.config.get("CLOCK") or SystemClock()
    limit, window = parse_rate(str(app.config["LOGIN_RATE"]))
    engine = compose(database, clock=clock, field_types=FIELD_TYPES,
                     check_seconds=float(app.config["DEFINITIONS_CHECK_SECONDS"]))
    files = LocalFolderStorage(app.config["FILES"], database, clock=clock,
                               max_size=int(app.config["MAX_CONTENT_LENGTH"]))
    app.extensions["qiqiao"] = Services.of(
        engine, Identities(engine.org, clock, ttl=float(app.config["AUTH_CACHE_SECONDS"])),
        SlidingWindow(limit, window),
        SlidingWindow(*parse_rate(str(app.config["TOKEN_FAIL_RATE"]))),
        files,
        # Import jobs run in threads of this process; a job of a process that died is failed when read.
        ImportJobs(database, engine.records.get, files, clock=clock,
                   stale_seconds=float(app.config["IMPORT_STALE_SECONDS"])),
    )

    # Jobs left running by a server that stopped are failed now, not when someone looks.
    app.extensions["qiqiao"].imports.reap()

    proxies = int(app.config.get("PROXIES") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]

    register_error_handlers(app)
    register_security(app)
    register_auth(app)
    register_web(app)
    app.register_blueprint(build_api())
    register_hooks(app, engine.rules)
    retry_transient(app, database)
    _register_commands(app)
    return app


def _register_commands(app: Flask) -> None:
    from runtime.demo import demo_command
    from runtime.serve import serve_command

    app.cli.add_command(serve_command)
    app.cli.add_command(demo_command)
