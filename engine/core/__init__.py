"""The lowest layer: the generic registry, the error hierarchy, the clock, labels."""

from engine.core.clock import Clock, FixedClock, SystemClock
from engine.core.errors import (
    ConflictError,
    DefinitionError,
    NotFoundError,
    PermissionDenied,
    QiqiaoError,
    RegistryError,
    ValidationError,
)
from engine.core.i18n import Label, Message, label
from engine.core.registry import Registry

__all__ = [
    "Clock",
    "ConflictError",
    "DefinitionError",
    "FixedClock",
    "Label",
    "Message",
    "NotFoundError",
    "PermissionDenied",
    "QiqiaoError",
    "Registry",
    "RegistryError",
    "SystemClock",
    "ValidationError",
    "label",
]
