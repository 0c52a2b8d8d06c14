"""The form input registry (every field type decodes what its input posts
into a value the engine's coercion takes, and shows it back), and the live
evaluation endpoint's answer, with Flask's test client."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from engine.core.i18n import Label
from engine.definitions.model import FieldDef
from engine.fields import FIELD_TYPES
from engine.org.service import OrgService
from engine.records import SYSTEM
from runtime.web.form_inputs import ABSENT, FORM_INPUTS, InputContext
from tests.api.conftest import People, world  # noqa: F401 (fixture)

FILE = {"id": "f1", "name": "a.png", "size": 3, "content_type": "image/png", "sha256": None}
# field type -> (settings, what the page posts for the field "x", the value the engine keeps)
CASES: dict[str, tuple[dict[str, Any], list[tuple[str, str]], Any]] = {
    "text": ({}, [("x", "Hello")], "Hello"),
    "textarea": ({}, [("x", "a\nb")], "a\nb"),
    "rich_text": ({}, [("x", "<p><b>hi</b></p>")], "<p><b>hi</b></p>"),
    "number": ({"precision": 2}, [("x", "12.5")], Decimal("12.50")),
    "money": ({"precision": 2}, [("x", "1234.5")], Decimal("1234.50")),
    "percent": ({"precision": 0}, [("x", "15")], Decimal("0.15")),
    "rating": ({"max": 5}, [("x", "4")], 4),
    "boolean": ({}, [("x", "false"), ("x", "true")], True),
    "select": ({"options": [{"key": "a", "label": {"zh": "甲", "en": "A"}}]}, [("x", "a")], "a"),
    "multiselect": ({"options": [{"key": "a", "label": {"zh": "甲", "en": "A"}},
                                 {"key": "b", "label": {"zh": "乙", "en": "B"}}]},
                    [("x", ""), ("x", "b"), ("x", "a")], ["a", "b"]),
    "date": ({}, [("x", "2026-12-04")], dt.date(2026, 12, 4)),
    "datetime": ({}, [("x", "2026-12-04T09:30"), ("_zone", "Asia/Shanghai")],
                 dt.datetime(2026, 12, 4, 1, 30, tzinfo=dt.UTC)),
    "time": ({}, [("x", "09:30")], dt.time(9, 30)),
    "phone": ({}, [("x", "13800138000")], "13800138000"),
    "email": ({}, [("x", "a@example.com")], "a@example.com"),
    "url": ({}, [("x", "https://example.com")], "https://example.com"),
    "address": ({"level": "detail"}, [("x.province", "上海市"), ("x.city", "市辖区"), ("x.district", "浦东新区"),
                                       ("x.detail", "世纪大道1号")],
                {"province": "上海市", "city": "市辖区", "district": "浦东新区", "detail": "世纪大道1号"}),
    "location": ({}, [("x.lat", "31.2304"), ("x.lng", "121.4737"), ("x.address", "")],
                 {"lat": Decimal("31.230400"), "lng": Decimal("121.473700"), "address": None}),
    "member": ({}, [("x", ""), ("x", "3")], 3),
    "department": ({"multiple": True}, [("x", ""), ("x", "2"), ("x", "5")], [2, 5]),
    "relation": ({"target": "customer"}, [("x", ""), ("x", "12")], 12),
    "attachment": ({}, [("x", ""), ("x", json.dumps(FILE))], [FILE]),
    "image": ({}, [("x", ""), ("x", json.dumps(FILE))], [FILE]),
    "signature": ({}, [("x", ""), ("x", json.dumps(FILE))], FILE),
}


@pytest.fixture
def admin(people: People) -> dict[str, str]:
    return {"Authorization": f"Bearer {people.admin_token}"}


COMPUTED = ("serial", "lookup", "formula", "rollup", "section", "divider", "note")


def _field(type_key: str, settings: dict[str, Any]) -> FieldDef:
    return FieldDef("x", type_key, Label("字段", "Field"), settings=settings)


def test_every_field_type_has_an_input() -> None:
    assert sorted(FORM_INPUTS.keys()) == sorted(FIELD_TYPES.keys())
    assert set(CASES) | set(COMPUTED) | {"subform"} == set(FIELD_TYPES.keys())


@pytest.mark.parametrize("type_key", sorted(CASES))
def test_what_an_input_posts_decodes_to_the_value_and_shows_back(type_key: str) -> None:
    settings, posted, value = CASES[type_key]
    f = _field(type_key, settings)
    form_input, ftype = FORM_INPUTS.get(type_key), FIELD_TYPES.get(type_key)
    decoded = form_input.decode(MultiDict(posted), "x", f)
    assert ftype.coerce_input(f, decoded) == value
    # What the input shows for the value posts back as the same value.
    ctx = InputContext(names={"x": {3: "Zhang", 2: "Sales", 5: "Service", 12: "ACME"}})
    ctx.zone = __import__("zoneinfo").ZoneInfo("Asia/Shanghai")
    shown = form_input.shown(f, ftype, value, ctx, "x")
    again = _posted_from(type_key, shown) + [p for p in posted if p[0] == "_zone"]
    assert ftype.coerce_input(f, form_input.decode(MultiDict(again), "x", f)) == value
    # A page without the input leaves the field out (never blanked).
    assert form_input.decode(MultiDict([("other", "1")]), "x", f) is ABSENT


def _posted_from(type_key: str, shown: Any) -> list[tuple[str, str]]:
    if isinstance(shown, dict):
        return [(f"x.{part}", str(text)) for part, text in shown.items()]
    if type_key in ("member", "department", "relation"):
        return [("x", "")] + [("x", str(ident)) for ident, _ in shown]
    if type_key in ("attachment", "image", "signature"):
        return [("x", "")] + [("x", item["json"]) for item in shown]
    if type_key == "multiselect":
        return [("x", "")] + [("x", key) for key in shown]
    if type_key == "boolean":
        return [("x", "false")] + ([("x", "true")] if shown else [])
    return [("x", shown)]


@pytest.mark.parametrize("type_key", COMPUTED)
def test_computed_and_layout_items_are_never_posted(type_key: str) -> None:
    f = _field(type_key, {})
    assert FORM_INPUTS.get(type_key).decode(MultiDict([("x", "1")]), "x", f) is ABSENT


def test_a_subform_decodes_its_rows_in_the_order_posted() -> None:
    sub = FieldDef("items", "subform", Label("明细", "Items"), fields=(
        FieldDef("quantity", "number", Label("数量", "Quantity")),
        FieldDef("done", "boolean", Label("完成", "Done")),
    ))
    posted = MultiDict([("items", ""), ("items[1][id]", ""), ("items[1][quantity]", "2"),
                        ("items[0][id]", "7"), ("items[0][quantity]", "5"),
                        ("items[0][done]", "false"), ("items[0][done]", "true")])
    assert FORM_INPUTS.get("subform").decode(posted, "items", sub) == [
        {"id": 7, "quantity": "5", "done": "true"}, {"quantity": "2"}]
    assert FORM_INPUTS.get("subform").decode(MultiDict([("items", "")]), "items", sub) == []


def test_the_evaluate_endpoint_answers_only_what_changed(client: Any, admin: dict[str, str]) -> None:
    page = client.get("/a/crm/quote/new", headers=admin)
    assert page.status_code == 200
    # A blank form shows the defaults a save would give (RecordService.evaluate(defaults=True)).
    assert re.search(r'<option value="draft"[^>]* selected>', page.text)
    assert re.search(r'id="i-quote_date" name="quote_date" value="\d{4}-\d{2}-\d{2}"', page.text)
    digests = re.search(r'name="_digests" id="form-digests" value="([^"]+)"', page.text).group(1)
    posted = {"_digests": digests, "items": "", "items[0][id]": "", "items[0][quantity]": "2",
              "items[0][unit_price]": "10", "items[0][discount]": "10"}
    answer = client.post("/a/crm/quote/evaluate", headers=admin, data=posted)
    assert answer.status_code == 200
    swapped = re.findall(r'id="([^"]+)"[^>]*hx-swap-oob', answer.text)
    # The new row's cells and the total changed; the customer, dates and notes did not.
    assert {"f-items-0-subtotal", "f-total", "form-digests"} <= set(swapped)
    assert not {"f-customer", "f-quote_date", "f-notes"} & set(swapped)
    assert "¥18.00" in answer.text
    # Asked again with the new digests: nothing but the digests comes back.
    posted["_digests"] = re.search(r'id="form-digests" value="([^"]+)"', answer.text).group(1)
    again = client.post("/a/crm/quote/evaluate", headers=admin, data=posted)
    assert re.findall(r'id="([^"]+)"[^>]*hx-swap-oob', again.text) == ["form-digests"]


def test_an_upload_larger_than_the_field_allows_is_refused(client: Any, admin: dict[str, str]) -> None:
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024 + 1)
    answer = client.post("/a/crm/product/upload/images", headers={**admin, "Accept-Language": "en"},
                         data={"file": (__import__("io").BytesIO(big), "big.png")},
                         content_type="multipart/form-data")
    assert answer.status_code == 400
    assert "big.png 超过 10 MB" in answer.json["error"]["message"]  # the account reads Chinese


def test_field_rights_shape_the_form_and_its_live_answers(world: Any) -> None:  # noqa: F811
    """A hidden field appears nowhere (not the page, not an evaluation, not a
    failed save); a read-only one is text; a value posted for a hidden field
    anyway is not decoded, so never written."""
    org = OrgService(world.database)
    org.create_role("form_rep", "Rep", app="crm", grants={
        "customer": {"actions": ["create", "read", "update"], "read": "all", "write": "all",
                     "fields": {"revenue": "hidden", "employees": "readonly"}}})
    org.assign_role("crm:form_rep", world.people.user_id)
    user = world.auth(world.people.user_token)
    page = world.client.get("/a/crm/customer/new", headers=user)
    assert page.status_code == 200
    assert 'id="f-revenue"' not in page.text and 'name="revenue"' not in page.text
    assert 'id="f-employees"' in page.text and 'name="employees"' not in page.text
    answer = world.client.post("/a/crm/customer/evaluate", headers=user,
                               data={"_digests": "{}", "name": "X", "revenue": "5", "employees": "7"})
    assert "f-revenue" not in answer.text
    refused = world.client.post("/a/crm/customer/new", headers=user, data={"name": "", "revenue": "5"})
    assert refused.status_code == 400
    assert "f-revenue" not in refused.text
    saved = world.client.post("/a/crm/customer/new", headers=user, data={"name": "Rights Co", "revenue": "5"})
    assert saved.status_code == 303
    record = world.app.extensions["qiqiao"].records.get("crm").get(
        "customer", int(saved.headers["Location"].rsplit("/", 1)[1]), actor=SYSTEM)
    assert record["revenue"] is None  # never decoded: the page does not carry it


def test_every_input_template_draws_a_labelled_input(app: Any) -> None:
    """Each field type's template renders (new and with an error), its input
    named as the decoder reads it and tied to its label and messages."""
    from flask import g, render_template_string

    from engine.definitions.model import FormDef
    from engine.records.live import evaluate_form
    from runtime.web.form_page import build_view
    from tests.fields.field_samples import SAMPLES

    form = FormDef(key="thing", label=Label("物", "Thing"), app="rt", fields=tuple(SAMPLES))
    keys = {f.key for f in SAMPLES}
    state = evaluate_form(form, {})
    compiled = __import__("engine.records.compiled", fromlist=["compiled_form"]).compiled_form(form, FIELD_TYPES)
    view = build_view(compiled, state, {}, hidden=set(), editable=keys,
                      errors={f.key: ["Wrong"] for f in SAMPLES})
    with app.test_request_context("/a/rt/thing/new"):
        g.form_page = {"base_url": "/a/rt/thing", "record_id": None, "files_url": ""}
        ctx = InputContext()
        for v in view.fields.values():
            for cell in [v, *(c for row in [*v.rows, v.blank_row] for c in row)]:
                cell.shown = cell.input.shown(cell.f, cell.ftype, cell.value, ctx, cell.path)
        drawn = {v.f.type: (v.f.key, render_template_string(
            '{{ field_unit(v) }}', v=v)) for v in view.fields.values()}
    assert set(drawn) == set(FIELD_TYPES.keys())
    for type_key, (field_key, html) in drawn.items():
        if type_key in ("section", "divider", "note"):
            continue
        assert "Wrong" in html, type_key
        assert 'aria-invalid="true"' in html or type_key in COMPUTED, type_key
        if type_key not in COMPUTED:
            assert re.search(rf'name="{field_key}(\.|\[|")', html), type_key


@pytest.mark.parametrize("body", [
    b"name=%E4%B8%8A%E6%B5%B7+%E5%AE%A2%E6%88%B7&items%5B0%5D%5Bquantity%5D=2&items=&tags=&tags=a&tags=b",
    b"a=1+2%2B3&&b&c=%ZZ&d=%E4%B8&=empty-name&e=x=y",
    b"_digests=f-name.110.f-total.111a2b3c4d5e&note=line%0D%0Abreak",
])
def test_the_live_evaluation_reads_a_post_as_werkzeug_does(app: Any, body: bytes) -> None:
    """``read_posted`` (names unquoted once) gives what ``request.form`` gives."""
    from flask import request

    from runtime.web.form_inputs import read_posted

    for _ in range(2):  # the second time from the names it kept
        with app.test_request_context("/a/crm/quote/evaluate", method="POST", data=body,
                                      content_type="application/x-www-form-urlencoded"):
            fast = read_posted()
            assert list(fast.items(multi=True)) == list(request.form.items(multi=True))
