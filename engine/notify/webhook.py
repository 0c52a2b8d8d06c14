"""The ``webhook`` channel: an HTTP call a rule makes (``{"method", "url",
"headers", "body", "reply", "timeout"}``).

A 2xx is delivered and its JSON answer is kept on the outbox row; 408, 429,
a 5xx or a timeout are retried; any other 4xx is not. ``reply``, when set,
maps the answer back into the record that caused the call: ``{"app",
"form", "record_id", "fields": {"<field>": "<dotted path>"}, "rule"}`` —
the worker writes those fields through the record service as the system
(source ``rule``) once the call succeeded (``engine.notify.delivery``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from engine.core.i18n import Label
from engine.notify.channels import Channel, Delivery, DeliveryError
from engine.notify.http import call
from engine.records.actor import Actor

if TYPE_CHECKING:
    from engine.records.service import RecordService

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


def dig(data: Any, path: str) -> Any:
    """The value at a dotted path of a JSON answer (``data.items.0.id``); None when absent."""
    for step in path.split("."):
        if isinstance(data, Mapping):
            data = data.get(step)
        elif isinstance(data, list) and step.isdigit() and int(step) < len(data):
            data = data[int(step)]
        else:
            return None
    return data


class WebhookChannel(Channel):
    key = "webhook"
    label = Label("Webhook", "Webhook")
    default_on = True

    def deliver(self, delivery: Delivery, settings: Any) -> Mapping[str, Any] | None:
        payload = delivery.payload
        method = str(payload.get("method") or "POST").upper()
        if method not in METHODS:
            raise DeliveryError(f"unknown HTTP method {method[:20]}", retry=False)
        headers = payload.get("headers") or {}
        if not isinstance(headers, Mapping):
            raise DeliveryError("headers must be an object", retry=False)
        timeout = payload.get("timeout")
        seconds = float(timeout) if isinstance(timeout, int | float) and 0 < timeout <= 600 else settings.timeout
        body = payload.get("body") if method != "GET" else None
        reply = call(method, str(payload.get("url") or delivery.recipient), body=body, headers=headers,
                     timeout=seconds, key=delivery.idempotency_key)
        return reply.as_result()


def reply_writer(service_of: Callable[[str], RecordService]) -> Callable[[Delivery, Mapping[str, Any]], None]:
    """What the worker calls after a webhook succeeded: the ``reply``
    mapping's fields, read from the JSON answer, written to the record as
    the system (source ``rule``) through the app's record service —
    validated and audited like any other change."""

    def write(delivery: Delivery, result: Mapping[str, Any]) -> None:
        reply = delivery.payload.get("reply")
        if not isinstance(reply, Mapping):
            return
        fields = reply.get("fields") or {}
        changes = {str(name): dig(result.get("body"), str(path)) for name, path in fields.items()}
        if not changes:
            return
        service = service_of(str(reply["app"]))
        service.update(str(reply["form"]), int(reply["record_id"]), changes, version=None,
                       actor=Actor(None, "rule"))

    return write
