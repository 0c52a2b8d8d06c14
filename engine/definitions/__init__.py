"""Definitions: JSON Schemas, the package loader and its cross-reference checks.

Callers pass the field type registry (this layer sits below ``engine.fields``)::

    from engine.definitions import load_package
    from engine.fields import FIELD_TYPES

    app = load_package("templates_lib/crm", FIELD_TYPES)
"""

from engine.definitions.field_types import FieldTypeContract, FieldTypes, SettingsProblem
from engine.definitions.form_schema import app_schema, form_schema
from engine.definitions.issues import DefinitionIssue, PackageError, format_issues
from engine.definitions.loader import load_package, validate_package
from engine.definitions.model import (
    SCHEMA_VERSION,
    AppDef,
    FieldDef,
    FormDef,
    FormRule,
    IndexDef,
    ListView,
    Reference,
    RuleAction,
    SortKey,
)
from engine.definitions.scope import SYSTEM_FIELDS

__all__ = [
    "SCHEMA_VERSION",
    "SYSTEM_FIELDS",
    "AppDef",
    "DefinitionIssue",
    "FieldDef",
    "FieldTypeContract",
    "FieldTypes",
    "FormDef",
    "FormRule",
    "IndexDef",
    "ListView",
    "PackageError",
    "Reference",
    "RuleAction",
    "SettingsProblem",
    "SortKey",
    "app_schema",
    "form_schema",
    "format_issues",
    "load_package",
    "validate_package",
]
