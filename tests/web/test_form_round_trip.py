"""An edit form posted back untouched changes nothing, on every CRM form with
demo data: what the inputs draw is what their decoders read back."""

from __future__ import annotations

from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict

from engine.records import SYSTEM
from tests.web.conftest import Site


class FormFields(HTMLParser):
    """The name/value pairs a browser would post for the record form."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self.inside = False
        self.select: str | None = None
        self.textarea: str | None = None
        self.text = ""
        self.template = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "data-record-form" in a:
            self.inside = True
        if not self.inside:
            return
        if tag == "template":
            self.template += 1
        if self.template:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("file", "submit"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.pairs.append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self.select = a["name"]
        elif tag == "option" and self.select and "selected" in a:
            self.pairs.append((self.select, a.get("value", "")))
        elif tag == "textarea" and a.get("name"):
            self.textarea, self.text = a["name"], ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "template" and self.template:
            self.template -= 1
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea:
            self.pairs.append((self.textarea, self.text.removeprefix("\n")))
            self.textarea = None
        elif tag == "form":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.text += data


def test_an_untouched_edit_form_saves_no_change(site: Site) -> None:
    token, _ = site.app.extensions["qiqiao"].org.issue_token(site.logins["admin"], "round trip")
    client = site.app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    service = site.app.extensions["qiqiao"].records.get("crm")
    # A quote too (the demo has none): subform rows keep their ids and order.
    customer = service.list("customer", limit=1, actor=SYSTEM)["records"][0]
    products = service.list("product", limit=2, actor=SYSTEM)["records"]
    service.create("quote", {"customer": customer["id"], "discount_reason": "x", "items": [
        {"product": p["id"], "quantity": "2", "unit_price": "10.5", "discount": "0.3"} for p in products]},
        actor=SYSTEM)
    # Moments with seconds (an API or a rule wrote them) come back with them.
    service.create("follow_up", {"customer": customer["id"], "method": "phone", "content": "round trip",
                                 "followed_at": "2026-12-04T10:15:42+08:00",
                                 "next_follow_up_at": "2026-12-05T09:30:07+08:00"}, actor=SYSTEM)
    checked = []
    for form in service.app.forms:
        page = service.list(form.key, limit=1, sort=[{"field": "id", "desc": True}], actor=SYSTEM)["records"]
        if not page:
            continue
        record = page[0]
        edit = client.get(f"/a/crm/{form.key}/{record['id']}/edit")
        assert edit.status_code == 200, (form.key, edit.text[:300])
        fields = FormFields()
        fields.feed(edit.text)
        answer = client.post(f"/a/crm/{form.key}/{record['id']}/edit", data=MultiDict(fields.pairs))
        assert answer.status_code == 303, (form.key, [m for m in answer.text.split("class=\"error\">")[1:]][:3])
        after = service.get(form.key, record["id"], actor=SYSTEM)
        assert after["version"] == record["version"], form.key  # nothing changed, nothing written
        checked.append(form.key)
    assert {"customer", "contact", "opportunity", "quote", "lead", "product"} <= set(checked)
