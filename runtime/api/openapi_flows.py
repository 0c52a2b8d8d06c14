"""The OpenAPI description of the approval endpoints (runtime/api/flows.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.flows.task_actions import TASK_ACTIONS
from runtime.api.openapi_forms import ID_SCHEMA, MOMENT, ref

Errors = Callable[..., dict[str, Any]]
LABEL = {"type": "object", "required": ["zh", "en"], "properties": {"zh": {"type": "string"}, "en": {"type": "string"}}}
TEXT = {"type": ["string", "null"]}
WHEN = {"type": ["string", "null"], "format": "date-time"}
NUMBER = {"type": ["integer", "null"]}
NULL_LABEL = {"anyOf": [LABEL, {"type": "null"}]}
IDS = {"type": "array", "items": ID_SCHEMA}
FILES = {"type": "array", "items": {"type": "string"}, "description": "Ids of uploaded files (POST /api/v1/files)"}
BOXES = ["todo", "done", "cc", "submitted"]
INSTANCE_STATUSES = ["running", "approved", "rejected", "withdrawn"]


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


FLOW_SCHEMAS: dict[str, Any] = {
    "FlowInstance": _object(
        ["id", "app", "flow", "form", "record_id", "status", "current", "lock_version"],
        id=ID_SCHEMA, app={"type": "string"}, flow={"type": "string"}, flow_label=LABEL, form={"type": "string"},
        record_id=ID_SCHEMA, title={"type": "string"}, status={"enum": INSTANCE_STATUSES}, submitter_id=NUMBER,
        submitter_name=TEXT, started_at=MOMENT, ended_at=WHEN, current={"type": "array", "items": {"type": "string"}},
        current_labels={"type": "array", "items": LABEL},
        lock_version={"type": "integer", "description": "Send it back as version= when acting"}),
    "FlowTask": _object(
        ["id", "instance_id", "app", "form", "record_id", "box", "instance_status"],
        id={"type": ["integer", "null"], "description": "null in the submitted box (an instance, no task)"},
        instance_id=ID_SCHEMA, app={"type": "string"}, flow={"type": "string"}, flow_label=LABEL,
        form={"type": "string"}, record_id=ID_SCHEMA, title={"type": "string"}, node=TEXT, node_label=NULL_LABEL,
        kind=TEXT, assignee_id=NUMBER, box={"enum": BOXES}, outcome=TEXT, created_at=MOMENT, acted_at=WHEN,
        due_at=WHEN, submitter_id=NUMBER, submitter_name=TEXT, instance_status={"enum": INSTANCE_STATUSES}),
    "FlowEvent": _object(
        ["id", "at", "action"], id=ID_SCHEMA, at=MOMENT, action={"type": "string"}, node=TEXT, node_label=NULL_LABEL,
        user_id=NUMBER, user_name=TEXT, comment=TEXT, files={"type": "array", "items": {"type": "string"}},
        diff={"type": ["object", "null"]}, detail={"type": ["object", "null"]}),
    "FlowAction": _object(
        ["key", "label"], key={"type": "string"}, label=LABEL, task_id=NUMBER,
        needs={"type": "array", "items": {"type": "string"}}, nodes={"type": "array", "items": {"type": "object"}}),
    "FlowGraph": _object(["instance_id", "status", "nodes"], instance_id=ID_SCHEMA, status={"type": "string"},
                         nodes={"type": "array", "items": {"type": "object"},
                                "description": "key, type, label, state, people, branches (with taken and nodes)"}),
    "FlowInstanceDetail": _object(
        ["instance", "history", "graph", "actions"], instance=ref("FlowInstance"),
        history={"type": "array", "items": ref("FlowEvent")}, graph=ref("FlowGraph"),
        actions={"type": "array", "items": ref("FlowAction")}),
    "FlowTaskDetail": _object(
        ["task", "instance", "record", "fields", "actions"], task=ref("FlowTask"), instance=ref("FlowInstance"),
        record={"type": "object", "description": "The record as this task shows it (hidden fields left out)"},
        fields={"type": "object", "additionalProperties": {"enum": ["hidden", "readonly", "editable", "required"]}},
        actions={"type": "array", "items": ref("FlowAction")}),
    "FlowTaskPage": _object(
        ["tasks", "next", "counts"], tasks={"type": "array", "items": ref("FlowTask")},
        next={"type": ["integer", "null"], "description": "Pass as before= for the next page"},
        counts={"type": "object", "properties": {"todo": {"type": "integer"}, "cc": {"type": "integer"}}}),
    "FlowStartOptions": _object(
        ["flow", "can_submit", "reason", "choices", "path"],
        flow={"anyOf": [_object(["key", "label"], key={"type": "string"}, label=LABEL), {"type": "null"}]},
        can_submit={"type": "boolean"}, reason=NULL_LABEL,
        choices={"type": "array", "items": _object(["node", "candidates", "multiple"], node={"type": "string"},
                                                    label=LABEL, candidates=IDS, multiple={"type": "boolean"})},
        path={"type": "array", "items": _object(["node", "type", "people"], node={"type": "string"},
                                                 type={"type": "string"}, label=LABEL, people=IDS)}),
    "FlowBatchResult": _object(
        ["results", "done", "failed"], done={"type": "integer"}, failed={"type": "integer"},
        results={"type": "array", "items": _object(["task_id", "ok"], task_id=ID_SCHEMA, ok={"type": "boolean"},
                                                    error=NULL_LABEL)}),
}


def _body(required: bool, *names: str, **schemas: Any) -> dict[str, Any]:
    properties = {name: schemas.get(name, TEXT) for name in names}
    return {"required": required, "content": {"application/json": {"schema": {
        "type": "object", "additionalProperties": False, "properties": properties,
        "required": [n for n in names if n in schemas.get("_required", ())]}}}}


def _op(errors: Errors, name: str, summary: str, answer: dict[str, Any], *statuses: int,
        status: str = "200", **extra: Any) -> dict[str, Any]:
    return {"operationId": name, "summary": summary, "tags": ["approvals"],
            "responses": {status: {"description": summary, "content": {"application/json": {"schema": answer}}},
                          **errors(401, *statuses)}, **extra}


def flow_paths(errors: Errors) -> dict[str, Any]:
    """The paths of /tasks and /flows/instances."""
    by_id = [{"name": "id", "in": "path", "required": True, "schema": ID_SCHEMA}]
    action = [{"name": "action", "in": "path", "required": True, "schema": {"enum": TASK_ACTIONS.keys()}}]
    changes = (400, 403, 404, 409, 413, 415, 422)
    act_body = _body(False, "comment", "files", "values", "version", "to", "users", "position", "node",
                     files=FILES, values={"type": "object", "description": "Field changes the node allows"},
                     version=ID_SCHEMA, to=ID_SCHEMA, users=IDS, position={"enum": ["before", "after"]})
    query = [{"name": n, "in": "query", "schema": s} for n, s in (
        ("box", {"enum": BOXES}), ("app", {"type": "string"}), ("search", {"type": "string"}),
        ("before", ID_SCHEMA), ("limit", {"type": "integer", "minimum": 1, "maximum": 200}))]
    comment_body = _body(False, "comment")
    return {
        "/api/v1/tasks": {"get": _op(errors, "list_flow_tasks", "My approval tasks: todo, done, cc or submitted",
                                     ref("FlowTaskPage"), 400, parameters=query)},
        "/api/v1/tasks/{id}": {"parameters": by_id, "get": _op(
            errors, "get_flow_task", "One of my tasks with its record and the actions offered",
            ref("FlowTaskDetail"), 403, 404)},
        "/api/v1/tasks/{id}/{action}": {"parameters": by_id + action, "post": _op(
            errors, "act_on_flow_task", "Approve, reject, return, transfer, add-sign or complete a task",
            ref("FlowInstance"), *changes, requestBody=act_body)},
        "/api/v1/tasks/batch/{action}": {"parameters": action, "post": _op(
            errors, "act_on_flow_tasks", "The same action on many of my tasks, each on its own",
            ref("FlowBatchResult"), *changes, requestBody=_body(
                True, "ids", "comment", ids={**IDS, "minItems": 1, "maxItems": 200}, _required=("ids",)))},
        "/api/v1/flows/instances/{id}": {"parameters": by_id, "get": _op(
            errors, "get_flow_instance", "An instance with its history, graph and the actions offered",
            ref("FlowInstanceDetail"), 400, 403, 404)},
        "/api/v1/flows/instances/{id}/withdraw": {"parameters": by_id, "post": _op(
            errors, "withdraw_flow_instance", "Withdraw my submission while nobody has acted",
            ref("FlowInstance"), *changes, requestBody=comment_body)},
        "/api/v1/flows/instances/{id}/urge": {"parameters": by_id, "post": _op(
            errors, "urge_flow_instance", "Remind the current approvers (once an hour)",
            ref("FlowInstance"), *changes, requestBody=comment_body)},
        "/api/v1/flows/instances/{id}/comments": {"parameters": by_id, "post": _op(
            errors, "comment_flow_instance", "Comment on an instance I take part in", ref("FlowInstance"),
            *changes, status="201", requestBody=_body(True, "comment", "files", comment={"type": "string"},
                                                      files=FILES, _required=("comment",)))},
    }


def record_flow_paths(base: str, name: str, form_label: str, errors: Errors) -> dict[str, Any]:
    """One form's submit and instances paths (``base``: its records path)."""
    by_id = [{"name": "id", "in": "path", "required": True, "schema": ID_SCHEMA}]
    chosen = {"type": "object", "additionalProperties": IDS, "description": "Per node: the people picked"}
    return {
        f"{base}/{{id}}/submit": {"parameters": by_id, "get": _op(
            errors, f"{name}_start_options", f"What submitting a {form_label} for approval needs",
            ref("FlowStartOptions"), 400, 403, 404,
            parameters=[{"name": "flow", "in": "query", "schema": {"type": "string"}}]), "post": _op(
            errors, f"{name}_submit", f"Submit a {form_label} for approval", ref("FlowInstance"),
            400, 403, 404, 409, 413, 415, 422, status="201",
            requestBody=_body(False, "flow", "chosen", "comment", "files", chosen=chosen, files=FILES))},
        f"{base}/{{id}}/flows": {"parameters": by_id, "get": _op(
            errors, f"{name}_flows", f"A {form_label}'s approval instances, newest first",
            {"type": "object", "required": ["instances"], "properties": {
                "instances": {"type": "array", "items": ref("FlowInstance")}}}, 400, 403, 404)},
    }
