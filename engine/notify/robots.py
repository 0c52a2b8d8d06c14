"""Group robots: ``dingtalk``, ``wecom`` and ``feishu``.

Each posts a markdown message (title, text, a link to the record) to a
group chat's webhook, named in ``QIQIAO_ROBOTS``. Their formats:

- DingTalk: ``{"msgtype": "markdown", "markdown": {"title", "text"}}``;
  with a secret, the URL carries ``timestamp`` (ms) and ``sign`` =
  base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")), URL-encoded;
- WeCom: ``{"msgtype": "markdown", "markdown": {"content"}}`` (the key is in the URL);
- Feishu: an ``interactive`` card (header, markdown, a button to the link);
  with a secret, ``timestamp`` (s) and ``sign`` = base64(HMAC-SHA256(key =
  f"{timestamp}\\n{secret}", message = "")) in the body.

They answer 200 with an error code in the body; a non-zero code is a
failure, retried only when it says the robot is throttled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote_plus

from engine.core.i18n import Label
from engine.notify.channels import Channel, Delivery, DeliveryError
from engine.notify.http import call
from engine.notify.settings import NotifySettings, Robot


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def feishu_sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class RobotChannel(Channel):
    """A group chat robot: the payload is ``{"robot", "title", "text", "link"}``."""

    default_on = True
    code_field: ClassVar[str] = "errcode"
    throttled: ClassVar[frozenset[int]] = frozenset()

    def deliver(self, delivery: Delivery, settings: Any) -> Mapping[str, Any] | None:
        name = str(delivery.payload.get("robot") or delivery.recipient)
        robot = settings.robots.get(name)
        if robot is None:
            known = ", ".join(settings.robots) or "none"
            raise DeliveryError(f"robot {name!r} is not configured in QIQIAO_ROBOTS (configured: {known})",
                                retry=False)
        link = settings.absolute(delivery.payload.get("link"))
        url, body = self.request(robot, str(delivery.payload.get("title") or ""),
                                 str(delivery.payload.get("text") or ""), link)
        reply = call("POST", url, body=body, timeout=settings.timeout, key=delivery.idempotency_key)
        code = reply.body.get(self.code_field) if isinstance(reply.body, dict) else None
        if code not in (None, 0):
            message = reply.body.get("errmsg") or reply.body.get("msg") or ""
            raise DeliveryError(f"{self.key} robot {name}: error {code} {message}"[:400],
                                retry=code in self.throttled)
        return reply.as_result()

    @abstractmethod
    def request(self, robot: Robot, title: str, text: str, link: str | None) -> tuple[str, dict[str, Any]]:
        """The URL to post to and the body, in this robot's format."""


def _with_link(text: str, link: str | None) -> str:
    return f"{text}\n\n[查看 / Open]({link})" if link else text


class DingTalkChannel(RobotChannel):
    key = "dingtalk"
    label = Label("钉钉群机器人", "DingTalk robot")
    throttled = frozenset({130101})  # sent too often: wait

    def request(self, robot: Robot, title: str, text: str, link: str | None) -> tuple[str, dict[str, Any]]:
        url = robot.url
        if robot.secret:
            stamp = int(time.time() * 1000)
            joiner = "&" if "?" in url else "?"
            url = f"{url}{joiner}timestamp={stamp}&sign={dingtalk_sign(robot.secret, stamp)}"
        return url, {"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n\n"
                                                                              f"{_with_link(text, link)}"}}


class WeComChannel(RobotChannel):
    key = "wecom"
    label = Label("企业微信群机器人", "WeCom robot")
    throttled = frozenset({45009})

    def request(self, robot: Robot, title: str, text: str, link: str | None) -> tuple[str, dict[str, Any]]:
        return robot.url, {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n{_with_link(text, link)}"}}


class FeishuChannel(RobotChannel):
    key = "feishu"
    label = Label("飞书群机器人", "Feishu robot")
    code_field = "code"
    throttled = frozenset({9499, 11232})

    def request(self, robot: Robot, title: str, text: str, link: str | None) -> tuple[str, dict[str, Any]]:
        elements: list[dict[str, Any]] = [{"tag": "markdown", "content": text}]
        if link:
            elements.append({"tag": "action", "actions": [{
                "tag": "button", "type": "primary", "url": link,
                "text": {"tag": "plain_text", "content": "查看 / Open"}}]})
        body: dict[str, Any] = {"msg_type": "interactive", "card": {
            "header": {"title": {"tag": "plain_text", "content": title}}, "elements": elements}}
        if robot.secret:
            stamp = int(time.time())
            body = {"timestamp": str(stamp), "sign": feishu_sign(robot.secret, stamp), **body}
        return robot.url, body


__all__ = ["DingTalkChannel", "FeishuChannel", "NotifySettings", "WeComChannel", "dingtalk_sign", "feishu_sign"]
