"""The published definitions, for clients: which apps there are, their forms,
and each form's fields with what a client needs to show and fill them.

- ``GET /apps``: the installed apps;
- ``GET /apps/{app}/forms``: the forms the user may read, each with its fields;
- ``GET /apps/{app}/forms/{form}``: one form, with layout and list views.

A field is ``{key, type, label, help, required, unique, readonly, hidden,
computed, input, operators, settings, fields}``: ``settings`` are the type's
own (a select's ``options``, a number's ``precision``, a relation's
``target``); ``input`` says whether a create or patch may write it;
``operators`` are the filter operators it takes. Fields that no role of the
user shows are left out, and ``actions`` says what the user may do.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from engine.core.i18n import Label, label
from engine.definitions.model import AppDef, FieldDef, FormDef
from engine.definitions.serialize import view_to_dict
from engine.org.permissions import ACTIONS, FormRights
from engine.records.compiled import CompiledForm
from runtime.api.records import form_service
from runtime.auth import authenticate_request
from runtime.jsonio import json_response
from runtime.services import current_services

bp = Blueprint("definitions", __name__)


def label_json(value: Label | None) -> dict[str, str] | None:
    return None if value is None else {"zh": value.zh, "en": value.en}


def _settings(field: FieldDef) -> dict[str, Any]:
    settings = dict(field.settings)
    options = settings.get("options")
    if isinstance(options, list):
        settings["options"] = [
            {**option, "label": label_json(label(option.get("label") or str(option.get("key", ""))))}
            if isinstance(option, dict) else option
            for option in options
        ]
    return settings


def field_json(compiled: CompiledForm, field: FieldDef, ftype: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": field.key, "type": field.type, "label": label_json(field.label),
        "help": label_json(field.help), "required": field.required, "unique": field.unique,
        "readonly": field.readonly, "hidden": field.hidden, "computed": ftype.computed,
        "input": ftype.stored and not ftype.computed and not ftype.layout,
        "layout": ftype.layout, "operators": list(ftype.operators_for(field)),
        "default": field.default, "settings": _settings(field),
    }
    if field.fields:
        children = compiled.child_types.get(field.key, {})
        data["fields"] = [field_json(compiled, child, children[child.key]) for child in field.fields]
    return data


def _shown(rights: FormRights, key: str) -> bool:
    return rights.unrestricted or any(g.shows(key) for g in rights.readers)


def form_json(compiled: CompiledForm, rights: FormRights, *, full: bool) -> dict[str, Any]:
    form: FormDef = compiled.form
    data: dict[str, Any] = {
        "key": form.key, "label": label_json(form.label), "description": label_json(form.description),
        "title_field": form.title_field,
        "actions": [a for a in ACTIONS if rights.allows(a)],
        "fields": [field_json(compiled, f, compiled.types[f.key]) for f in form.fields if _shown(rights, f.key)],
    }
    if full:
        data["layout"] = [dict(item) for item in form.layout]
        data["list_views"] = [view_to_dict(v) | {"label": label_json(v.label)} for v in form.list_views]
    return data


def app_json(app: AppDef) -> dict[str, Any]:
    return {"key": app.key, "label": label_json(app.label), "version": app.version,
            "description": label_json(app.description), "forms": [f.key for f in app.forms]}


@bp.get("/apps")
def list_apps() -> Response:
    authenticate_request()
    records = current_services().records
    return json_response({"apps": [app_json(records.app(key)) for key in records.app_keys()]})


@bp.get("/apps/<app_key>/forms")
def list_forms(app_key: str) -> Response:
    identity = authenticate_request()
    services = current_services()
    service = services.records.get(app_key)
    access = services.identities.access(identity.user_id, app_key)
    forms = []
    for form in service.app.forms:
        rights = access.rights(form.key)
        if rights.allows("read") or rights.allows("create"):
            forms.append(form_json(service.form(form.key)[0], rights, full=False))
    return json_response({"app": app_json(service.app), "forms": forms})


@bp.get("/apps/<app_key>/forms/<form_key>")
def get_form(app_key: str, form_key: str) -> Response:
    identity = authenticate_request()
    _, compiled = form_service(app_key, form_key)
    rights = current_services().identities.access(identity.user_id, app_key).rights(form_key)
    return json_response(form_json(compiled, rights, full=True))
