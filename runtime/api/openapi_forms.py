"""The OpenAPI schemas and paths of one form, built from its field types.

Each field type describes its own values (``FieldType.json_schema``); this
module assembles them: a record schema (system fields and every field,
blank allowed), an input schema for create (the fields a client may write,
required ones listed) and one for patch (nothing required, plus ``version``),
and the paths of the form's records, bulk calls, import and export.
"""

from __future__ import annotations

from typing import Any

from engine.definitions.model import FieldDef
from engine.fields.base import FieldType
from engine.records.compiled import CompiledForm
from engine.records.query import MAX_LIMIT, MAX_SEARCH_LENGTH

MAX_ID = 2**31 - 1
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
USER_ID = {"type": ["integer", "null"], "minimum": 1}
MOMENT = {"type": "string", "format": "date-time"}
SYSTEM_SCHEMAS: dict[str, dict[str, Any]] = {
    "id": {**ID_SCHEMA, "readOnly": True},
    "owner": {**USER_ID, "description": "The user responsible for the record"},
    "created_by": {**USER_ID, "readOnly": True},
    "created_at": {**MOMENT, "readOnly": True},
    "updated_by": {**USER_ID, "readOnly": True},
    "updated_at": {**MOMENT, "readOnly": True},
    "version": {**ID_SCHEMA, "readOnly": True, "description": "Optimistic lock: send it back to change the record"},
    "flow_status": {"type": ["string", "null"], "readOnly": True},
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def blank_allowed(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null (a field left blank reads back as null)."""
    if not schema:
        return {}
    extra: dict[str, Any] = {k: schema[k] for k in ("readOnly", "description", "title") if k in schema}
    inner = {k: v for k, v in schema.items() if k not in extra}
    return {"anyOf": [inner, {"type": "null"}], **extra}


def _described(field: FieldDef, schema: dict[str, Any]) -> dict[str, Any]:
    if not schema:
        return {"title": field.label.en, "description": field.label.zh}
    return {**schema, "title": field.label.en, "description": field.label.zh}


class FormSchemas:
    """Schemas and paths of one form of one app."""

    def __init__(self, app_key: str, compiled: CompiledForm, bulk_limit: int) -> None:
        self.app_key = app_key
        self.compiled = compiled
        self.form = compiled.form
        self.bulk_limit = bulk_limit
        self.name = f"{app_key}.{self.form.key}"
        self.base = f"/api/v1/apps/{app_key}/forms/{self.form.key}"

    def _fields(self) -> list[tuple[FieldDef, FieldType]]:
        return [(f, self.compiled.types[f.key]) for f in self.form.fields if not self.compiled.types[f.key].layout]

    def _inputs(self) -> list[tuple[FieldDef, FieldType]]:
        return [(f, t) for f, t in self._fields() if t.stored and not t.computed]

    # --- components ------------------------------------------------------------------
    def schemas(self) -> dict[str, Any]:
        record_properties: dict[str, Any] = dict(SYSTEM_SCHEMAS)
        for field, ftype in self._fields():
            schema = ftype.json_schema(field)
            if ftype.computed and schema:
                schema = {**schema, "readOnly": True}
            record_properties[field.key] = _described(field, blank_allowed(schema))
        inputs = {f.key: _described(f, blank_allowed(t.json_schema(f)) if not f.required else t.json_schema(f))
                  for f, t in self._inputs()}
        inputs["owner"] = {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ID,
                           "description": "The user responsible (default: the caller)"}
        required = [f.key for f, _ in self._inputs()
                    if f.required and f.default is None and not f.default_formula and not f.default_link
                    and not f.hidden]
        create: dict[str, Any] = {"type": "object", "title": f"New {self.form.label.en}",
                                  "properties": inputs, "additionalProperties": False}
        if required:
            create["required"] = required
        patch_properties = dict(inputs)
        patch_properties["version"] = {**ID_SCHEMA, "description": "The version read (or send If-Match)"}
        name = self.name
        return {
            name: {"type": "object", "title": self.form.label.en, "description": self.form.label.zh,
                   "properties": record_properties, "required": ["id"], "additionalProperties": False},
            f"{name}.page": {
                "type": "object", "required": ["records", "next"], "additionalProperties": False,
                "properties": {
                    "records": {"type": "array", "items": ref(name)},
                    "next": {"type": ["string", "null"], "description": "Cursor of the next page (after=)"},
                    "count": {"type": "integer", "minimum": 0},
                    "count_exact": {"type": "boolean"},
                },
            },
            f"{name}.create": create,
            f"{name}.patch": {"type": "object", "title": f"Changes to {self.form.label.en}",
                              "properties": patch_properties, "additionalProperties": False},
            f"{name}.bulk_create": {
                "type": "object", "required": ["records"], "additionalProperties": False,
                "properties": {"records": {"type": "array", "items": ref(f"{name}.create"),
                                           "maxItems": self.bulk_limit}},
            },
            f"{name}.bulk_patch": {
                "type": "object", "required": ["records"], "additionalProperties": False,
                "properties": {"records": {"type": "array", "maxItems": self.bulk_limit, "items": {
                    "allOf": [ref(f"{name}.patch"),
                              {"type": "object", "required": ["id", "version"],
                               "properties": {"id": ID_SCHEMA}}]}}},
            },
        }

    # --- parameters --------------------------------------------------------------------
    def _filter_schema(self) -> dict[str, Any]:
        keys = [f.key for f, t in self._fields() if t.operators_for(f)] + list(SYSTEM_SCHEMAS)
        condition = {"type": "object", "required": ["field", "op"], "additionalProperties": False,
                     "properties": {"field": {"type": "string", "examples": keys},
                                    "op": {"type": "string"}, "value": {}}}
        return {"anyOf": [condition,
                          {"type": "object", "additionalProperties": False, "required": ["and"],
                           "properties": {"and": {"type": "array", "items": condition}}},
                          {"type": "object", "additionalProperties": False, "required": ["or"],
                           "properties": {"or": {"type": "array", "items": condition}}}]}

    def list_parameters(self) -> list[dict[str, Any]]:
        views = [v.key for v in self.form.list_views]
        return [
            {"name": "filter", "in": "query", "description": "A filter (docs/filters.md) as JSON; "
             "conditions nest with and / or / not", "content": {"application/json": {"schema": self._filter_schema()}}},
            {"name": "sort", "in": "query", "description": "Field keys, comma-separated; -key for descending",
             "schema": {"type": "string", "examples": ["-updated_at", "name,-id"]}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                                        "default": 50}},
            {"name": "after", "in": "query", "description": "The next cursor of the previous page",
             "schema": {"type": "string"}},
            {"name": "fields", "in": "query", "description": "Field keys to return, comma-separated",
             "schema": {"type": "string"}},
            {"name": "search", "in": "query", "schema": {"type": "string", "maxLength": MAX_SEARCH_LENGTH}},
            {"name": "view", "in": "query", "description": "A list view: its filter, sort and columns",
             "schema": {"type": "string", **({"enum": views} if views else {})}},
            {"name": "count", "in": "query", "description": "Also count the matches (capped)",
             "schema": {"type": "boolean"}},
        ]

    # --- paths ---------------------------------------------------------------------------
    def paths(self, errors: Any) -> dict[str, Any]:
        """``errors(*statuses)`` gives the error responses of an operation."""
        name, label = self.name, self.form.label.en
        op = f"{self.app_key}_{self.form.key}"
        tags = [name]
        record = {"content": {"application/json": {"schema": ref(name)}}}
        etag = {"ETag": {"schema": {"type": "string"}, "description": "The record's version, quoted"}}
        record_id = {"name": "id", "in": "path", "required": True, "schema": ID_SCHEMA}
        if_match = {"name": "If-Match", "in": "header", "schema": {"type": "string", "pattern": r'^(W/)?"?\d+"?$'},
                    "description": "The version read, instead of version in the body"}

        def body(schema: str) -> dict[str, Any]:
            return {"required": True, "content": {"application/json": {"schema": ref(schema)}}}

        return {
            f"{self.base}/records": {
                "get": {"operationId": f"{op}_list", "summary": f"List {label} records", "tags": tags,
                        "parameters": self.list_parameters(),
                        "responses": {"200": {"description": "A page of records",
                                              "content": {"application/json": {"schema": ref(f"{name}.page")}}},
                                      **errors(400, 401, 403, 404)}},
                "post": {"operationId": f"{op}_create", "summary": f"Create a {label} record", "tags": tags,
                         "requestBody": body(f"{name}.create"),
                         "responses": {"201": {"description": "Created", **record, "headers": {
                             **etag, "Location": {"schema": {"type": "string"}}}},
                             **errors(400, 401, 403, 404, 409, 413, 415, 422)}},
            },
            f"{self.base}/records/{{id}}": {
                "parameters": [record_id],
                "get": {"operationId": f"{op}_get", "summary": f"Get a {label} record", "tags": tags,
                        "responses": {"200": {"description": "The record", **record, "headers": etag},
                                      **errors(401, 403, 404)}},
                "patch": {"operationId": f"{op}_update", "summary": f"Change a {label} record", "tags": tags,
                          "parameters": [if_match], "requestBody": body(f"{name}.patch"),
                          "responses": {"200": {"description": "The changed record", **record, "headers": etag},
                                        **errors(400, 401, 403, 404, 409, 413, 415, 422)}},
                "delete": {"operationId": f"{op}_delete", "summary": f"Delete a {label} record", "tags": tags,
                           "parameters": [if_match, {"name": "version", "in": "query", "schema": ID_SCHEMA}],
                           "responses": {"204": {"description": "Deleted"}, **errors(400, 401, 403, 404, 409)}},
            },
            f"{self.base}/records/bulk": {
                "post": {"operationId": f"{op}_bulk_create", "summary": f"Create many {label} records",
                         "tags": tags, "requestBody": body(f"{name}.bulk_create"),
                         "responses": {"201": {"description": "Created, all of them", "content": {
                             "application/json": {"schema": ref("BulkCreated")}}},
                             **errors(400, 401, 403, 404, 409, 413, 415, 422)}},
                "patch": {"operationId": f"{op}_bulk_update", "summary": f"Change many {label} records",
                          "tags": tags, "requestBody": body(f"{name}.bulk_patch"),
                          "responses": {"200": {"description": "Changed, all of them", "content": {
                              "application/json": {"schema": {
                                  "type": "object", "required": ["records", "count"],
                                  "properties": {"records": {"type": "array", "items": ref(name)},
                                                 "count": {"type": "integer"}}}}}},
                              **errors(400, 401, 403, 404, 409, 413, 415, 422)}},
            },
            f"{self.base}/import": {
                "post": {"operationId": f"{op}_import", "summary": f"Import {label} records from CSV or Excel",
                         "tags": tags, "requestBody": {"required": True, "content": {"multipart/form-data": {
                             "schema": {"type": "object", "required": ["file"], "properties": {
                                 "file": {"type": "string", "format": "binary",
                                          "contentMediaType": "application/octet-stream"},
                                 "options": {"type": "string",
                                             "description": "ImportOptions as JSON (docs/import-export.md)"}}}}}},
                         "responses": {"200": {"description": "The import report", "content": {
                             "application/json": {"schema": ref("ImportReport")}}},
                             **errors(400, 401, 403, 404, 413, 415, 422)}},
            },
            f"{self.base}/export": {
                "get": {"operationId": f"{op}_export", "summary": f"Export {label} records", "tags": tags,
                        "parameters": [
                            {"name": "format", "in": "query", "schema": {"enum": ["xlsx", "csv"], "default": "xlsx"}},
                            {"name": "header", "in": "query", "schema": {"enum": ["label", "key"], "default": "label"}},
                            *[p for p in self.list_parameters() if p["name"] in ("view", "filter", "fields", "sort", "search")],
                        ],
                        "responses": {"200": {"description": "The file", "content": {
                            XLSX: {"schema": {"type": "string", "contentMediaType": XLSX}},
                            "text/csv": {"schema": {"type": "string"}}}},
                            **errors(400, 401, 403, 404)}},
            },
        }

    def form_paths(self, errors: Any) -> dict[str, Any]:
        return {self.base: {"get": {
            "operationId": f"{self.app_key}_{self.form.key}_definition", "tags": [self.name],
            "summary": f"The {self.form.label.en} form: fields, layout, list views",
            "responses": {"200": {"description": "The form", "content": {"application/json": {
                "schema": ref("FormDefinition")}}}, **errors(401, 403, 404)}}}}
