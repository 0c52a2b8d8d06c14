"""The channel registry: the ways a notice reaches people.

A ``Channel`` says who it reaches and how it delivers. ``in_app`` is written
straight into the notification centre in the transaction of what caused it;
every other channel is *external*: the ``Notifier`` puts a message on the
outbox (``engine.notify.outbox``) and the worker calls the channel's
``deliver`` after commit, retrying what fails. The payload an external
channel receives is its own (docs/rules.md lists them):

- ``email``: ``{"to": [address], "subject", "text", "html"}``
- ``sms``: ``{"to": phone, "text"}``
- ``dingtalk`` / ``wecom`` / ``feishu``: ``{"robot": name, "title", "text", "link"}``
- ``webhook``: ``{"method", "url", "headers", "body", "reply"}``
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from engine.core.i18n import Label
from engine.core.registry import Registry


class DeliveryError(Exception):
    """A delivery that failed: ``retry`` False when trying again cannot help
    (a malformed address, a robot that is not configured)."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class Delivery:
    """One outbox message as a channel sees it."""

    id: int
    channel: str
    recipient: str
    payload: Mapping[str, Any]
    idempotency_key: str
    attempts: int


class Channel(ABC):
    """A way to reach people. ``external`` channels are delivered by the
    worker from the outbox; ``default_on`` is whether a user who never chose
    receives it."""

    key: ClassVar[str]
    label: ClassVar[Label]
    external: ClassVar[bool] = True
    default_on: ClassVar[bool] = True

    @abstractmethod
    def deliver(self, delivery: Delivery, settings: Any) -> Mapping[str, Any] | None:
        """Send ``delivery``; return what the receiver answered (kept on the
        outbox row), raise ``DeliveryError`` when it failed."""

    @contextmanager
    def session(self, settings: Any, settle: Callable[[], None] = lambda: None,
                ) -> Iterator[Callable[[Delivery], Mapping[str, Any] | None]]:
        """A sender for a run of this channel's messages. The worker sends
        a batch through one session, so a channel with a connection to keep
        (email: one SMTP connection) opens it once.

        ``settle`` waits until the previous message is recorded as sent; a
        sender calls it before the point after which the receiver has the
        message (here: before sending at all; email: before the final dot),
        so a worker killed at any moment leaves at most one message
        delivered but unrecorded, while the recording overlaps the
        network's round trips."""

        def send(delivery: Delivery) -> Mapping[str, Any] | None:
            settle()
            return self.deliver(delivery, settings)

        yield send


class InAppChannel(Channel):
    """The notification centre: written in the transaction, never via the outbox."""

    key = "in_app"
    label = Label("站内通知", "In-app")
    external = False

    def deliver(self, delivery: Delivery, settings: Any) -> Mapping[str, Any] | None:
        raise DeliveryError("in-app notices are written directly, not delivered", retry=False)


def build_channels() -> Registry[Channel]:
    from engine.notify.email import EmailChannel
    from engine.notify.robots import DingTalkChannel, FeishuChannel, WeComChannel
    from engine.notify.sms import SmsChannel
    from engine.notify.webhook import WebhookChannel

    registry: Registry[Channel] = Registry("channel")
    registry.register_all([InAppChannel(), EmailChannel(), SmsChannel(), DingTalkChannel(), WeComChannel(),
                           FeishuChannel(), WebhookChannel()])
    return registry


CHANNELS: Registry[Channel]


def __getattr__(name: str) -> Any:
    # Built at first use: the channel modules import this one for the base
    # classes, so building the registry at import time would be circular.
    if name == "CHANNELS":
        registry = globals().get("_built")
        if registry is None:
            registry = globals()["_built"] = build_channels()
        globals()["CHANNELS"] = registry
        return registry
    raise AttributeError(name)
