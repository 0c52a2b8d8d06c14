"""The rule pages, for an app's admins and owners: ``/admin/rules`` (each
app's rules: the trigger in words, form, condition, actions, an on/off
switch, the last run and counts), ``/admin/rules/<app>/<rule>`` (one rule
and its run log by status, each run's actions and error, a retry button for
a failed one) and ``/admin/rule-runs`` (the run log across an app's rules).

The pages call ``RuleAdmin`` as the REST API does (``/api/v1/apps/{app}/rules``);
the service refuses anyone but an admin or an owner of the app.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, request, url_for

from engine.rules import runs
from runtime.api.records import MAX_ID
from runtime.api.rules import rule_admin
from runtime.web.admin_common import actor
from runtime.web.context import identity, page, render, services
from runtime.web.i18n import N_, gettext, label_text

bp = Blueprint("rules", __name__)
PAGE_SIZE = 50
STATUS_NAMES = {"done": N_("Done"), "skipped": N_("Skipped"), "failed": N_("Failed"), "cut": N_("Cut"),
                "running": N_("Running")}


def _managed_apps() -> list[str]:
    principal = identity().principal
    keys = [key for key in services().records.app_keys() if principal.manages(key)]
    if not keys:
        abort(403)
    return keys


def _status() -> str | None:
    value = request.args.get("status", "")
    return value if value in runs.STATUSES else None


def _before() -> int | None:
    raw = request.args.get("before", "")
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID else None


def _log_context(app_key: str, entries: list[runs.RunEntry]) -> dict[str, Any]:
    return {"entries": entries, "names": STATUS_NAMES, "statuses": runs.STATUSES, "before": _before(),
            "older": entries[-1].id if len(entries) == PAGE_SIZE else None,
            "people": {u.id: u.name for u in _people(entries)},
            "action_labels": {a.key: a.label for a in services().rules.actions},
            "trigger_labels": {t.key: t.label for t in services().rules.triggers},
            "form_labels": {f.key: f.label for f in services().records.app(app_key).forms}}


def _people(entries: list[runs.RunEntry]) -> list[Any]:
    ids = {e.user_id for e in entries if e.user_id is not None}
    return [services().org.get_user(i) for i in sorted(ids)] if ids else []


@bp.get("/rules")
@page
def rules() -> Response:
    admin = rule_admin()
    apps = [(services().records.app(key), admin.summaries(key, user_id=actor())) for key in _managed_apps()]
    return render("admin/rules.html", apps=apps, names=STATUS_NAMES, statuses=runs.STATUSES)


@bp.get("/rules/<app_key>/<rule_key>")
@page
def rule(app_key: str, rule_key: str) -> Response:
    admin = rule_admin()
    summary = admin.summary(app_key, rule_key, user_id=actor())
    chosen = _status()
    entries = admin.run_log(app_key, user_id=actor(), rule=rule_key, status=chosen, before=_before(),
                            limit=PAGE_SIZE)
    return render("admin/rule.html", app=services().records.app(app_key), app_key=app_key, rule=summary,
                  chosen=chosen, **_log_context(app_key, entries))


@bp.get("/rule-runs")
@page
def rule_runs() -> Response:
    keys = _managed_apps()
    chosen_app = request.args.get("app", "")
    app_key = chosen_app if chosen_app in keys else keys[0]
    admin = rule_admin()
    chosen = _status()
    entries = admin.run_log(app_key, user_id=actor(), status=chosen, before=_before(), limit=PAGE_SIZE)
    labels = {s.key: s.label for s in admin.summaries(app_key, user_id=actor())}
    return render("admin/rule_runs.html", apps=[services().records.app(k) for k in keys], app_key=app_key,
                  chosen=chosen, labels=labels, **_log_context(app_key, entries))


@bp.post("/rules/<app_key>/<rule_key>/enabled")
@page
def enable(app_key: str, rule_key: str) -> Response:
    on = request.form.get("enabled") == "1"
    summary = rule_admin().set_enabled(app_key, rule_key, on, user_id=actor())
    name = label_text(summary.label)
    flash(gettext("“%(rule)s” is on.", rule=name) if on else gettext("“%(rule)s” is off.", rule=name), "notice")
    back = request.form.get("back", "")
    target = url_for("admin.rules.rule", app_key=app_key, rule_key=rule_key) if back == "rule" \
        else url_for("admin.rules.rules") + f"#app-{app_key}"
    return redirect(target, 303)  # type: ignore[return-value]


@bp.post("/rules/<app_key>/runs/<int:run_id>/retry")
@page
def retry(app_key: str, run_id: int) -> Response:
    entry = rule_admin().retry(app_key, run_id if run_id <= MAX_ID else 0, user_id=actor())
    flash(gettext("Run %(old)s was retried: run %(new)s, %(status)s.", old=run_id, new=entry.id,
                  status=gettext(STATUS_NAMES[entry.status])), "notice" if entry.status == "done" else "error")
    return redirect(url_for("admin.rules.rule", app_key=app_key, rule_key=entry.rule) + f"#run-{entry.id}",
                    303)  # type: ignore[return-value]
