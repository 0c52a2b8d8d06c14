"""The rules for the people who run an app: what rules it has and how they
ran, turning one off and on, retrying a failed run, running a manual rule
on a record.

``RuleAdmin`` is what the REST API (``/api/v1/apps/{app}/rules``, ``/runs``)
and the pages (``/admin/rules``, the record page's "Rules" section) call,
so neither can allow what it refuses:

- the rule list, a rule, the run log, enabling and retrying are for an
  admin or an owner of the app;
- the runs of one record are for whoever may read the record;
- a manual run is for whoever may read *and* update the record.

Enabling or disabling publishes a new version of the rule's definition
(by the acting user, so the definitions' history says who): the record
services of this process are told at once (``invalidate``), other processes
see the new version at their next definitions check, and the rule engine's
index follows the app's definitions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from engine.core.i18n import Label, Message, label
from engine.definitions.model import AppDef
from engine.records.actor import Actor
from engine.rules import runs
from engine.rules.deferred import flush_before_reading
from engine.rules.engine import RuleEngine
from engine.rules.index import PreparedRule
from engine.store.database import Database
from engine.store.models import Definition

_DEFINITIONS = cast(sa.Table, Definition.__table__)
MANAGERS_ONLY = Message("只有管理员或应用 {app} 的负责人可以管理它的规则",
                        "Only an admin or an owner of the app {app} can manage its rules")


@dataclass(frozen=True)
class RuleSummary:
    """A rule as the list shows it: what fires it, on what, what it does, how it ran."""

    key: str
    label: Label
    description: Label | None
    form: str
    form_label: Label
    trigger: str
    trigger_label: Label
    when: Label  # the trigger in words
    condition: str | None
    actions: tuple[tuple[str, Label], ...]  # (type, its label)
    enabled: bool
    on_import: bool
    manual: bool
    button: Label  # a manual rule's button text
    confirm: Label | None  # and its confirmation question
    counts: dict[str, int]
    last_run: runs.RunEntry | None

    def as_json(self) -> dict[str, Any]:
        def text(value: Label | None) -> dict[str, str] | None:
            return None if value is None else {"zh": value.zh, "en": value.en}

        return {
            "key": self.key, "label": text(self.label), "description": text(self.description),
            "form": self.form, "trigger": self.trigger, "when": text(self.when), "condition": self.condition,
            "actions": [{"type": t, "label": text(lbl)} for t, lbl in self.actions],
            "enabled": self.enabled, "on_import": self.on_import, "manual": self.manual,
            "button": text(self.button) if self.manual else None, "confirm": text(self.confirm),
            "counts": self.counts, "last_run": self.last_run.as_json() if self.last_run else None,
        }


def _label_setting(value: Any) -> Label | None:
    return label(value) if value else None


class RuleAdmin:
    """The rules of the installed apps, for their managers (see the module docstring)."""

    def __init__(self, rules: RuleEngine) -> None:
        self.rules = rules
        self.records = rules.records
        self.org = rules.org

    # --- who may ----------------------------------------------------------------
    def require_manager(self, app_key: str, user_id: int | None) -> AppDef:
        """The app, if ``user_id`` (None: the system) is an admin or one of its owners."""
        app: AppDef = self.records.app(app_key)
        if user_id is not None and not self.org.principal(user_id, app=app_key).manages(app_key):
            raise PermissionDenied(MANAGERS_ONLY.format(app=app_key), details={"app": app_key})
        return app

    # --- the rules --------------------------------------------------------------
    def summaries(self, app_key: str, *, user_id: int | None) -> list[RuleSummary]:
        """Every rule of the app, by key (the order does not move when one is republished)."""
        app = self.require_manager(app_key, user_id)
        index = self.rules.index(app_key)
        with self.records.get(app_key).database.reading() as conn:
            counts, last = _statistics(conn, app_key)
        return [self._summary(app, index.by_key[r.key], counts.get(r.key, {}), last.get(r.key))
                for r in sorted(app.rules, key=lambda r: r.key)]

    def summary(self, app_key: str, rule_key: str, *, user_id: int | None) -> RuleSummary:
        app = self.require_manager(app_key, user_id)
        prepared = self.rules.rule(app_key, rule_key)
        with self.records.get(app_key).database.reading() as conn:
            counts, last = _statistics(conn, app_key, rule_key)
        return self._summary(app, prepared, counts.get(rule_key, {}), last.get(rule_key))

    def _summary(self, app: AppDef, prepared: PreparedRule, counts: dict[str, int],
                 last: runs.RunEntry | None) -> RuleSummary:
        rule = prepared.rule
        form = app.form(rule.form)
        assert form is not None  # installing checks that a rule's form exists
        settings = rule.trigger.settings
        actions = tuple((s.type, self.rules.actions.get(s.type).label if s.type in self.rules.actions
                         else Label(s.type, s.type)) for s in rule.actions)
        return RuleSummary(
            key=rule.key, label=rule.label, description=rule.description, form=rule.form, form_label=form.label,
            trigger=rule.trigger.type, trigger_label=prepared.trigger.label,
            when=prepared.trigger.describe(settings, form), condition=rule.condition, actions=actions,
            enabled=rule.enabled, on_import=rule.on_import, manual=rule.trigger.type == "manual",
            button=_label_setting(settings.get("button")) or rule.label, confirm=_label_setting(settings.get("confirm")),
            counts={s: counts.get(s, 0) for s in runs.STATUSES}, last_run=last)

    def set_enabled(self, app_key: str, rule_key: str, enabled: bool, *, user_id: int | None) -> RuleSummary:
        """Publish the rule again with ``enabled`` (nothing when its newest
        version already is: read from the database, not this process's cache,
        which may be behind another process's change)."""
        self.require_manager(app_key, user_id)
        self.rules.rule(app_key, rule_key)
        try:
            self._publish(self.records.get(app_key).database, app_key, rule_key, enabled, user_id)
        except sa.exc.IntegrityError as exc:
            # Someone published the same rule between our read and our write.
            raise ConflictError(Label(f"规则 {rule_key} 刚被别人修改，请刷新后重试",
                                      f"The rule {rule_key} was just changed by someone else; reload and try again"),
                                details={"rule": rule_key}) from exc
        self.records.invalidate(app_key)
        return self.summary(app_key, rule_key, user_id=user_id)

    def _publish(self, database: Database, app_key: str, rule_key: str, enabled: bool, user_id: int | None) -> None:
        """A new version of the rule's definition: the newest body with ``enabled``."""
        with database.transaction() as conn:
            where = (_DEFINITIONS.c.app == app_key, _DEFINITIONS.c.kind == "rule", _DEFINITIONS.c.key == rule_key)
            newest = conn.execute(sa.select(_DEFINITIONS.c.version, _DEFINITIONS.c.body).where(*where)
                                  .order_by(_DEFINITIONS.c.version.desc()).limit(1)).one()
            if bool(newest.body.get("enabled", True)) == enabled:
                return
            conn.execute(_DEFINITIONS.insert(), {
                "app": app_key, "kind": "rule", "key": rule_key, "version": int(newest.version) + 1,
                "body": {**dict(newest.body), "enabled": enabled},
                "published_at": self.rules.clock.now().astimezone(dt.UTC), "published_by": user_id})

    # --- the run log ------------------------------------------------------------
    def run_log(self, app_key: str, *, user_id: int | None, rule: str | None = None, form: str | None = None,
             record_id: int | None = None, status: str | None = None, before: int | None = None,
             limit: int = 50) -> list[runs.RunEntry]:
        """The app's runs, newest first, by rule, record and status; ``before``: the next page."""
        app = self.require_manager(app_key, user_id)
        if rule is not None:
            self.rules.rule(app_key, rule)
        if form is not None and app.form(form) is None:
            raise NotFoundError(Label(f"应用 {app_key} 没有表单 {form}", f"The app {app_key} has no form {form}"),
                                details={"form": form})
        check_status(status)
        with self.records.get(app_key).database.reading() as conn:
            return runs.read_runs(conn, app=app_key, rule=rule, form=form, record_id=record_id, status=status,
                                  before=before, limit=limit)

    def retry(self, app_key: str, run_id: int, *, user_id: int | None) -> runs.RunEntry:
        self.require_manager(app_key, user_id)
        return self.rules.retry(app_key, run_id, user_id=user_id)

    # --- on a record ------------------------------------------------------------
    def record_runs(self, app_key: str, form_key: str, record_id: int, *, actor: Actor,
                    limit: int = 10) -> list[runs.RunEntry]:
        """The newest runs on a record the actor may read (skipped ones left out: a
        rule whose condition did not hold did nothing to it)."""
        service = self.records.get(app_key)
        service.get(form_key, record_id, actor=actor)  # NotFoundError when they may not read it
        with service.database.reading() as conn:
            found = runs.read_runs(conn, app=app_key, form=form_key, record_id=record_id, limit=limit * 3)
        return [r for r in found if r.status != runs.SKIPPED][:limit]

    def manual_rules(self, app_key: str, form_key: str) -> list[RuleSummary]:
        """The enabled manual rules of a form: the record page's buttons."""
        app: AppDef = self.records.app(app_key)
        index = self.rules.index(app_key)
        return [self._summary(app, index.by_key[r.key], {}, None) for r in app.rules
                if r.form == form_key and r.enabled and r.trigger.type == "manual"]

    def run_manual(self, app_key: str, rule_key: str, record_id: int, *, actor: Actor) -> runs.RunEntry:
        """Run a manual rule on a record the actor may read and update."""
        prepared = self.rules.rule(app_key, rule_key)
        service = self.records.get(app_key)
        form_key = prepared.rule.form
        policy = actor.policy(service, form_key)
        if not policy.unrestricted:
            service.get(form_key, record_id, actor=actor)
            policy.require("update")
            clause = policy.write_clause("update")
            main = policy.tables.main
            with service.database.reading() as conn:
                if clause is not None and conn.execute(
                        sa.select(main.c.id).where(main.c.id == record_id, clause)).first() is None:
                    raise PermissionDenied(Label("没有修改这条记录的权限，不能对它运行规则",
                                                 "You may not update this record, so you may not run rules on it"),
                                           details={"form": form_key, "record": record_id})
        return self.rules.run_manual(app_key, rule_key, record_id, actor=actor)


def check_status(status: str | None) -> None:
    if status is not None and status not in runs.STATUSES:
        message = Label(f"状态 {status} 未知（可用：{', '.join(runs.STATUSES)}）",
                        f"Unknown status {status} (known: {', '.join(runs.STATUSES)})")
        raise ValidationError(message, field_errors={"status": [message]})


def _statistics(conn: Connection, app_key: str, rule_key: str | None = None
                ) -> tuple[dict[str, dict[str, int]], dict[str, runs.RunEntry]]:
    """Runs by rule and status, and each rule's newest run, in three queries
    (a row that counts many skips, ``runs.write_skipped``, counts them all)."""
    flush_before_reading(conn)
    table = runs.RUNS
    where: Sequence[Any] = (table.c.app == app_key,) if rule_key is None else \
        (table.c.app == app_key, table.c.rule == rule_key)
    counts: dict[str, dict[str, int]] = {}
    for rule, status, count in conn.execute(sa.select(table.c.rule, table.c.status, sa.func.count())
                                            .where(*where).group_by(table.c.rule, table.c.status)):
        counts.setdefault(str(rule), {})[str(status)] = int(count)
    grouped = sa.select(table.c.rule, table.c.actions).where(
        *where, table.c.status == runs.SKIPPED, table.c.record_id.is_(None))
    for rule, actions in conn.execute(grouped):
        many = sum(int(a.get("detail", {}).get("count", 1)) - 1 for a in actions or () if isinstance(a, dict))
        counts.setdefault(str(rule), {})[runs.SKIPPED] = counts[str(rule)].get(runs.SKIPPED, 0) + many
    newest = sa.select(sa.func.max(table.c.id)).where(*where).group_by(table.c.rule).scalar_subquery()
    last = {str(row["rule"]): runs.entry(row)
            for row in conn.execute(sa.select(table).where(table.c.id.in_(newest))).mappings()}
    return counts, last

