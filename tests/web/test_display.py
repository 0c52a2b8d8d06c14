"""Values shown by type (runtime/web/display.py): tags, names, links, escaping."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from engine.org.principal import Principal
from engine.records.access import AppAccess, ReadGuard
from runtime.web.display import Shown


def _service(app: Flask) -> object:
    return app.extensions["qiqiao"].records.get("crm")


def test_values_show_by_type_and_user_text_is_escaped(app: Flask) -> None:
    service = _service(app)
    parent = service.create("customer", {"name": "Parent <b>Co</b>", "level": "a"})  # type: ignore[attr-defined]
    child = service.create("customer", {"name": "<script>alert(1)</script>", "level": "a",  # type: ignore[attr-defined]
                                        "subsidiary_of": parent["id"]})
    form = service.form("customer")[0].form  # type: ignore[attr-defined]
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        shown = Shown.prepare(service, "crm", "customer", form.fields, [child], guard=None)  # type: ignore[arg-type]
        name = shown.value(form.field("name"), child["name"])
        assert str(name) == "&lt;script&gt;alert(1)&lt;/script&gt;"
        link = str(shown.value(form.field("subsidiary_of"), child["subsidiary_of"]))
        assert link == f'<a href="/a/crm/customer/{parent["id"]}">Parent &lt;b&gt;Co&lt;/b&gt;</a>'
        level = str(shown.value(form.field("level"), "a"))
        assert level.startswith('<span class="tag opt-') and "</span>" in level
        # A url field links only to the web, whatever reached the database.
        assert "href" not in str(shown.value(form.field("website"), "javascript:alert(1)"))
        assert 'href="https://example.com/"' in str(shown.value(form.field("website"), "https://example.com/"))


def test_a_related_record_out_of_scope_shows_its_id_only_and_why(app: Flask) -> None:
    service = _service(app)
    org = app.extensions["qiqiao"].org
    other = org.create_user("dana", "Dana")
    hidden = service.create("customer", {"name": "Secret Co", "level": "a", "owner": other.id})  # type: ignore[attr-defined]
    child = service.create("customer", {"name": "Visible", "level": "a", "subsidiary_of": hidden["id"]})  # type: ignore[attr-defined]
    reader = Principal(user_id=999, login="x")
    from engine.org.permissions import parse_role

    role = parse_role("own", {"customer": {"actions": ["read"], "read": "own"}})
    guard = ReadGuard(service, AppAccess(reader, (role,), "crm"))  # type: ignore[arg-type]
    form = service.form("customer")[0].form  # type: ignore[attr-defined]
    with app.test_request_context("/"):
        shown = Shown.prepare(service, "crm", "customer", form.fields, [child], guard=guard)  # type: ignore[arg-type]
        text = str(shown.value(form.field("subsidiary_of"), child["subsidiary_of"]))
    assert "Secret" not in text and f"#{hidden['id']}" in text and "href" not in text
    assert 'title="这条记录不在你的查看范围内"' in text  # why there is no name (the page's language)


def test_option_colours_come_from_a_stylesheet_of_the_app(client: FlaskClient) -> None:
    css = client.get("/a/crm/options.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert ".tag.opt-c-1677ff{--opt:#1677ff}" in css.get_data(as_text=True)
    assert client.get("/a/nope/options.css").status_code == 404
