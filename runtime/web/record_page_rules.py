"""The record page's "Rules" part: the rules that ran on the record (the
newest runs, with a link to the run for the app's managers) and a button
per enabled manual rule of the form, which asks its confirmation question
in a dialog and runs the rule (``POST .../rules/<rule>/run``); the page
comes back with the outcome as a notice.

Both go through ``RuleAdmin`` with the reader's ``Actor``: the runs show to
whoever may read the record, and a manual run needs the right to update it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect

from engine.core.errors import ConflictError, PermissionDenied
from engine.records.actor import Actor
from runtime.api.records import check_id, form_service
from runtime.api.rules import rule_admin
from runtime.web.admin_rules import STATUS_NAMES
from runtime.web.context import identity, page, page_actor
from runtime.web.i18n import N_, current_language, gettext, label_text

bp = Blueprint("record_rules", __name__)
RUN = "/a/<app_key>/<form_key>/<int:record_id>/rules/<rule_key>/run"
OUTCOMES = {"done": N_("“%(rule)s” ran."), "failed": N_("“%(rule)s” failed: %(error)s"),
            "cut": N_("“%(rule)s” did not run: %(error)s"), "skipped": N_("“%(rule)s” did not apply to this record.")}


def rules_context(app_key: str, form_key: str, record_id: int, actor: Actor, can_edit: bool) -> dict[str, Any]:
    """What the record page's template needs for its "Rules" part."""
    admin = rule_admin()
    app = admin.records.app(app_key)
    return {
        "rule_runs": admin.record_runs(app_key, form_key, record_id, actor=actor),
        "manual_rules": admin.manual_rules(app_key, form_key) if can_edit else [],
        "rule_labels": {r.key: r.label for r in app.rules},
        "rule_manager": identity().principal.manages(app_key),
        "run_names": STATUS_NAMES,
    }


@bp.post(RUN)
@page
def run(app_key: str, form_key: str, record_id: int, rule_key: str) -> Response:
    _service, compiled = form_service(app_key, form_key)
    check_id(compiled, record_id)
    admin = rule_admin()
    prepared = admin.rules.rule(app_key, rule_key)
    if prepared.rule.form != form_key:
        abort(404)
    name = label_text(prepared.rule.label)
    back = f"/a/{app_key}/{form_key}/{record_id}#rules"
    try:
        entry = admin.run_manual(app_key, rule_key, record_id, actor=page_actor(app_key))
    except (ConflictError, PermissionDenied) as error:
        flash(error.text(current_language()), "error")
        return redirect(back, 303)  # type: ignore[return-value]
    message = gettext(OUTCOMES.get(entry.status, OUTCOMES["done"]), rule=name, error=entry.error or "")
    flash(message, "notice" if entry.status == "done" else "error")
    return redirect(back, 303)  # type: ignore[return-value]
