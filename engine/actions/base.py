"""The action registry, and what an action gets when it runs.

An ``Action`` type has a key, a label, the JSON Schema of its settings
(``settings_schema``: the action's mapping in a rule file, without ``type``),
a ``check`` for what a schema cannot see (fields and forms that exist,
formulas over the right form) and ``run``.

``run`` gets an ``ActionContext``: the transaction of what fired the rule,
the record (and the one before the change), the app's record service, and an
``Actor`` that is the system acting *for the rule* — every data action goes
through ``RecordService`` with it, so the write is validated, audited ("by
rule X": ``audit_log.rule``) and publishes its own events one cascade level
deeper. Anything that leaves the process goes to the outbox in the same
transaction. An action returns an ``ActionResult`` for the run log.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy.engine import Connection

from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.issues import Path
from engine.definitions.model import FieldDef, FormDef
from engine.definitions.rule_files import RuleDef
from engine.expr import EvaluationContext, compile_formula, is_error
from engine.records import RecordService
from engine.records.actor import Actor

if TYPE_CHECKING:
    from engine.org.service import OrgService


class RuleChecker(Protocol):
    """What an action's or trigger's ``check`` may ask (``engine.definitions.rule_files.RuleFormChecker``)."""

    rule: RuleDef

    @property
    def form(self) -> FormDef | None: ...

    def report(self, path: Path, message: Label) -> None: ...

    def formula(self, path: Path, text: str, form: str | None = None) -> None: ...

    def known_form(self, path: Path, key: str) -> FormDef | None: ...

    def known_flow(self, path: Path, key: str) -> None: ...

    def field(self, path: Path, key: str, *, form: str | None = None) -> FieldDef | None: ...


@dataclass
class ActionResult:
    """What one action did, for the run log: ``outcome`` is ``done`` or
    ``skipped`` (nothing to do), ``detail`` a short JSON-able account
    (``{"created": 12}``, ``{"owner": 7}``)."""

    outcome: str = "done"
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self, action_type: str) -> dict[str, Any]:
        return {"type": action_type, "outcome": self.outcome, "detail": self.detail}


@dataclass
class ActionContext:
    """What a running action may use. ``record`` is the triggering record as
    stored (None for a schedule without a form's record), ``previous`` the
    record before the change (None on create)."""

    conn: Connection
    service: RecordService
    org: OrgService
    rule: RuleDef
    run_id: int
    actor: Actor
    now: dt.datetime
    record: Mapping[str, Any] | None = None
    previous: Mapping[str, Any] | None = None
    # Services of other apps (a rule may write records of another app).
    service_of: Callable[[str], RecordService] | None = None
    # The rule engine's extras (the notifier ...), by name.
    extras: Mapping[str, Any] = field(default_factory=dict)
    # The person whose write or click fired the rule (None for the system, a
    # schedule): who claims a record from the pool, who "the user" is.
    user_id: int | None = None

    @property
    def app(self) -> str:
        return self.service.app.key

    @property
    def rule_ref(self) -> str:
        """``<app>.<rule>``: how messages, todos and the audit name the rule."""
        return f"{self.app}.{self.rule.key}"

    def values(self, form: str | None = None) -> dict[str, Any]:
        """The triggering record as formulas see it (related records loaded
        for the relation paths the rule's formulas read)."""
        if self.record is None:
            return {}
        compiled, _ = self.service.form(form or self.rule.form)
        return compiled.formula_values(self.record)

    def evaluate(self, text: str, *, values: Mapping[str, Any] | None = None) -> Any:
        """A formula of the rule over the triggering record; an error value
        (a division by zero ...) is a ``ValueError`` naming the formula."""
        compiled_form, _ = self.service.form(self.rule.form)
        seen = dict(values) if values is not None else self.values()
        roots = {name.split(".")[0] for name in compile_formula(text).names}
        related_keys = [k for k in roots if _is_relation(compiled_form.form.field(k))
                        and compiled_form.storage.get(k) == "column"]
        if related_keys and self.record is not None:
            seen.update(self.service.reader.related(self.conn, compiled_form, self.record, keys=related_keys))
        previous = compiled_form.formula_values(self.previous) if self.previous else None
        result = compile_formula(text).evaluate(seen, EvaluationContext(clock=self.service.clock,
                                                                        previous=previous))
        if is_error(result):
            raise ValueError(f"{text}: {result}")
        return result


def _is_relation(f: FieldDef | None) -> bool:
    return f is not None and f.setting("target") is not None


class Action(ABC):
    """One kind of action. Subclasses set ``key``, ``label``, ``settings_schema``
    and implement ``run`` (and ``check`` when settings name fields or forms)."""

    key: ClassVar[str]
    label: ClassVar[Label]
    description: ClassVar[Label]
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object"}

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        """Report what is wrong with ``settings`` beyond their schema."""
        return  # a kind whose settings name no field or form needs nothing more

    @abstractmethod
    def run(self, ctx: ActionContext, settings: Mapping[str, Any]) -> ActionResult:
        ...


def build_actions() -> Registry[Action]:
    from engine.actions.assign import ASSIGN_ACTIONS
    from engine.actions.flow_actions import FLOW_ACTIONS
    from engine.actions.messages import MESSAGE_ACTIONS
    from engine.actions.record_actions import RECORD_ACTIONS
    from engine.actions.webhook import WEBHOOK_ACTIONS

    registry: Registry[Action] = Registry("action")
    for family in (RECORD_ACTIONS, ASSIGN_ACTIONS, MESSAGE_ACTIONS, WEBHOOK_ACTIONS, FLOW_ACTIONS):
        registry.register_all(family)
    return registry


ACTIONS: Registry[Action] = build_actions()
