"""How the external channels reach the outside world, from the environment.

``NotifySettings.from_env(os.environ)`` is read once by whoever delivers
(the worker) and passed to every ``Channel.deliver``; a channel never reads
the environment itself, so a test hands it a loopback SMTP or HTTP server.
A malformed variable is a ``DefinitionError`` naming it.

============================  ==================================================
``QIQIAO_SMTP_URL``           ``smtp://user:pass@host:port?starttls=1`` (``smtps://`` for TLS from the start)
``QIQIAO_MAIL_FROM``          the From address (default ``qiqiao@localhost``)
``QIQIAO_SMS_PROVIDER``       ``log`` or ``http`` (default: ``http`` when ``QIQIAO_SMS_URL`` is set)
``QIQIAO_SMS_URL``            the HTTP gateway the ``http`` provider posts JSON to
``QIQIAO_SMS_TOKEN``          sent as ``Authorization: Bearer <token>`` when set
``QIQIAO_ROBOTS``             ``{"<name>": {"url": "...", "secret": "..."}}`` (DingTalk/WeCom/Feishu)
``QIQIAO_PUBLIC_URL``         makes message links absolute (default ``http://127.0.0.1:5000``)
``QIQIAO_HTTP_TIMEOUT``       seconds an SMTP or HTTP call may take (default 10)
``QIQIAO_OUTBOX_LEASE``       seconds a worker's claim on a batch lasts (default 120)
``QIQIAO_OUTBOX_BATCH``       messages claimed at a time (default 50)
``QIQIAO_OUTBOX_RECORD``      sent messages recorded together (default 10; at most
                              this many are sent twice after a crash)
============================  ==================================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from engine.core.errors import DefinitionError
from engine.core.i18n import Label

DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"
DEFAULT_MAIL_FROM = "qiqiao@localhost"
TRUE = frozenset({"1", "true", "yes", "on"})


def _bad(variable: str, zh: str, en: str) -> DefinitionError:
    return DefinitionError(Label(f"环境变量 {variable}：{zh}", f"Environment variable {variable}: {en}"),
                           details={"variable": variable})


@dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes: an SMTP server, with optional login and TLS."""

    host: str
    port: int
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False

    @classmethod
    def from_url(cls, url: str, variable: str = "QIQIAO_SMTP_URL") -> SmtpSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise _bad(variable, f"应形如 smtp://user:pass@host:port?starttls=1，而不是 {url!r}",
                       f"must look like smtp://user:pass@host:port?starttls=1, not {url!r}")
        try:
            port = parts.port
        except ValueError:
            raise _bad(variable, "端口应为 1 到 65535 的整数", "the port must be a whole number from 1 to 65535") from None
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        ssl = parts.scheme == "smtps"
        return cls(host=parts.hostname, port=port or (465 if ssl else 25),
                   user=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   starttls=query.get("starttls", "").lower() in TRUE, ssl=ssl)


@dataclass(frozen=True)
class Robot:
    """A group robot's webhook (DingTalk, WeCom or Feishu) and its signing secret."""

    url: str
    secret: str | None = None


def _robots(raw: str | None) -> dict[str, Robot]:
    if not raw:
        return {}
    variable = "QIQIAO_ROBOTS"
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise _bad(variable, f"不是有效的 JSON（{error}）", f"is not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise _bad(variable, '应为 {"名称": {"url": ..., "secret": ...}}', 'must be {"name": {"url": ..., "secret": ...}}')
    robots: dict[str, Robot] = {}
    for name, entry in data.items():
        url = entry.get("url") if isinstance(entry, dict) else None
        secret = entry.get("secret") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _bad(variable, f"机器人 {name} 缺少 http(s) 地址 url", f"robot {name} needs an http(s) url")
        if secret is not None and not isinstance(secret, str):
            raise _bad(variable, f"机器人 {name} 的 secret 应为文本", f"robot {name}: secret must be a string")
        robots[str(name)] = Robot(url=url, secret=secret or None)
    return robots


def _number(environ: Mapping[str, str], variable: str, default: float, high: float) -> float:
    raw = environ.get(variable)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value <= high:
        raise _bad(variable, f"应为大于 0、不超过 {high:g} 的数", f"must be a number above 0, at most {high:g}")
    return value


@dataclass(frozen=True)
class NotifySettings:
    """Everything the external channels need to deliver."""

    smtp: SmtpSettings | None = None
    mail_from: str = DEFAULT_MAIL_FROM
    sms_provider: str = "log"
    sms_url: str | None = None
    sms_token: str | None = None
    robots: Mapping[str, Robot] = field(default_factory=dict)
    public_url: str = DEFAULT_PUBLIC_URL
    timeout: float = 10.0
    lease_seconds: float = 120.0
    batch_size: int = 50
    record_every: int = 10

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> NotifySettings:
        smtp_url = environ.get("QIQIAO_SMTP_URL")
        sms_url = environ.get("QIQIAO_SMS_URL") or None
        provider = environ.get("QIQIAO_SMS_PROVIDER") or ("http" if sms_url else "log")
        if provider == "http" and not sms_url:
            raise _bad("QIQIAO_SMS_URL", "短信服务商 http 需要网关地址", "the http SMS provider needs the gateway's URL")
        return cls(
            smtp=SmtpSettings.from_url(smtp_url) if smtp_url else None,
            mail_from=environ.get("QIQIAO_MAIL_FROM") or DEFAULT_MAIL_FROM,
            sms_provider=provider, sms_url=sms_url, sms_token=environ.get("QIQIAO_SMS_TOKEN") or None,
            robots=_robots(environ.get("QIQIAO_ROBOTS")),
            public_url=(environ.get("QIQIAO_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/"),
            timeout=_number(environ, "QIQIAO_HTTP_TIMEOUT", 10.0, 600),
            lease_seconds=_number(environ, "QIQIAO_OUTBOX_LEASE", 120.0, 86400),
            batch_size=int(_number(environ, "QIQIAO_OUTBOX_BATCH", 50, 1000)),
            record_every=int(_number(environ, "QIQIAO_OUTBOX_RECORD", 10, 1000)),
        )

    def absolute(self, link: str | None) -> str | None:
        """A message link made absolute (links are stored as paths)."""
        if not link or link.startswith(("http://", "https://")):
            return link
        return f"{self.public_url}/{link.lstrip('/')}"
