"""The rule engine: hears record events, runs the rules they fire, logs every run.

``handle`` is subscribed to the engine's bus. For an event it looks up, in an
index built once per published version of the app's rules, the enabled rules
of the event's form whose trigger hears that kind of event — usually none,
and then it costs one dictionary lookup. Each rule whose trigger matches
(``record_updated`` may name fields) runs through ``fire``:

1. the loop guard: a cascade deeper than ``MAX_DEPTH`` or a rule that
   already ran for this record in this cascade is *cut* (logged, not silent);
2. the condition, a formula over the record (``PREVIOUS(field)`` reads the
   value before the change): false -> *skipped*;
3. the actions, in order, inside a savepoint of the write's transaction, as
   the system acting for the rule (``Actor(source="rule", rule="<app>.<key>")``):
   one that raises rolls back the rule's own writes (not the write that
   fired it) and the run is *failed*, kept with its error for a retry.

The conditions of an event's rules read one dictionary of the record's
formula values, computed once (``index.EventRules`` says which fields).
A skip costs a tuple: the event's skips are kept with the connection and
written after the commit (``engine.rules.deferred``); cut runs and runs
failed in their condition are logged in one statement per event. Rules fired from
outside the bus (manual buttons, schedules, date triggers, webhooks) come
through ``fire`` too, inside ``cascade()``.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from engine.actions.base import ACTIONS, Action, ActionContext
from engine.core.clock import Clock
from engine.core.errors import ConflictError, NotFoundError, QiqiaoError
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.model import AppDef, FieldDef
from engine.definitions.rule_files import RuleDef
from engine.expr import EvaluationContext, is_error
from engine.org.service import OrgService
from engine.records import RecordService
from engine.records.actor import Actor
from engine.records.events import RecordEvent
from engine.records.values import jsonable
from engine.rules import runs
from engine.rules.index import PreparedRule, RuleIndex, build_index
from engine.rules.triggers import TRIGGERS, Trigger

log = logging.getLogger("qiqiao.rules")

# A cascade of rules firing rules stops here (below the record service's own
# limit, so a cut is logged instead of the whole write being refused).
MAX_DEPTH = 8

# (app, rule, form, record id) of every rule run in the current cascade.
_FIRED: contextvars.ContextVar[set[tuple[str, str, str, int | None]] | None] = \
    contextvars.ContextVar("qiqiao_rules_fired", default=None)


@contextlib.contextmanager
def cascade() -> Iterator[set[tuple[str, str, str, int | None]]]:
    """The runs of one cascade: opened by the outermost write or firing, shared
    by every rule the cascade fires."""
    fired = _FIRED.get()
    if fired is not None:
        yield fired
        return
    fired = set()
    token = _FIRED.set(fired)
    try:
        yield fired
    finally:
        _FIRED.reset(token)


@dataclass(frozen=True)
class Firing:
    """One reason to run a rule: the trigger, the record (None for a schedule
    without records), the record before the change, who and how deep."""

    trigger: str
    record: Mapping[str, Any] | None = None
    previous: Mapping[str, Any] | None = None
    source: str | None = None
    user_id: int | None = None
    depth: int = 0
    # What a retry needs besides the record (a webhook's body, a tick).
    payload: Mapping[str, Any] | None = None


class RuleEngine:
    """Runs the rules of every installed app (see the module docstring)."""

    def __init__(self, records: Any, org: OrgService, clock: Clock, *,
                 triggers: Registry[Trigger] = TRIGGERS, actions: Registry[Action] = ACTIONS) -> None:
        # ``records`` is the composition's RecordServices: ``get(app)`` and ``app(app)``.
        self.records = records
        self.org = org
        self.clock = clock
        self.triggers = triggers
        self.actions = actions
        # What actions may use besides records (the notifier ...), by name.
        self.extras: dict[str, Any] = {}
        self._indexes: dict[str, RuleIndex] = {}
        # Skipped runs are written after their write commits (engine.rules.deferred).
        self.deferred = runs.deferred_log(records.database)

    # --- the index ------------------------------------------------------------
    def index(self, app_key: str) -> RuleIndex:
        return self._index_of(self.records.app(app_key))

    def _index_of(self, app: AppDef) -> RuleIndex:
        known = self._indexes.get(app.key)
        if known is not None and known.app is app:
            return known
        index = self._indexes[app.key] = build_index(app, self.triggers)
        return index

    def rule(self, app_key: str, rule_key: str) -> PreparedRule:
        prepared = self.index(app_key).by_key.get(rule_key)
        if prepared is None:
            raise NotFoundError(Label(f"应用 {app_key} 没有规则 {rule_key}",
                                      f"The app {app_key} has no rule {rule_key}"),
                                details={"app": app_key, "rule": rule_key})
        return prepared

    # --- record events --------------------------------------------------------
    def handle(self, event: RecordEvent) -> None:
        """The bus subscriber: run the rules ``event`` fires, in its transaction."""
        # The service that published the event is the one cached: asking the
        # database whether definitions changed would take a second connection
        # inside the write (16 concurrent writers then exhaust the pool).
        service = self.records.cached(event.app) or self.records.get(event.app)
        heard = self._index_of(service.app).by_event.get((event.form, event.kind))
        if heard is None:
            return
        started = time.perf_counter()
        moment = self.clock.now()
        app, form, record = event.app, event.form, event.record
        record_id = int(record["id"]) if "id" in record else None
        previous = event.previous if heard.previous else None
        importing = event.source == "import"
        evaluating = event.depth < MAX_DEPTH  # deeper, fire() cuts every rule
        # The cascade this event belongs to; None when the event starts one,
        # opened only when a rule runs: skips alone leave nothing to cut.
        fired = _FIRED.get()
        token: contextvars.Token[set[tuple[str, str, str, int | None]] | None] | None = None
        skipped: list[tuple[str, str]] = []  # (rule, trigger) of each skip, in order
        marked = 0  # how many of ``skipped`` are in ``fired``
        ended: list[dict[str, Any]] = []
        seen: dict[str, Any] = {}  # the record's formula values, shared by the event's conditions
        values: dict[str, Any] | None = None  # seen's values once they hold what all conditions read
        context: EvaluationContext | None = None
        firing: Firing | None = None
        try:
            for item in heard.rules:
                rule = item.rule
                if importing and not rule.on_import:
                    continue
                if item.selective and not item.trigger.matches(rule.trigger.settings, event):
                    continue
                # The common case, kept short: a rule not cut whose condition is false.
                holds: bool | None = None  # None: fire() evaluates (and logs a failing condition)
                if item.condition is not None and evaluating \
                        and (fired is None or (app, rule.key, form, record_id) not in fired):
                    try:
                        if values is None:
                            self._values(service, form, record, previous, heard.fields, seen)
                            values, context = seen["values"], seen["context"]
                        if item.related:
                            holds = self._holds(service, event.connection, item, record, previous, seen)
                        else:
                            result = item.condition.evaluate(values, context)
                            holds = False if result is False else None if is_error(result) else bool(result)
                    except ValueError:
                        holds = None
                    if holds is False:
                        skipped.append(item.skip)
                        continue
                if fired is None:
                    fired = set()
                    token = _FIRED.set(fired)
                fired.update((app, key, form, record_id) for key, _ in skipped[marked:])
                marked = len(skipped)
                if firing is None:
                    firing = Firing(rule.trigger.type, record, event.previous, event.source,
                                    event.user_id, event.depth)
                elif firing.trigger != rule.trigger.type:
                    firing = dataclasses.replace(firing, trigger=rule.trigger.type)
                self.fire(service, item, event.connection, firing, ended=ended, seen=seen, holds=holds)
            if fired is not None and marked < len(skipped):
                fired.update((app, key, form, record_id) for key, _ in skipped[marked:])
        finally:
            if token is not None:
                _FIRED.reset(token)
        if skipped:
            # One tuple for the event's skips: the run rows are built by the
            # writer thread after the commit (runs.write_skipped).
            entry: runs.Skips = (app, form, record_id, moment, event.depth, event.source, event.user_id,
                                 time.perf_counter() - started, skipped)
            self.deferred.defer(event.connection, entry)
        if ended:
            runs.log_runs(event.connection, ended)

    # --- running one rule -----------------------------------------------------
    def fire(self, service: RecordService, item: PreparedRule, conn: Connection, firing: Firing, *,
             ended: list[dict[str, Any]] | None = None, retry_of: int | None = None,
             seen: dict[str, Any] | None = None, holds: bool | None = None) -> tuple[str, int | None]:
        """Run one rule for one firing: (status, run id — None when the run
        was only logged in ``ended``, to be written with its neighbours).
        ``seen`` keeps the record's formula values across the rules of one event."""
        rule = item.rule
        record_id = int(firing.record["id"]) if firing.record is not None and "id" in firing.record else None
        started = time.perf_counter()
        row: dict[str, Any] = dict(app=service.app.key, rule=rule.key, trigger=firing.trigger, form=rule.form,
                   record_id=record_id, started_at=self.clock.now(), depth=firing.depth,
                   source=firing.source, user_id=firing.user_id, retry_of=retry_of)
        with cascade() as fired:
            cut = self._cut(service.app.key, rule, record_id, firing.depth, fired)
            if cut is not None:
                log.warning("rule %s.%s cut for %s #%s: %s", service.app.key, rule.key, rule.form,
                            record_id, cut.en)
                return self._ended(conn, ended, runs.run_row(**row, status=runs.CUT, error=cut.en,
                                                             actions=[{"reason": cut.zh}]))
            fired.add((service.app.key, rule.key, rule.form, record_id))
            try:
                if holds is None:  # not known yet (``handle`` knows it for the rules it gives here)
                    holds = self._holds(service, conn, item, firing.record, firing.previous,
                                        {} if seen is None else seen)
            except ValueError as exc:
                return self._ended(conn, ended, runs.run_row(
                    **row, status=runs.FAILED, error=str(exc), payload=self._retry_payload(firing),
                    duration_ms=_ms(started)))
            if not holds:
                return self._ended(conn, ended, runs.run_row(**row, status=runs.SKIPPED,
                                                             duration_ms=_ms(started)))
            run_id = runs.start_run(conn, runs.run_row(**row, status=runs.RUNNING))
            return self._run_actions(service, item, conn, firing, run_id, started), run_id

    def _cut(self, app: str, rule: RuleDef, record_id: int | None, depth: int,
             fired: set[tuple[str, str, str, int | None]]) -> Label | None:
        if depth >= MAX_DEPTH:
            return Label(f"级联超过 {MAX_DEPTH} 层，规则未执行",
                         f"the cascade is deeper than {MAX_DEPTH} levels; the rule did not run")
        if record_id is not None and (app, rule.key, rule.form, record_id) in fired:
            return Label("该规则在本次级联中已对这条记录执行过",
                         "the rule already ran for this record in this cascade")
        return None

    def _holds(self, service: RecordService, conn: Connection, item: PreparedRule,
               record: Mapping[str, Any] | None, previous: Mapping[str, Any] | None,
               seen: dict[str, Any]) -> bool:
        if item.condition is None:
            return True
        self._values(service, item.rule.form, record or {}, previous, item.fields, seen)
        values: dict[str, Any] = seen["values"]
        if item.related and record is not None:
            values = {**values, **service.reader.related(conn, seen["compiled"], record, keys=item.related)}
        result = item.condition.evaluate(values, seen["context"])
        if result is False:
            return False
        if is_error(result):
            raise ValueError(f"condition {item.rule.condition!r}: {result}")
        return bool(result)

    def _values(self, service: RecordService, form: str, record: Mapping[str, Any],
                previous: Mapping[str, Any] | None, fields: tuple[FieldDef, ...], seen: dict[str, Any]) -> None:
        """Put in ``seen`` the formula values of ``fields`` (and the system
        fields) of the record and of its previous state, computed once per
        event, and the conditions' evaluation context."""
        values = seen.get("values")
        if values is None:
            compiled = seen["compiled"] = service.form(form)[0]
            seen["values"] = compiled.formula_values(record, fields=fields)
            seen["previous"] = compiled.formula_values(previous, fields=fields) if previous else None
            seen["context"] = EvaluationContext(clock=self.clock, previous=seen["previous"])
            return
        missing = [f for f in fields if f.key not in values]
        if missing:
            compiled = seen["compiled"]
            values.update(compiled.formula_values(record, fields=missing))
            if previous and seen["previous"] is not None:
                seen["previous"].update(compiled.formula_values(previous, fields=missing))

    def _run_actions(self, service: RecordService, item: PreparedRule, conn: Connection, firing: Firing,
                     run_id: int, started: float) -> str:
        rule = item.rule
        actor = Actor(user_id=None, source="rule", depth=firing.depth + 1, rule=f"{service.app.key}.{rule.key}")
        ctx = ActionContext(conn=conn, service=service, org=self.org, rule=rule, run_id=run_id, actor=actor,
                            now=self.clock.now(), record=firing.record, previous=firing.previous,
                            service_of=self.records.get, extras=self.extras,
                            user_id=firing.user_id)
        results: list[dict[str, Any]] = []
        try:
            with conn.begin_nested():
                for n, step in enumerate(rule.actions):
                    results.append(self.actions.get(step.type).run(ctx, step.settings).as_json(step.type))
                    if n + 1 < len(rule.actions):
                        ctx.record = self._fresh(service, rule.form, ctx.record, conn)
        except (QiqiaoError, ValueError, LookupError, ArithmeticError) as exc:
            message = _message(exc)
            step_type = rule.actions[len(results)].type if len(results) < len(rule.actions) else "-"
            results.append({"type": step_type, "outcome": "failed",
                            "detail": {"error": message.en, "error_zh": message.zh,
                                       "details": jsonable(exc.as_dict()["details"])
                                       if isinstance(exc, QiqiaoError) else None}})
            runs.end_run(conn, run_id, status=runs.FAILED, duration_ms=_ms(started), actions=results,
                         error=message.en, payload=self._retry_payload(firing))
            log.info("rule %s.%s failed: %s", service.app.key, rule.key, message.en)
            return runs.FAILED
        runs.end_run(conn, run_id, status=runs.DONE, duration_ms=_ms(started), actions=results)
        return runs.DONE

    @staticmethod
    def _fresh(service: RecordService, form: str, record: Mapping[str, Any] | None,
               conn: Connection) -> Mapping[str, Any] | None:
        """The record as the rule's earlier actions left it (the next one
        notifies the owner the first assigned), or as it was when it is gone
        (deleted by an action, or never stored: a webhook's values)."""
        if record is None or record.get("id") is None:
            return record
        try:
            return service.get(form, int(record["id"]), connection=conn)
        except NotFoundError:
            return record

    @staticmethod
    def _retry_payload(firing: Firing) -> dict[str, Any]:
        return {"record": jsonable(firing.record), "previous": jsonable(firing.previous),
                "data": jsonable(firing.payload)}

    @staticmethod
    def _ended(conn: Connection, ended: list[dict[str, Any]] | None,
               row: dict[str, Any]) -> tuple[str, int | None]:
        if ended is not None:
            ended.append(row)
            return str(row["status"]), None
        return str(row["status"]), runs.start_run(conn, row)

    # --- fired from outside ---------------------------------------------------
    def run_manual(self, app_key: str, rule_key: str, record_id: int, *, actor: Actor) -> runs.RunEntry:
        """Run a manual rule on a record the actor may read (a button, an API call)."""
        item = self.rule(app_key, rule_key)
        if item.rule.trigger.type != "manual" or not item.rule.enabled:
            raise ConflictError(Label(f"规则 {rule_key} 不能手动运行（不是手动触发或已停用）",
                                      f"The rule {rule_key} cannot be run by hand (not manual, or disabled)"),
                                details={"rule": rule_key})
        service = self.records.get(app_key)
        with service.database.transaction() as conn:
            record = service.get(item.rule.form, record_id, actor=actor, connection=conn)
            full = service.get(item.rule.form, record_id, connection=conn)
            _, run_id = self.fire(service, item, conn, Firing("manual", full, None, actor.source,
                                                              actor.user_id, 0))
            assert record is not None and run_id is not None
            found = runs.read_run(conn, run_id)
        assert found is not None
        return found

    def retry(self, app_key: str, run_id: int, *, user_id: int | None = None) -> runs.RunEntry:
        """Run a failed run's rule again, on the record as it is now (or as it
        was, if it is gone); the new run names the one it retries."""
        service = self.records.get(app_key)
        with service.database.transaction() as conn:
            old = runs.read_run(conn, run_id)
            if old is None or old.app != app_key:
                raise NotFoundError(Label(f"没有运行记录 #{run_id}", f"There is no rule run #{run_id}"))
            if old.status != runs.FAILED:
                raise ConflictError(Label(f"运行 #{run_id} 没有失败，不需要重试",
                                          f"Run #{run_id} did not fail; there is nothing to retry"))
            item = self.rule(app_key, old.rule)
            payload = runs.run_payload(conn, run_id) or {}
            record: Mapping[str, Any] | None = payload.get("record")
            if old.record_id is not None and old.form is not None:
                with contextlib.suppress(NotFoundError):
                    record = service.get(old.form, old.record_id, connection=conn)
            firing = Firing(old.trigger, record, payload.get("previous"), "retry", user_id, 0,
                            payload.get("data"))
            _, new_id = self.fire(service, item, conn, firing, retry_of=run_id)
            assert new_id is not None
            found = runs.read_run(conn, new_id)
        assert found is not None
        return found

    def fire_all(self, app_key: str, rule_key: str, conn: Connection,
                 firings: Callable[[], Iterator[Firing]]) -> list[tuple[str, int | None]]:
        """Run one rule for each of ``firings`` (a schedule's or a date trigger's
        records) in ``conn``'s transaction, each its own cascade."""
        item = self.rule(app_key, rule_key)
        service = self.records.get(app_key)
        results = []
        for firing in firings():
            with cascade():
                results.append(self.fire(service, item, conn, firing))
        return results


def _message(exc: Exception) -> Label:
    """What went wrong, with the field errors of a refused write spelled out."""
    if not isinstance(exc, QiqiaoError):
        return Label(str(exc), str(exc))
    fields = getattr(exc, "field_errors", None) or {}
    if not fields:
        return exc.message
    zh = "；".join(f"{key}：{'、'.join(m.zh for m in messages)}" for key, messages in fields.items())
    en = "; ".join(f"{key}: {', '.join(m.en for m in messages)}" for key, messages in fields.items())
    return Label(f"{exc.message.zh}（{zh}）", f"{exc.message.en} ({en})")


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
