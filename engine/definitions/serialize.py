"""Definitions back to plain data: what is stored as a published version and
what a package export writes. ``FormDef.from_dict(form_to_dict(f)) == f``."""

from __future__ import annotations

from typing import Any

from engine.core.i18n import Label
from engine.definitions.model import AppDef, FieldDef, FormDef, FormRule, ListView


def label_to_dict(value: Label) -> dict[str, str] | str:
    return value.zh if value.zh == value.en else {"zh": value.zh, "en": value.en}


def field_to_dict(field: FieldDef) -> dict[str, Any]:
    data: dict[str, Any] = {"key": field.key, "type": field.type, "label": label_to_dict(field.label)}
    if field.help is not None:
        data["help"] = label_to_dict(field.help)
    for flag in ("required", "unique", "readonly", "hidden", "index"):
        if getattr(field, flag):
            data[flag] = True
    for name in ("default", "default_formula", "default_link", "renamed_from"):
        if getattr(field, name) is not None:
            data[name] = getattr(field, name)
    data.update(field.settings)
    if field.fields:
        data["fields"] = [field_to_dict(child) for child in field.fields]
    return data


def rule_to_dict(rule: FormRule) -> dict[str, Any]:
    data: dict[str, Any] = {"key": rule.key, "when": rule.when, "actions": []}
    if rule.label is not None:
        data["label"] = label_to_dict(rule.label)
    for action in rule.actions:
        item: dict[str, Any] = {"type": action.type}
        if action.fields:
            item["fields"] = list(action.fields)
        if action.formula is not None:
            item["formula"] = action.formula
        if action.message is not None:
            item["message"] = label_to_dict(action.message)
        data["actions"].append(item)
    return data


def view_to_dict(view: ListView) -> dict[str, Any]:
    data: dict[str, Any] = {"key": view.key, "label": label_to_dict(view.label)}
    if view.columns:
        data["columns"] = list(view.columns)
    if view.filter is not None:
        data["filter"] = view.filter
    if view.sort:
        data["sort"] = [{"field": s.field, "desc": s.desc} if s.desc else {"field": s.field} for s in view.sort]
    if view.page_size != 50:
        data["page_size"] = view.page_size
    return data


def form_to_dict(form: FormDef) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema_version": form.schema_version,
        "key": form.key,
        "label": label_to_dict(form.label),
    }
    if form.description is not None:
        data["description"] = label_to_dict(form.description)
    if form.title_field:
        data["title_field"] = form.title_field
    data["fields"] = [field_to_dict(f) for f in form.fields]
    if form.layout:
        data["layout"] = [dict(item) for item in form.layout]
    if form.rules:
        data["rules"] = [rule_to_dict(r) for r in form.rules]
    if form.list_views:
        data["list_views"] = [view_to_dict(v) for v in form.list_views]
    if form.indexes:
        data["indexes"] = [
            {"fields": list(i.fields), **({"unique": True} if i.unique else {}),
             **({"key": i.key} if i.key else {})}
            for i in form.indexes
        ]
    return data


def manifest_to_dict(app: AppDef) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema_version": app.schema_version,
        "key": app.key,
        "label": label_to_dict(app.label),
        "version": app.version,
    }
    if app.description is not None:
        data["description"] = label_to_dict(app.description)
    for name in ("extends", "icon", "author", "license", "homepage"):
        if getattr(app, name):
            data[name] = getattr(app, name)
    if app.requires:
        data["requires"] = list(app.requires)
    return data
