"""The external channels against real receivers on loopback: mail through
aiosmtpd, robots, SMS gateways and webhooks through an HTTP server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import pytest

from engine.core.errors import DefinitionError
from engine.notify.channels import CHANNELS, Delivery, DeliveryError
from engine.notify.email import message_id
from engine.notify.settings import NotifySettings
from tests.notify.sinks import HttpSink, SmtpSink, http_sink, smtp_sink


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="module")
def http() -> Iterator[HttpSink]:
    with http_sink() as sink:
        yield sink


def settings(smtp: SmtpSink | None = None, http: HttpSink | None = None, **environ: str) -> NotifySettings:
    base = {"QIQIAO_MAIL_FROM": "七巧 <crm@example.com>", "QIQIAO_HTTP_TIMEOUT": "2",
            "QIQIAO_PUBLIC_URL": "https://crm.example.com"}
    if smtp is not None:
        base["QIQIAO_SMTP_URL"] = smtp.url
    if http is not None:
        base["QIQIAO_ROBOTS"] = (
            f'{{"sales": {{"url": "{http.url("/ding")}", "secret": "SECabc"}},'
            f' "ops": {{"url": "{http.url("/wecom")}"}},'
            f' "fs": {{"url": "{http.url("/feishu")}", "secret": "fsecret"}}}}')
    return NotifySettings.from_env({**base, **environ})


def delivery(channel: str, recipient: str, payload: dict[str, Any], key: str = "rule:crm.x:run:1") -> Delivery:
    return Delivery(id=1, channel=channel, recipient=recipient, payload=payload, idempotency_key=key, attempts=1)


def test_email_is_multipart_text_and_html_with_the_key_as_message_id(smtp: SmtpSink) -> None:
    smtp.clear()
    key = "rule:crm.renewal:run:7:email:li@example.com"
    CHANNELS.get("email").deliver(delivery("email", "li@example.com", {
        "to": ["li@example.com"], "subject": "合同即将到期 <HT-001>", "text": "请跟进续约。",
        "html": "<p>请跟进<b>续约</b>。</p>"}, key), settings(smtp))
    smtp.wait_for(1)
    mail = smtp.messages[0]
    assert mail["Subject"] == "合同即将到期 <HT-001>"
    assert mail["To"] == "li@example.com"
    sender = mail["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("七巧", "crm@example.com")
    assert mail["Message-ID"] == message_id(key)
    assert mail["X-Qiqiao-Key"] == key
    assert mail.get_content_type() == "multipart/alternative"
    assert mail.get_body(("plain",)).get_content().strip() == "请跟进续约。"
    assert mail.get_body(("html",)).get_content().strip() == "<p>请跟进<b>续约</b>。</p>"


def test_email_without_html_is_plain_text(smtp: SmtpSink) -> None:
    smtp.clear()
    CHANNELS.get("email").deliver(delivery("email", "a@example.com", {
        "to": ["a@example.com"], "subject": "Hi", "text": "Plain only", "html": None}), settings(smtp))
    smtp.wait_for(1)
    assert smtp.messages[0].get_content_type() == "text/plain"
    assert smtp.messages[0].get_content().strip() == "Plain only"


def test_one_session_sends_a_batch_over_one_connection(smtp: SmtpSink) -> None:
    smtp.clear()
    with CHANNELS.get("email").session(settings(smtp)) as send:
        for n in range(5):
            send(delivery("email", "a@example.com", {"to": ["a@example.com"], "subject": f"#{n}", "text": "x"},
                          key=f"batch:{n}"))
    smtp.wait_for(5)
    assert sorted(smtp.counts()) == [f"batch:{n}" for n in range(5)]


def test_email_failures_say_whether_to_retry(smtp: SmtpSink) -> None:
    email = CHANNELS.get("email")
    with pytest.raises(DeliveryError) as bad_address:
        email.deliver(delivery("email", "nobody", {"to": ["nobody"], "subject": "x", "text": "x"}), settings(smtp))
    assert not bad_address.value.retry and "nobody" in str(bad_address.value)
    with pytest.raises(DeliveryError) as unset:
        email.deliver(delivery("email", "a@example.com", {"to": ["a@example.com"], "text": "x"}), settings())
    assert not unset.value.retry and "QIQIAO_SMTP_URL" in str(unset.value)
    closed = NotifySettings.from_env({"QIQIAO_SMTP_URL": "smtp://127.0.0.1:1", "QIQIAO_HTTP_TIMEOUT": "1"})
    with pytest.raises(DeliveryError) as down:
        email.deliver(delivery("email", "a@example.com", {"to": ["a@example.com"], "text": "x"}), closed)
    assert down.value.retry


def _dingtalk_sign_is_valid(query: dict[str, str], secret: str) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), f"{query['timestamp']}\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
    return query["sign"] == expected  # the server decodes the URL-encoded value


def test_dingtalk_markdown_is_signed(http: HttpSink) -> None:
    http.answers["/ding"] = (200, {"errcode": 0, "errmsg": "ok"})
    result = CHANNELS.get("dingtalk").deliver(delivery("dingtalk", "sales", {
        "robot": "sales", "title": "工单超时", "text": "**T-9** 已超过 SLA", "link": "/a/crm/ticket/9"}),
        settings(http=http))
    seen = http.seen("/ding")[-1]
    assert _dingtalk_sign_is_valid(seen.query, "SECabc")
    assert not _dingtalk_sign_is_valid({**seen.query, "sign": quote_plus(seen.query["sign"])}, "SECabc")
    assert seen.body["msgtype"] == "markdown"
    assert seen.body["markdown"]["title"] == "工单超时"
    assert "https://crm.example.com/a/crm/ticket/9" in seen.body["markdown"]["text"]
    assert "**T-9** 已超过 SLA" in seen.body["markdown"]["text"]
    assert result == {"status": 200, "body": {"errcode": 0, "errmsg": "ok"}}


def test_robot_error_codes_fail_and_only_throttling_is_retried(http: HttpSink) -> None:
    ding = CHANNELS.get("dingtalk")
    payload = {"robot": "sales", "title": "t", "text": "x", "link": None}
    http.answers["/ding"] = (200, {"errcode": 310000, "errmsg": "sign not match"})
    with pytest.raises(DeliveryError) as refused:
        ding.deliver(delivery("dingtalk", "sales", payload), settings(http=http))
    assert not refused.value.retry and "310000" in str(refused.value)
    http.answers["/ding"] = (200, {"errcode": 130101, "errmsg": "send too fast"})
    with pytest.raises(DeliveryError) as throttled:
        ding.deliver(delivery("dingtalk", "sales", payload), settings(http=http))
    assert throttled.value.retry
    with pytest.raises(DeliveryError) as unknown:
        ding.deliver(delivery("dingtalk", "nope", {**payload, "robot": "nope"}), settings(http=http))
    assert not unknown.value.retry and "QIQIAO_ROBOTS" in str(unknown.value)


def test_wecom_and_feishu_formats(http: HttpSink) -> None:
    http.answers["/wecom"] = (200, {"errcode": 0, "errmsg": "ok"})
    http.answers["/feishu"] = (200, {"code": 0, "msg": "success"})
    payload = {"title": "新线索", "text": "张三 分配给你", "link": "/a/crm/lead/3"}
    CHANNELS.get("wecom").deliver(delivery("wecom", "ops", {"robot": "ops", **payload}), settings(http=http))
    CHANNELS.get("feishu").deliver(delivery("feishu", "fs", {"robot": "fs", **payload}), settings(http=http))
    wecom = http.seen("/wecom")[-1].body
    assert wecom["msgtype"] == "markdown"
    assert wecom["markdown"]["content"].startswith("**新线索**\n张三 分配给你")
    assert "https://crm.example.com/a/crm/lead/3" in wecom["markdown"]["content"]
    feishu = http.seen("/feishu")[-1].body
    assert feishu["msg_type"] == "interactive"
    assert feishu["card"]["header"]["title"]["content"] == "新线索"
    assert feishu["card"]["elements"][1]["actions"][0]["url"] == "https://crm.example.com/a/crm/lead/3"
    expected = base64.b64encode(hmac.new(f"{feishu['timestamp']}\nfsecret".encode(), b"",
                                         hashlib.sha256).digest()).decode()
    assert feishu["sign"] == expected


def test_sms_providers(http: HttpSink, caplog: pytest.LogCaptureFixture) -> None:
    sms = CHANNELS.get("sms")
    with caplog.at_level(logging.INFO, logger="qiqiao.notify.sms"):
        assert sms.deliver(delivery("sms", "13800138000", {"to": "13800138000", "text": "验证"}),
                           settings()) == {"logged": True}
    assert "SMS to 13800138000: 验证" in caplog.text
    gateway = settings(QIQIAO_SMS_URL=http.url("/sms"), QIQIAO_SMS_TOKEN="t0k")
    sms.deliver(delivery("sms", "+86 138 0013 8000", {"to": "+86 138 0013 8000", "text": "hi"}, key="k1"), gateway)
    seen = http.seen("/sms")[-1]
    assert seen.body == {"to": "+86 138 0013 8000", "text": "hi", "key": "k1"}
    assert seen.headers["Authorization"] == "Bearer t0k"
    assert seen.headers["Idempotency-Key"] == "k1"
    with pytest.raises(DeliveryError) as bad:
        sms.deliver(delivery("sms", "call me", {"to": "call me", "text": "x"}), gateway)
    assert not bad.value.retry


@pytest.mark.parametrize(("status", "retry"), [(400, False), (404, False), (408, True), (429, True),
                                               (500, True), (503, True)])
def test_webhook_statuses(http: HttpSink, status: int, retry: bool) -> None:
    http.answers["/hook"] = (status, {"error": "no"})
    with pytest.raises(DeliveryError) as failed:
        CHANNELS.get("webhook").deliver(delivery("webhook", http.url("/hook"), {
            "method": "POST", "url": http.url("/hook"), "headers": {}, "body": {"a": 1}}), settings())
    assert failed.value.retry is retry
    assert f"HTTP {status}" in str(failed.value)


def test_webhook_success_keeps_the_answer_and_sends_method_headers_body(http: HttpSink) -> None:
    http.answers["/ok"] = (201, {"id": "X-1", "data": {"score": 0.9}})
    result = CHANNELS.get("webhook").deliver(delivery("webhook", http.url("/ok"), {
        "method": "put", "url": http.url("/ok"), "headers": {"X-Token": "abc"}, "body": {"name": "张三"}},
        key="hook:1"), settings())
    assert result == {"status": 201, "body": {"id": "X-1", "data": {"score": 0.9}}}
    seen = http.seen("/ok")[-1]
    assert (seen.method, seen.body, seen.headers["X-Token"], seen.headers["Idempotency-Key"]) == (
        "PUT", {"name": "张三"}, "abc", "hook:1")


@pytest.mark.parametrize(("url", "headers"), [("/ok", {"X-Name": "张三"}), ("/a b\nc", {})])
def test_a_request_that_cannot_be_sent_is_not_retried(http: HttpSink, url: str, headers: dict[str, str]) -> None:
    with pytest.raises(DeliveryError) as bad:
        CHANNELS.get("webhook").deliver(delivery("webhook", http.url(url), {
            "method": "POST", "url": http.url(url), "headers": headers, "body": None}), settings())
    assert not bad.value.retry


def test_webhook_timeout_is_retried(http: HttpSink) -> None:
    http.hang.add("/slow")
    with pytest.raises(DeliveryError) as slow:
        CHANNELS.get("webhook").deliver(delivery("webhook", http.url("/slow"), {
            "method": "POST", "url": http.url("/slow"), "headers": {}, "body": None, "timeout": 0.2}), settings())
    assert slow.value.retry


@pytest.mark.parametrize(("environ", "variable"), [
    ({"QIQIAO_SMTP_URL": "mail.example.com"}, "QIQIAO_SMTP_URL"),
    ({"QIQIAO_SMTP_URL": "smtp://host:99999"}, "QIQIAO_SMTP_URL"),
    ({"QIQIAO_ROBOTS": "{not json"}, "QIQIAO_ROBOTS"),
    ({"QIQIAO_ROBOTS": '{"a": {"secret": "x"}}'}, "QIQIAO_ROBOTS"),
    ({"QIQIAO_SMS_PROVIDER": "http"}, "QIQIAO_SMS_URL"),
    ({"QIQIAO_HTTP_TIMEOUT": "soon"}, "QIQIAO_HTTP_TIMEOUT"),
])
def test_bad_settings_name_the_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(DefinitionError) as bad:
        NotifySettings.from_env(environ)
    assert variable in bad.value.text("en")
    assert bad.value.details["variable"] == variable


def test_smtp_url_with_login_and_starttls() -> None:
    smtp = NotifySettings.from_env({"QIQIAO_SMTP_URL": "smtp://me%40x.com:p%2Fw@mail.x.com:587?starttls=1"}).smtp
    assert smtp is not None
    assert (smtp.host, smtp.port, smtp.user, smtp.password, smtp.starttls, smtp.ssl) == (
        "mail.x.com", 587, "me@x.com", "p/w", True, False)
