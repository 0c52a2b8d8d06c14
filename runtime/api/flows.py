"""Approval flows over HTTP (docs/api.md, "Approvals"):

- ``GET /tasks`` (``box=todo|done|cc|submitted``, ``app``, ``search``,
  ``before``, ``limit``): one page of the reader's box, newest first, with
  the badge counts and ``next`` (pass it as ``before``);
- ``GET /tasks/{id}``: the task, its instance, the record as the task shows
  it with each field's right, and the actions offered (a copy is marked read);
- ``POST /tasks/{id}/{action}``: approve, reject, return, transfer,
  add_sign, complete (body: comment, files, values, version, to, users,
  position, node); ``POST /tasks/batch/{action}`` ``{ids, comment}``;
- ``GET|POST /apps/{app}/forms/{form}/records/{id}/submit``: what submitting
  needs (path, choices) | submit ``{flow, chosen, comment, files}``;
- ``GET /apps/{app}/forms/{form}/records/{id}/flows``: the record's instances;
- ``GET /flows/instances/{id}``: instance, history, graph and actions;
  ``POST /flows/instances/{id}/withdraw|urge|comments``.

Thin: everything is decided by ``FlowEngine`` with the reader's ``Actor``.
Someone else's task, or an instance one has no part in, is 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, request

from engine.core.errors import NotFoundError, ValidationError
from engine.core.i18n import Label
from engine.flows.engine import FlowEngine
from engine.flows.task_actions import TASK_ACTIONS
from engine.flows.views import TaskView
from engine.records.actor import Actor
from runtime.api.params import known, refuse, whole
from runtime.api.records import check_id, form_service, record_json
from runtime.auth import actor_for, authenticate_request
from runtime.jsonio import json_body, json_response
from runtime.services import current_services

bp = Blueprint("flows", __name__)

BOXES = ("todo", "done", "cc", "submitted")
ACT_FIELDS = ("comment", "files", "values", "version", "to", "users", "position", "node")
SUBMIT_FIELDS = ("flow", "chosen", "comment", "files")
RECORD = "/apps/<app_key>/forms/<form_key>/records/<int:record_id>"
BATCH_MAX = 200


def flows() -> FlowEngine:
    return current_services().flows


def _invalid(name: str, zh: str, en: str) -> ValidationError:
    message = Label(f"{name}：{zh}", f"{name}: {en}")
    return ValidationError(message, field_errors={name: [message]})


def body_of(allowed: tuple[str, ...], *, empty_ok: bool = True) -> dict[str, Any]:
    """The JSON body with only ``allowed`` keys (an empty body is ``{}`` when ``empty_ok``)."""
    if empty_ok and not request.get_data(cache=True).strip():
        return {}
    body = json_body()
    extra = sorted(set(body) - set(allowed))
    if extra:
        raise _invalid(extra[0], f"未知字段（可用：{', '.join(allowed)}）", f"unknown field (known: {', '.join(allowed)})")
    return body


def text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise _invalid(key, "应为文本", "must be text")
    return value


def ids(body: Mapping[str, Any], key: str) -> list[int]:
    value = body.get(key, [])
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
        raise _invalid(key, "应为正整数列表", "must be a list of positive whole numbers")
    return value


def files_of(body: Mapping[str, Any]) -> list[str]:
    value = body.get("files", [])
    if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise _invalid("files", "应为已上传文件的 id 列表", "must be a list of uploaded file ids")
    return [str(v) for v in value]


def one_id(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise _invalid(key, "应为正整数", "must be a positive whole number")
    return value


def chosen_of(body: Mapping[str, Any]) -> dict[str, list[int]]:
    value = body.get("chosen", {})
    if not isinstance(value, dict):
        raise _invalid("chosen", "应为 {节点: [用户 id]}", "must be {node: [user ids]}")
    return {str(node): ids(value, node) for node in value}


def person() -> Actor:
    """The reader with no app's rights: enough to find their own task (the assignee is checked)."""
    return Actor(user_id=authenticate_request().user_id, source="api")


def task_actor(task_id: int) -> tuple[TaskView, Actor]:
    task = flows().read_task(task_id, actor=person())
    return task, actor_for(task.app)


def instance_actor(instance_id: int) -> Actor:
    """The reader as the instance's app knows them (the engine decides whether they take part)."""
    return actor_for(flows().app_of(instance_id))


def action_of(action: str) -> str:
    if TASK_ACTIONS.find(action) is None:
        raise NotFoundError(Label(f"没有 {action} 这个操作（可用：{', '.join(TASK_ACTIONS.keys())}）",
                                  f"No action {action} (known: {', '.join(TASK_ACTIONS.keys())})"),
                            details={"action": action})
    return action


def record_of(instance_id: int, actor: Actor) -> dict[str, Any]:
    """The record as the flow shows it to ``actor``, ready for JSON, and each field's right."""
    engine = flows()
    view = engine.instance(instance_id, actor=actor)
    record, rights = engine.record_view(instance_id, actor=actor)
    service = engine.records.get(view.app)
    return {"record": record_json(service, view.form).encode(dict(record)), "fields": rights}


# --- the inbox ---------------------------------------------------------------------
@bp.get("/tasks")
def list_tasks() -> Response:
    me = authenticate_request().user_id
    known(("box", "app", "search", "before", "limit"))
    box = request.args.get("box") or "todo"
    if box not in BOXES:
        raise refuse("box", f"应为 {' / '.join(BOXES)}", f"must be one of {', '.join(BOXES)}")
    page = flows().tasks(me, box, app=request.args.get("app") or None, search=request.args.get("search") or None,
                         before=whole("before"), limit=whole("limit", high=200) or 50)
    return json_response({"tasks": [t.as_json() for t in page.items], "next": page.next_before,
                          "counts": flows().counts(me)})


@bp.get("/tasks/<int:task_id>")
def get_task(task_id: int) -> Response:
    task, actor = task_actor(task_id)
    engine = flows()
    return json_response({
        "task": task.as_json(), "instance": engine.instance(task.instance_id, actor=actor).as_json(),
        **record_of(task.instance_id, actor),
        "actions": [a.as_json() for a in engine.actions_for(task.instance_id, actor=actor)]})


@bp.post("/tasks/<int:task_id>/<action>")
def act(task_id: int, action: str) -> Response:
    body = body_of(ACT_FIELDS)
    values = body.get("values")
    if values is not None and not isinstance(values, dict):
        raise _invalid("values", "应为 {字段: 值}", "must be {field: value}")
    position, node = text(body, "position"), text(body, "node")
    _task, actor = task_actor(task_id)
    view = flows().act(task_id, action_of(action), actor=actor, comment=text(body, "comment"), files=files_of(body),
                       values=values, version=one_id(body, "version"), to=one_id(body, "to"),
                       users=ids(body, "users"), position=position, node=node)
    return json_response(view.as_json())


@bp.post("/tasks/batch/<action>")
def act_many(action: str) -> Response:
    body = body_of(("ids", "comment"), empty_ok=False)
    task_ids = ids(body, "ids")
    if not task_ids or len(task_ids) > BATCH_MAX:
        raise _invalid("ids", f"应有 1 到 {BATCH_MAX} 个", f"must hold 1 to {BATCH_MAX} task ids")
    results = flows().act_many(task_ids, action_of(action), actor=person(), comment=text(body, "comment"))
    return json_response({"results": [r.as_json() for r in results],
                          "done": sum(1 for r in results if r.ok), "failed": sum(1 for r in results if not r.ok)})


# --- a record's flows ------------------------------------------------------------------
def _record_actor(app_key: str, form_key: str, record_id: int) -> Actor:
    _service, compiled = form_service(app_key, form_key)
    check_id(compiled, record_id)
    return actor_for(app_key)


@bp.get(f"{RECORD}/submit")
def start_options(app_key: str, form_key: str, record_id: int) -> Response:
    known(("flow",))
    actor = _record_actor(app_key, form_key, record_id)
    options = flows().start_options(app_key, form_key, record_id, actor=actor,
                                    flow=request.args.get("flow") or None)
    return json_response(options.as_json())


@bp.post(f"{RECORD}/submit")
def submit(app_key: str, form_key: str, record_id: int) -> Response:
    body = body_of(SUBMIT_FIELDS)
    chosen, comment, files, flow = chosen_of(body), text(body, "comment"), files_of(body), text(body, "flow")
    actor = _record_actor(app_key, form_key, record_id)
    view = flows().submit(app_key, form_key, record_id, actor=actor, flow=flow, chosen=chosen, comment=comment,
                          files=files)
    return json_response(view.as_json(), 201)


@bp.get(f"{RECORD}/flows")
def record_flows(app_key: str, form_key: str, record_id: int) -> Response:
    known(())
    actor = _record_actor(app_key, form_key, record_id)
    found = flows().instances(app_key, form_key, record_id, actor=actor)
    return json_response({"instances": [i.as_json() for i in found]})


# --- one instance ------------------------------------------------------------------------
@bp.get("/flows/instances/<int:instance_id>")
def get_instance(instance_id: int) -> Response:
    known(())
    actor = instance_actor(instance_id)
    engine = flows()
    return json_response({
        "instance": engine.instance(instance_id, actor=actor).as_json(),
        "history": [e.as_json() for e in engine.history(instance_id, actor=actor)],
        "graph": engine.graph(instance_id, actor=actor).as_json(),
        "actions": [a.as_json() for a in engine.actions_for(instance_id, actor=actor)]})


@bp.post("/flows/instances/<int:instance_id>/withdraw")
def withdraw(instance_id: int) -> Response:
    comment = text(body_of(("comment",)), "comment")
    return json_response(flows().withdraw(instance_id, actor=instance_actor(instance_id), comment=comment).as_json())


@bp.post("/flows/instances/<int:instance_id>/urge")
def urge(instance_id: int) -> Response:
    comment = text(body_of(("comment",)), "comment")
    return json_response(flows().urge(instance_id, actor=instance_actor(instance_id), comment=comment).as_json())


@bp.post("/flows/instances/<int:instance_id>/comments")
def add_comment(instance_id: int) -> Response:
    body = body_of(("comment", "files"), empty_ok=False)
    comment = text(body, "comment")
    if not comment or not comment.strip():
        raise _invalid("comment", "请填写评论", "write a comment")
    view = flows().comment(instance_id, actor=instance_actor(instance_id), comment=comment, files=files_of(body))
    return json_response(view.as_json(), 201)
