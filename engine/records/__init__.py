"""Records: the single write path, form state, the filter language, import and export."""

from engine.records.compiled import CompiledForm, FormState, compiled_form
from engine.records.events import (
    RECORD_CREATED,
    RECORD_DELETED,
    RECORD_UPDATED,
    EventBus,
    RecordEvent,
)
from engine.records.live import evaluate_form
from engine.records.service import SYSTEM, Actor, RecordService

__all__ = [
    "RECORD_CREATED",
    "RECORD_DELETED",
    "RECORD_UPDATED",
    "SYSTEM",
    "Actor",
    "CompiledForm",
    "EventBus",
    "FormState",
    "RecordEvent",
    "RecordService",
    "compiled_form",
    "evaluate_form",
]
