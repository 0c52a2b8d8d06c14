"""The rule engine (规则引擎): triggers, conditions, actions and the run log.

A rule (``rules/*.yaml``, ``engine.definitions.rule_files``) is trigger ->
condition -> actions. ``RuleEngine`` hears the record events of every app
(it is subscribed to the bus by ``engine.composition.compose``), runs the
rules whose trigger matches in the write's transaction, and logs every run.
See docs/rules.md.
"""

from engine.rules.engine import RuleEngine
from engine.rules.triggers import TRIGGERS, Trigger

__all__ = ["TRIGGERS", "RuleEngine", "Trigger"]
