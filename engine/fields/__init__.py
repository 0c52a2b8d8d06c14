"""The field-type registry (DESIGN §4): one class per field type.

``FIELD_TYPES`` holds every built-in type, registered explicitly by
``build_field_types`` — importing a module registers nothing. Filter operators
live in ``engine.fields.operators.OPERATORS``.
"""

from __future__ import annotations

from engine.core.clock import DEFAULT_TIMEZONE
from engine.core.registry import Registry
from engine.fields.base import ConversionError, DefinitionProblem, FieldType, FieldValueError
from engine.fields.choice import BooleanType, MultiselectType, SelectType
from engine.fields.computed import FormulaType, RollupType, SerialType
from engine.fields.contact import EmailType, PhoneType, UrlType
from engine.fields.files import AttachmentType, ImageType, SignatureType
from engine.fields.layout import DividerType, NoteType, SectionType
from engine.fields.numeric import MoneyType, NumberType, PercentType, RatingType
from engine.fields.operators import OPERATORS, Operator
from engine.fields.people import DepartmentType, MemberType
from engine.fields.places import AddressType, LocationType
from engine.fields.relations import LookupType, RelationType
from engine.fields.subform import SubformType
from engine.fields.temporal import DateTimeType, DateType, TimeType
from engine.fields.text import RichTextType, TextareaType, TextType


def build_field_types(timezone: str = DEFAULT_TIMEZONE) -> Registry[FieldType]:
    """A registry with every built-in field type. ``timezone`` is the
    deployment's: date-times without an offset are read in it."""
    registry: Registry[FieldType] = Registry("field type")
    registry.register_all([
        TextType(),
        TextareaType(),
        RichTextType(),
        NumberType(),
        MoneyType(),
        PercentType(),
        RatingType(),
        DateType(),
        DateTimeType(timezone),
        TimeType(),
        BooleanType(),
        SelectType(),
        MultiselectType(),
        PhoneType(),
        EmailType(),
        UrlType(),
        AddressType(),
        LocationType(),
        MemberType(),
        DepartmentType(),
        AttachmentType(),
        ImageType(),
        SignatureType(),
        SerialType(),
        RelationType(),
        LookupType(),
        # These read other fields' types (child fields, result types) from the registry.
        SubformType(registry),
        FormulaType(registry),
        RollupType(registry),
        SectionType(),
        DividerType(),
        NoteType(),
    ])
    return registry


FIELD_TYPES: Registry[FieldType] = build_field_types()


def field_types_for(operator_key: str, types: Registry[FieldType] = FIELD_TYPES) -> list[str]:
    """The keys of the field types that accept a filter operator (its ``applies_to``)."""
    return [ftype.key for ftype in types if operator_key in ftype.operators]


__all__ = [
    "FIELD_TYPES",
    "OPERATORS",
    "ConversionError",
    "DefinitionProblem",
    "FieldType",
    "FieldValueError",
    "Operator",
    "build_field_types",
    "field_types_for",
]
