"""The ``email`` channel: multipart mail (text, and HTML when there is
some) over SMTP (``QIQIAO_SMTP_URL``).

A batch shares one SMTP connection (``session``): opening one per message
costs a TCP handshake, the greeting and EHLO (and TLS and a login), which
is most of a small message's time. The message's idempotency key is its
``Message-ID`` and its ``X-Qiqiao-Key`` header, so a receiver that gets a
message twice (a worker killed after sending, before recording it) can drop
the repeat.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from email.utils import parseaddr
from typing import Any

from engine.core.i18n import Label
from engine.notify.channels import Channel, Delivery, DeliveryError
from engine.notify.mime import header_value, mime_bytes
from engine.notify.settings import NotifySettings

# Errors after which the connection is unusable: open a new one for the next message.
_CONNECTION_ERRORS = (smtplib.SMTPServerDisconnected, socket.timeout, TimeoutError, ConnectionError, OSError)


def message_id(key: str) -> str:
    """A Message-ID made from the idempotency key (the same key, the same id)."""
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@qiqiao>"


ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+")


def recipients_of(delivery: Delivery) -> list[str]:
    """The bare addresses the mail goes to; a malformed one is not worth retrying."""
    recipients = []
    for given in delivery.payload.get("to") or [delivery.recipient]:
        address = str(given).strip()
        if "<" in address:
            address = parseaddr(address)[1]
        if not ADDRESS.fullmatch(address):
            raise DeliveryError(f"not an e-mail address: {str(given)[:200]}", retry=False)
        recipients.append(address)
    return recipients


def build_message(delivery: Delivery, sender: str, recipients: list[str]) -> bytes:
    """The mail's bytes; ``sender`` is the From header, already encoded."""
    payload = delivery.payload
    html = payload.get("html")
    return mime_bytes((
        ("From", sender),
        ("To", ", ".join(recipients)),
        ("Subject", header_value(str(payload.get("subject") or ""))),
        ("Message-ID", message_id(delivery.idempotency_key)),
        ("X-Qiqiao-Key", header_value(delivery.idempotency_key)),
    ), str(payload.get("text") or ""), str(html) if html else None)


def from_header(mail_from: str) -> str:
    name, address = parseaddr(mail_from)
    return f"{header_value(name)} <{address}>" if name else address


DOT_LINE = re.compile(rb"(?m)^\.")


def transfer(client: smtplib.SMTP, sender: str, recipients: list[str], message: bytes,
             settle: Callable[[], None]) -> dict[str, tuple[int, bytes]]:
    """``smtplib.SMTP.sendmail`` with ``settle()`` called after the server
    said go ahead with the data and before the final dot (when it takes
    the message): the envelope's round trips overlap the recording of the
    previous message, and that message is recorded before this one arrives."""
    client.ehlo_or_helo_if_needed()
    code, answer = client.mail(sender)
    if code != 250:
        _reset(client)
        raise smtplib.SMTPSenderRefused(code, answer, sender)
    refused: dict[str, tuple[int, bytes]] = {}
    for recipient in recipients:
        code, answer = client.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, answer)
    if len(refused) == len(recipients):
        _reset(client)
        raise smtplib.SMTPRecipientsRefused(refused)
    client.putcmd("data")
    code, answer = client.getreply()
    if code != 354:
        _reset(client)
        raise smtplib.SMTPDataError(code, answer)
    settle()
    data = DOT_LINE.sub(b"..", message)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    client.send(data + b".\r\n")
    code, answer = client.getreply()
    if code != 250:
        _reset(client)
        raise smtplib.SMTPDataError(code, answer)
    return refused


def _reset(client: smtplib.SMTP) -> None:
    with suppress(smtplib.SMTPException, *_CONNECTION_ERRORS):
        client.rset()


class _Connection:
    """One SMTP connection, opened at the first message and again after a failure."""

    def __init__(self, settings: NotifySettings) -> None:
        if settings.smtp is None:
            raise DeliveryError("QIQIAO_SMTP_URL is not set: there is no mail server to send to", retry=False)
        self.settings = settings
        self.smtp = settings.smtp
        self.client: smtplib.SMTP | None = None
        self.sender = from_header(settings.mail_from)
        self.envelope_from = parseaddr(settings.mail_from)[1]

    def open(self) -> smtplib.SMTP:
        if self.client is None:
            smtp, timeout = self.smtp, self.settings.timeout
            client = (smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout) if smtp.ssl
                      else smtplib.SMTP(smtp.host, smtp.port, timeout=timeout))
            if smtp.starttls:
                client.starttls()
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            self.client = client
        return self.client

    def send(self, delivery: Delivery, settle: Callable[[], None]) -> Mapping[str, Any]:
        recipients = recipients_of(delivery)
        message = build_message(delivery, self.sender, recipients)
        try:
            refused = transfer(self.open(), self.envelope_from, recipients, message, settle)
        except smtplib.SMTPRecipientsRefused as error:
            raise DeliveryError(f"the mail server refused {', '.join(error.recipients)}", retry=False) from None
        except smtplib.SMTPResponseException as error:
            self.close()
            text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else ""
            raise DeliveryError(f"SMTP {error.smtp_code}: {text[:300]}",
                                retry=not 500 <= error.smtp_code < 600) from None
        except (smtplib.SMTPException, *_CONNECTION_ERRORS) as error:
            self.close()
            raise DeliveryError(f"SMTP {self.smtp.host}:{self.smtp.port}: {error}", retry=True) from None
        return {"message_id": message_id(delivery.idempotency_key), "refused": sorted(refused)}

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            with suppress(smtplib.SMTPException, *_CONNECTION_ERRORS):
                client.quit()


class EmailChannel(Channel):
    key = "email"
    label = Label("邮件", "Email")
    default_on = True

    def deliver(self, delivery: Delivery, settings: Any) -> Mapping[str, Any] | None:
        with self.session(settings) as send:
            return send(delivery)

    @contextmanager
    def session(self, settings: Any, settle: Callable[[], None] = lambda: None,
                ) -> Iterator[Callable[[Delivery], Mapping[str, Any] | None]]:
        connection: _Connection | None = None

        def send(delivery: Delivery) -> Mapping[str, Any]:
            nonlocal connection
            if connection is None:
                connection = _Connection(settings)
            return connection.send(delivery, settle)

        try:
            yield send
        finally:
            if connection is not None:
                connection.close()
