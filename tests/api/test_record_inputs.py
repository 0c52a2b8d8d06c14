"""What a record's input turns into, tried through the API as a new user
would, on SQLite and PostgreSQL: subform row defaults and ``min_rows``,
rows naming missing records, lookups selected alone, ids never reused,
unknown ``fields``, system fields in a body, ``version`` against
``If-Match``, fractions into whole numbers, option labels, duplicate
unique values and relation ids of absurd length."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import World
from tests.api.test_records import CUSTOMERS, create, listing

QUOTES = "/api/v1/apps/crm/forms/quote/records"
PRODUCTS = "/api/v1/apps/crm/forms/product/records"
CONTRACTS = "/api/v1/apps/crm/forms/contract/records"
RECEIPTS = "/api/v1/apps/crm/forms/payment_receipt/records"


def english(world: World, **headers: str) -> dict[str, str]:
    return world.auth(**{"Accept-Language": "en", **headers})


def details(response: Any) -> dict[str, Any]:
    return dict(response.get_json()["error"]["details"])


def customer_and_product(world: World) -> tuple[int, int]:
    customer = create(world, CUSTOMERS, {"name": "Acme"})["id"]
    product = create(world, PRODUCTS, {"name": "Widget", "sales_price": "10.00"})["id"]
    return customer, product


def test_subform_rows_take_their_defaults(world: World) -> None:
    customer, product = customer_and_product(world)
    quote = create(world, QUOTES, {"customer": customer, "items": [{"product": product}]})
    row = quote["items"][0]
    assert row["quantity"] == "1.00" and row["discount"] == "0.0000" and row["unit_price"] == "10.00"
    assert quote["total"] == "10.00"
    # A row added later takes them too; a row that names a value keeps it.
    path = f"{QUOTES}/{quote['id']}"
    changed = world.client.patch(path, headers=english(world), json={
        "version": quote["version"], "items": [row, {"product": product, "quantity": 3}]})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    rows = changed.get_json()["items"]
    assert [(r["quantity"], r["discount"]) for r in rows] == [("1.00", "0.0000"), ("3.00", "0.0000")]
    fetched = world.client.get(path, headers=english(world)).get_json()
    assert fetched["items"][1]["discount"] == "0.0000" and fetched["total"] == "40.00"


def test_subform_min_rows_is_enforced(world: World) -> None:
    customer, _ = customer_and_product(world)
    for items in ([], None):
        body: dict[str, Any] = {"customer": customer}
        if items is not None:
            body["items"] = items
        response = world.client.post(QUOTES, json=body, headers=english(world))
        assert response.status_code == 400, response.get_data(as_text=True)
        assert details(response)["items"] == ["At least 1 rows"]
    assert listing(world, QUOTES)["records"] == []


def test_a_row_naming_a_missing_record_is_a_400_at_the_row(world: World) -> None:
    customer, product = customer_and_product(world)
    response = world.client.post(QUOTES, headers=english(world), json={
        "customer": customer, "items": [{"product": product}, {"product": 999_999, "unit_price": 5}]})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert details(response) == {"items[1].product": ["Product #999999 does not exist"]}
    assert listing(world, QUOTES)["records"] == []


def test_a_lookup_reads_the_same_alone_and_in_every_answer(world: World) -> None:
    customer, _ = customer_and_product(world)
    contract = create(world, CONTRACTS, {"name": "C-1", "customer": customer, "amount": "100"})["id"]
    receipt = create(world, RECEIPTS, {"contract": contract, "received_on": "2024-03-01", "amount": "10"})
    assert receipt["customer"] == customer  # the POST answer: the related id, as a GET gives it
    fetched = world.client.get(f"{RECEIPTS}/{receipt['id']}", headers=english(world)).get_json()
    assert fetched["customer"] == customer
    alone = listing(world, RECEIPTS, fields="customer")["records"][0]
    assert alone["customer"] == customer and "contract" not in alone
    both = listing(world, RECEIPTS, fields="customer,amount")["records"][0]
    assert both["customer"] == customer and both["amount"] == "10.00"
    exported = world.client.get(f"{RECEIPTS.removesuffix('/records')}/export", headers=english(world),
                                query_string={"format": "csv", "fields": "code,customer", "header": "key"})
    assert exported.status_code == 200, exported.get_data(as_text=True)
    lines = exported.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "code,customer" and lines[1] == f"{receipt['code']},Acme"  # the title


def test_ids_are_never_reused(world: World) -> None:
    first = create(world, CUSTOMERS, {"name": "First"})["id"]
    second = create(world, CUSTOMERS, {"name": "Second"})["id"]
    assert world.client.delete(f"{CUSTOMERS}/{second}", headers=english(world)).status_code == 204
    third = create(world, CUSTOMERS, {"name": "Third"})["id"]
    assert third > second > first


def test_unknown_fields_in_a_selection_are_refused(world: World) -> None:
    response = world.client.get(CUSTOMERS, query_string={"fields": "name,foo"}, headers=english(world))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_query" and "foo" in error["details"]["fields"][0]


def test_system_fields_in_a_create_body_are_refused(world: World) -> None:
    for key, value in (("id", 5), ("version", 3), ("created_at", "2024-01-01T00:00:00Z")):
        response = world.client.post(CUSTOMERS, json={"name": f"With {key}", key: value}, headers=english(world))
        assert response.status_code == 400, key
        assert details(response) == {key: [f"{key} is set by the system and cannot be written"]}
    assert listing(world)["records"] == []
    # A change names its record by the path: an id read and sent back is
    # ignored there, and version is the one the change was made against.
    created = create(world, CUSTOMERS, {"name": "Echo"})
    echoed = world.client.patch(f"{CUSTOMERS}/{created['id']}", headers=english(world),
                                json={"id": created["id"], "version": 1, "level": "a"})
    assert echoed.status_code == 200, echoed.get_data(as_text=True)
    assert echoed.get_json()["level"] == "a" and echoed.get_json()["version"] == 2
    dated = world.client.patch(f"{CUSTOMERS}/{created['id']}", headers=english(world),
                               json={"version": 2, "created_at": "2024-01-01T00:00:00Z"})
    assert dated.status_code == 400 and list(details(dated)) == ["created_at"]


def test_a_body_version_must_agree_with_if_match(world: World) -> None:
    created = create(world, CUSTOMERS, {"name": "Versions"})
    path = f"{CUSTOMERS}/{created['id']}"
    both = world.client.patch(path, json={"version": 1, "level": "a"}, headers=english(world, **{"If-Match": '"2"'}))
    assert both.status_code == 400
    assert "If-Match" in details(both)["version"][0]
    assert world.client.get(path, headers=english(world)).get_json()["version"] == 1
    agreeing = world.client.patch(path, json={"version": 1, "level": "a"}, headers=english(world, **{"If-Match": '"1"'}))
    assert agreeing.status_code == 200 and agreeing.get_json()["version"] == 2


def test_a_fraction_into_a_whole_number_is_refused(world: World) -> None:
    response = world.client.post(CUSTOMERS, json={"name": "Half", "employees": 5.5}, headers=english(world))
    assert response.status_code == 400
    assert details(response) == {"employees": ["5.5 is not a whole number (Employees takes whole numbers)"]}
    whole = create(world, CUSTOMERS, {"name": "Whole", "employees": "6.0"})
    assert whole["employees"] == "6"
    # A field with decimals still rounds to them, as docs/fields.md says.
    assert create(world, CUSTOMERS, {"name": "Rounded", "revenue": "1.005"})["revenue"] == "1.01"


def test_an_option_is_named_by_key_or_by_label(world: World) -> None:
    for given in ("b", "B", "B (regular)", "b (REGULAR)", "B（普通客户）", {"key": "b"}):
        record = create(world, CUSTOMERS, {"name": f"Level {given!r}", "level": given})
        assert record["level"] == "b", given
    refused = world.client.post(CUSTOMERS, json={"name": "Level D", "level": "D"}, headers=english(world))
    assert refused.status_code == 400
    assert "B (regular)" in details(refused)["level"][0]  # what it offers is accepted


def test_a_taken_unique_value_is_a_409(world: World) -> None:
    create(world, CUSTOMERS, {"name": "Unique"})
    response = world.client.post(CUSTOMERS, json={"name": "Unique"}, headers=english(world))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "conflict" and list(error["details"]) == ["name"]
    # With other problems besides, the input is to be fixed first: a 400 listing all.
    mixed = world.client.post(CUSTOMERS, json={"name": "Unique", "employees": "many"}, headers=english(world))
    assert mixed.status_code == 400 and set(details(mixed)) == {"name", "employees"}


def test_a_relation_id_of_absurd_length_is_a_400_at_its_field(world: World) -> None:
    customer, product = customer_and_product(world)
    # (json.dumps cannot write such an int: the body is written by hand.)
    body = '{"customer": ' + "9" * 5000 + ', "items": [{"product": ' + str(product) + "}]}"
    response = world.client.post(QUOTES, headers=english(world), data=body, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert list(details(response)) == ["customer"]
    in_row = world.client.post(QUOTES, headers=english(world), json={
        "customer": customer, "items": [{"product": "9" * 5000, "unit_price": 5}]})
    assert in_row.status_code == 400, in_row.get_data(as_text=True)
    assert list(details(in_row)) == ["items[0].product"]


def test_a_bulk_row_naming_a_missing_record_is_a_400_at_the_row(world: World) -> None:
    customer, product = customer_and_product(world)
    response = world.client.post(f"{QUOTES}/bulk", headers=english(world), json={"records": [
        {"customer": customer, "items": [{"product": product}]},
        {"customer": customer, "items": [{"product": 999_999, "unit_price": 5}]}]})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["details"]["rows"] == {
        "1": {"items[0].product": ["Product #999999 does not exist"]}}
    assert listing(world, QUOTES)["records"] == []
