"""The inbound ``webhook`` trigger: another system POSTs JSON to a rule.

The URL is ``/api/v1/hooks/<app>/<rule>/<token>``. The token is an HMAC of
``<app>.<rule>`` under the deployment's secret (``QIQIAO_SECRET_KEY``): an
admin reads it from ``qiqiao rules hook-url`` or the API, nobody guesses it,
and changing the secret changes every token. It is compared in constant time.

The body is mapped to the rule's form by the trigger's ``fields``
(``{"name": "contact.name"}``: a field key and a dotted path in the JSON),
each value coerced by the field's type; a value that does not fit is a
``ValidationError`` naming the field and the path. The mapped values are the
firing's record — not stored: the rule's actions decide what to write (a
``create_record`` makes the lead). The body is kept with a failed run for a retry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from engine.actions.base import RuleChecker
from engine.core.errors import ConflictError, NotFoundError, ValidationError
from engine.core.i18n import Label
from engine.definitions.issues import Path
from engine.definitions.model import FormDef
from engine.fields.base import FieldValueError
from engine.records import RecordService
from engine.rules import runs
from engine.rules.triggers import Trigger

if TYPE_CHECKING:
    from engine.rules.engine import RuleEngine

MISSING = object()


class Webhook(Trigger):
    key = "webhook"

    def describe(self, settings: Mapping[str, Any], form: FormDef) -> Label:
        return Label(f"其他系统调用本规则的 Webhook 时（新{form.label.zh}的数据）",
                     f"when another system calls its webhook (a {form.label.en}'s data)")
    label = Label("外部调用（Webhook）", "Inbound webhook")
    description = Label("外部系统向规则的专属地址 POST JSON，映射为表单字段后触发",
                        "Fires when another system POSTs JSON to the rule's own URL; the body is mapped "
                        "to the form's fields")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False, "required": ["fields"],
        "properties": {"fields": {
            "type": "object", "minProperties": 1, "additionalProperties": {"type": "string", "minLength": 1},
            "description": "Field key -> dotted path in the JSON body (\"contact.phone\").",
        }},
    }

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        for key in settings.get("fields", {}):
            found = checker.field((*path, "fields", key), key)
            if found is not None and found.type in ("subform", "attachment", "image"):
                checker.report((*path, "fields", key), Label(
                    f"字段 {key}（{found.type}）不能从 Webhook 取值", f"The field {key} ({found.type}) "
                    "cannot be filled from a webhook"))


def hook_token(secret: str, app: str, rule: str) -> str:
    """The rule's token: an HMAC of ``<app>.<rule>`` under ``secret``."""
    digest = hmac.new(secret.encode(), f"{app}.{rule}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


def hook_path(secret: str, app: str, rule: str) -> str:
    return f"/api/v1/hooks/{app}/{rule}/{hook_token(secret, app, rule)}"


def dig(body: Any, path: str) -> Any:
    """The value at a dotted path (``items.0.name`` indexes lists); MISSING when absent."""
    value = body
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def map_body(service: RecordService, form: str, fields: Mapping[str, str], body: Any) -> dict[str, Any]:
    """The body's values for the form's fields, coerced by their types."""
    compiled, _ = service.form(form)
    values: dict[str, Any] = {}
    errors: dict[str, list[Label]] = {}
    for key, path in fields.items():
        raw = dig(body, path)
        if raw is MISSING:
            continue
        field = compiled.form.get_field(key)
        try:
            values[key] = service.field_types.get(field.type).coerce(field, raw)
        except FieldValueError as exc:
            errors[key] = [Label(f"{path}：{exc.message.zh}", f"{path}: {exc.message.en}")]
    if errors:
        raise ValidationError(Label(f"请求体中有 {len(errors)} 个值不符合字段类型",
                                    f"{len(errors)} value(s) of the body do not fit their fields"),
                              field_errors=errors)
    return values


def receive(rules: RuleEngine, app: str, rule: str, token: str, body: Any, *, secret: str) -> runs.RunEntry:
    """Run a webhook rule for an inbound body; the run as logged."""
    # Imported here: the engine imports the trigger registry, which imports this module.
    from engine.rules.engine import Firing

    found = rules.index(app).by_key.get(rule) if app in rules.records.app_keys() else None
    if found is None or found.rule.trigger.type != Webhook.key \
            or not hmac.compare_digest(token.encode(), hook_token(secret, app, rule).encode()):
        # Whatever is wrong, the caller learns only that there is no such hook.
        raise NotFoundError(Label("没有这个 Webhook 地址", "There is no webhook at this address"))
    if not found.rule.enabled:
        raise ConflictError(Label(f"规则 {rule} 已停用", f"The rule {rule} is disabled"), details={"rule": rule})
    if not isinstance(body, Mapping):
        raise ValidationError(Label("请求体必须是 JSON 对象", "The body must be a JSON object"))
    service = rules.records.get(app)
    record = map_body(service, found.rule.form, found.rule.trigger.settings["fields"], body)
    with service.database.transaction() as conn:
        _, run_id = rules.fire(service, found, conn, Firing(Webhook.key, record, None, "webhook", None, 0,
                                                            {"body": dict(body)}))
        assert run_id is not None  # without ``ended``, fire writes the run at once
        entry = runs.read_run(conn, run_id)
    assert entry is not None
    return entry
