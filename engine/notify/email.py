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
import smtplib
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, parseaddr
from typing import Any

from engine.core.i18n import Label
from engine.notify.channels import Channel, Delivery, DeliveryError
from engine.notify.settings import NotifySettings

# Headers unfolded up to SMTP's line limit: a receiver reads the key as written.
WIRE = compat32.clone(linesep="\r\n", max_line_length=998)
# Errors after which the connection is unusable: open a new one for the next message.
_CONNECTION_ERRORS = (smtplib.SMTPServerDisconnected, socket.timeout, TimeoutError, ConnectionError, OSError)


def message_id(key: str) -> str:
    """A Message-ID made from the idempotency key (the same key, the same id)."""
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@qiqiao>"


def recipients_of(delivery: Delivery) -> list[str]:
    recipients = [str(a) for a in delivery.payload.get("to") or [delivery.recipient]]
    for address in recipients:
        if "@" not in parseaddr(address)[1] or "\n" in address or "\r" in address:
            raise DeliveryError(f"not an e-mail address: {address[:200]}", retry=False)
    return recipients


def build_message(delivery: Delivery, mail_from: str) -> MIMENonMultipart | MIMEMultipart:
    """The mail: text, or text and HTML as alternatives. The compat32 MIME
    classes rather than ``EmailMessage``: they build a message in a third
    of the time (0.5 against 1.6 ms), which is most of what a worker spends
    on one (bench/rules_outbox.py)."""
    payload = delivery.payload
    text = MIMEText(str(payload.get("text") or ""), "plain", "utf-8")
    html = payload.get("html")
    message: MIMENonMultipart | MIMEMultipart = text
    if html:
        message = MIMEMultipart("alternative")
        message.attach(text)
        message.attach(MIMEText(str(html), "html", "utf-8"))
    message["From"] = formataddr(parseaddr(mail_from))
    message["To"] = ", ".join(recipients_of(delivery))
    message["Subject"] = Header(str(payload.get("subject") or "").replace("\n", " "), "utf-8").encode()
    message["Message-ID"] = message_id(delivery.idempotency_key)
    message["X-Qiqiao-Key"] = delivery.idempotency_key.replace("\n", " ")
    return message


class _Connection:
    """One SMTP connection, opened at the first message and again after a failure."""

    def __init__(self, settings: NotifySettings) -> None:
        if settings.smtp is None:
            raise DeliveryError("QIQIAO_SMTP_URL is not set: there is no mail server to send to", retry=False)
        self.settings = settings
        self.smtp = settings.smtp
        self.client: smtplib.SMTP | None = None

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

    def send(self, delivery: Delivery) -> Mapping[str, Any]:
        message = build_message(delivery, self.settings.mail_from)
        sender = parseaddr(self.settings.mail_from)[1]
        try:
            refused = self.open().sendmail(sender, recipients_of(delivery), message.as_bytes(policy=WIRE))
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
        return {"message_id": message["Message-ID"], "refused": sorted(refused)}

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
    def session(self, settings: Any) -> Iterator[Callable[[Delivery], Mapping[str, Any] | None]]:
        connection: _Connection | None = None

        def send(delivery: Delivery) -> Mapping[str, Any]:
            nonlocal connection
            if connection is None:
                connection = _Connection(settings)
            return connection.send(delivery)

        try:
            yield send
        finally:
            if connection is not None:
                connection.close()
