"""The Flask runtime (web UI, REST API, worker, CLI); built on engine.

``runtime.create_app(test_config=None)`` is the composition root (``runtime.app``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: Any = None) -> Flask:
    """The web app (see ``runtime.app.create_app``); imported on first use so
    the CLI starts without loading Flask."""
    from runtime.app import create_app as factory

    return factory(test_config)
