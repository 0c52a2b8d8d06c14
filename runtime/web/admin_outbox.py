"""The outbox page (``/admin/outbox``), for admins: messages by status and
channel (the dead letters first of interest), each with its attempts, next
try and last error, and a button that retries a dead or failing one now.

The page calls ``OutboxService`` as the REST API does (``/api/v1/outbox``);
the service refuses anyone but an admin.
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request, url_for

from engine.notify.admin import STATUSES
from engine.notify.channels import CHANNELS
from runtime.api.outbox import outbox_service
from runtime.web.admin_common import actor, require_admin
from runtime.web.context import page, render
from runtime.web.i18n import N_

bp = Blueprint("outbox", __name__, url_prefix="/outbox")
PAGE_SIZE = 50
STATUS_NAMES = {"pending": N_("Pending"), "sending": N_("Sending"), "sent": N_("Sent"), "dead": N_("Dead")}


def _choice(name: str, allowed: list[str]) -> str | None:
    """A filter's value, or None for "all" (anything unknown counts as all)."""
    value = request.args.get(name, "")
    return value if value in allowed else None


@bp.get("")
@page
def messages() -> Response:
    require_admin()
    status = _choice("status", list(STATUSES))
    channels = [c for c in CHANNELS if c.external]
    channel = _choice("channel", [c.key for c in channels])
    raw_before = request.args.get("before", "")
    before = int(raw_before) if raw_before.isdigit() and len(raw_before) < 12 else None
    service = outbox_service()
    entries = service.list(actor_id=actor(), status=status, channel=channel, limit=PAGE_SIZE, before=before)
    retried = request.args.get("retried", "")
    return render("admin/outbox.html", entries=entries, counts=service.counts(actor_id=actor()),
                  chosen=status, channel=channel, channels=channels, statuses=STATUSES, names=STATUS_NAMES,
                  labels={c.key: c.label for c in CHANNELS}, before=before,
                  older=entries[-1].id if len(entries) == PAGE_SIZE else None,
                  retried=int(retried) if retried.isdigit() and len(retried) < 12 else None)


@bp.post("/<int:message_id>/retry")
@page
def retry(message_id: int) -> Response:
    require_admin()
    outbox_service().retry(message_id if message_id < 10**11 else 0, actor_id=actor())
    back = url_for("admin.outbox.messages", retried=message_id, status=request.form.get("status") or None,
                   channel=request.form.get("channel") or None)
    return redirect(back, 303)  # type: ignore[return-value]
