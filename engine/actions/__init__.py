"""Actions shared by rules and flows (DESIGN §2): a registry of what a rule's
or a flow's automation node can do — write records, assign owners, add
todos, notify, call webhooks. See ``engine.actions.base`` and docs/rules.md."""

from engine.actions.base import ACTIONS, Action, ActionContext, ActionResult, RuleChecker

__all__ = ["ACTIONS", "Action", "ActionContext", "ActionResult", "RuleChecker"]
