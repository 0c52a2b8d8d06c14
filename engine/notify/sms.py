"""The ``sms`` channel, through a provider interface.

SMS vendors each have their own API; a provider is the small adapter from
``{"to": phone, "text"}`` to one of them, in the ``SMS_PROVIDERS`` registry
(chosen by ``QIQIAO_SMS_PROVIDER``). Two are built in: ``http``, a generic
gateway that takes the message as JSON (``QIQIAO_SMS_URL``, with
``QIQIAO_SMS_TOKEN`` as a bearer token), and ``log``, which writes the
message to the log — the demo's default, so nothing is sent by accident.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.notify.channels import Channel, Delivery, DeliveryError
from engine.notify.http import call
from engine.notify.settings import NotifySettings

LOG = logging.getLogger("qiqiao.notify.sms")
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,19}$")


class SmsProvider(ABC):
    key: ClassVar[str]

    @abstractmethod
    def send(self, phone: str, text: str, key: str, settings: NotifySettings) -> Mapping[str, Any] | None:
        ...


class LogSmsProvider(SmsProvider):
    """Writes the message to the log (logger ``qiqiao.notify.sms``) instead of sending it."""

    key = "log"

    def send(self, phone: str, text: str, key: str, settings: NotifySettings) -> Mapping[str, Any] | None:
        LOG.info("SMS to %s: %s", phone, text)
        return {"logged": True}


class HttpSmsProvider(SmsProvider):
    """POSTs ``{"to", "text", "key"}`` to the gateway at ``QIQIAO_SMS_URL``."""

    key = "http"

    def send(self, phone: str, text: str, key: str, settings: NotifySettings) -> Mapping[str, Any] | None:
        headers = {"Authorization": f"Bearer {settings.sms_token}"} if settings.sms_token else {}
        reply = call("POST", settings.sms_url or "", body={"to": phone, "text": text, "key": key},
                     headers=headers, timeout=settings.timeout, key=key)
        return reply.as_result()


SMS_PROVIDERS: Registry[SmsProvider] = Registry("SMS provider")
SMS_PROVIDERS.register_all([LogSmsProvider(), HttpSmsProvider()])


class SmsChannel(Channel):
    key = "sms"
    label = Label("短信", "SMS")
    default_on = False  # it costs money per message: a user opts in

    def deliver(self, delivery: Delivery, settings: Any) -> Mapping[str, Any] | None:
        phone = str(delivery.payload.get("to") or delivery.recipient).strip()
        if not PHONE.match(phone):
            raise DeliveryError(f"not a phone number: {phone[:40]}", retry=False)
        provider = SMS_PROVIDERS.find(settings.sms_provider)
        if provider is None:
            raise DeliveryError(f"unknown SMS provider {settings.sms_provider!r} (known: "
                                f"{', '.join(SMS_PROVIDERS.keys())})", retry=False)
        return provider.send(phone, str(delivery.payload.get("text") or ""), delivery.idempotency_key, settings)
