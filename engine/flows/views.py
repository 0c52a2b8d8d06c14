"""What the flow engine answers with: frozen views with ``as_json()``."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.core.i18n import Label
from engine.definitions.flow_files import FlowDef


def _json(value: Any) -> Any:
    if isinstance(value, Label):
        return {"zh": value.zh, "en": value.en}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not isinstance(getattr(value, f.name), FlowDef)}
    return value


class _View:
    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = _json(self)
        return data


@dataclass(frozen=True)
class InstanceView(_View):
    id: int
    app: str
    flow: str
    flow_label: Label
    form: str
    record_id: int
    title: str
    status: str
    submitter_id: int | None
    submitter_name: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    current: list[str]
    current_labels: list[Label]
    lock_version: int


@dataclass(frozen=True)
class TaskView(_View):
    id: int | None
    instance_id: int
    app: str
    flow: str
    flow_label: Label
    form: str
    record_id: int
    title: str
    node: str | None
    node_label: Label | None
    kind: str | None
    assignee_id: int | None
    box: str
    outcome: str | None
    created_at: dt.datetime
    acted_at: dt.datetime | None
    due_at: dt.datetime | None
    submitter_id: int | None
    submitter_name: str | None
    instance_status: str

    @property
    def task_id(self) -> int | None:
        return self.id


@dataclass(frozen=True)
class TaskPage(_View):
    items: list[TaskView]
    next_before: int | None


@dataclass(frozen=True)
class EventView(_View):
    id: int
    at: dt.datetime
    action: str
    node: str | None
    node_label: Label | None
    user_id: int | None
    user_name: str | None
    comment: str | None
    files: list[int]
    diff: dict[str, Any] | None
    detail: dict[str, Any] | None


@dataclass(frozen=True)
class Person(_View):
    user_id: int
    name: str
    outcome: str | None = None
    box: str | None = None
    task_id: int | None = None


@dataclass(frozen=True)
class GraphNode(_View):
    key: str
    type: str
    label: Label
    state: str  # done / current / waiting / skipped / rejected
    people: list[Person] = field(default_factory=list)
    branches: list[GraphBranch] = field(default_factory=list)


@dataclass(frozen=True)
class GraphBranch(_View):
    key: str
    label: Label
    taken: bool
    nodes: list[GraphNode]


@dataclass(frozen=True)
class GraphView(_View):
    instance_id: int
    status: str
    nodes: list[GraphNode]


@dataclass(frozen=True)
class AvailableAction(_View):
    key: str
    label: Label
    task_id: int | None
    needs: tuple[str, ...] = ()
    nodes: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class BatchResult(_View):
    task_id: int
    ok: bool
    error: Label | None = None


@dataclass(frozen=True)
class Choice(_View):
    node: str
    label: Label
    candidates: list[int]
    multiple: bool


@dataclass(frozen=True)
class PathStep(_View):
    node: str
    type: str
    label: Label
    people: list[int]


@dataclass(frozen=True)
class StartOptions(_View):
    flow: FlowDef | None
    can_submit: bool
    reason: Label | None
    choices: Sequence[Choice] = ()
    path: Sequence[PathStep] = ()

    def as_json(self) -> dict[str, Any]:
        data = super().as_json()
        data["flow"] = None if self.flow is None else {"key": self.flow.key, "label": _json(self.flow.label)}
        return data
