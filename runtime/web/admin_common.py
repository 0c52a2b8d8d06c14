"""What the administration pages share: who may see them, the reader as
the organization service's actor, one transaction for a page's several
steps, and the engine's messages in the reader's language.

The guards only decide what to *show*; the organization service itself
checks every change (``actor_id``) and writes the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import abort

from engine.core.errors import QiqiaoError, ValidationError
from engine.org.service import OrgService
from runtime.errors import request_locale
from runtime.web.context import identity, services


def may_administer() -> bool:
    """Whether the reader may open the administration pages at all (an admin,
    or an owner of some app, for that app's roles)."""
    principal = identity().principal
    return principal.is_admin or bool(principal.owned_apps)


def require_admin() -> None:
    if not identity().principal.is_admin:
        abort(403)


def require_manager(app_key: str | None) -> None:
    """An admin, or for an app's own roles, an owner of that app."""
    if not identity().principal.manages(app_key):
        abort(403)


def actor() -> int:
    """The reader, as the organization service's ``actor_id``."""
    return identity().user_id


def org() -> OrgService:
    return services().org  # type: ignore[no-any-return]


@contextmanager
def one_change() -> Iterator[OrgService]:
    """The organization service in one transaction: a page's several steps
    (create a user, put them in departments, give them roles) all happen or
    none does."""
    service = org()
    with service.database.transaction() as connection:
        yield service.within(connection)


def field_problems(error: ValidationError) -> dict[str, list[str]]:
    """The engine's per-field messages in the reader's language."""
    locale = request_locale()
    return {key: [m.text(locale) for m in messages] for key, messages in error.field_errors.items()}


def message_of(error: QiqiaoError) -> str:
    return error.text(request_locale())


def texts(form: Any, key: str) -> list[str]:
    return [str(v) for v in form.getlist(key)]


def ids(form: Any, key: str) -> list[int]:
    """The whole numbers posted under ``key`` (pickers post ids; anything else is dropped)."""
    return [int(v) for v in texts(form, key) if v.isdigit() and len(v) < 12]
