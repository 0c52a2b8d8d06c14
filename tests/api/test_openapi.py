"""The OpenAPI document: a standard validator accepts it, it describes every
form from its field types, and an OpenAPI-driven fuzzer (schemathesis),
calling the app in-process with an admin's token, finds no server error and
no response that contradicts the document."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from engine.core.errors import ValidationError

# A few forms that between them have every kind of value the CRM uses:
# relations, selects, money, dates, formulas, rollups, serials and a subform.
FUZZED_FORMS = ("customer", "opportunity", "quote")
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 8}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


def document(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json", headers=headers)
    assert response.status_code == 200
    return dict(response.get_json())


def test_the_document_is_valid_openapi_3_1(client: Any, admin: dict[str, str]) -> None:
    doc = document(client, admin)
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_every_form_has_its_schemas_and_paths(client: Any, admin: dict[str, str]) -> None:
    doc = document(client, admin)
    schemas, paths = doc["components"]["schemas"], doc["paths"]
    forms = client.get("/api/v1/apps/crm/forms", headers=admin).get_json()["forms"]
    assert len(forms) == 15
    for form in forms:
        name = f"crm.{form['key']}"
        for suffix in ("", ".page", ".create", ".patch", ".bulk_create", ".bulk_patch"):
            assert name + suffix in schemas
        base = f"/api/v1/apps/crm/forms/{form['key']}"
        assert {"get", "post"} <= set(paths[f"{base}/records"])
        assert {"get", "patch", "delete"} <= set(paths[f"{base}/records/{{id}}"])
    customer = schemas["crm.customer"]["properties"]
    assert customer["revenue"]["anyOf"][0] == {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
    assert customer["industry"]["anyOf"][0]["enum"][:2] == ["technology", "medical"]
    assert customer["opportunity_count"]["readOnly"] is True
    assert schemas["crm.customer.create"]["required"] == ["name"]
    assert "opportunity_count" not in schemas["crm.customer.create"]["properties"]
    assert "version" in schemas["crm.customer.patch"]["properties"]
    quote_items = schemas["crm.quote"]["properties"]["items"]["anyOf"][0]
    assert quote_items["type"] == "array" and "product" in quote_items["items"]["properties"]
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "session"}
    error = paths["/api/v1/apps/crm/forms/customer/records"]["post"]["responses"]["409"]
    assert error == {"$ref": "#/components/responses/E409"}


def test_the_document_follows_the_definitions(app: Flask, client: Any, admin: dict[str, str]) -> None:
    """Publishing a new version of a form changes the document (and the API) at once."""
    import sqlalchemy as sa

    from engine.store.models import Definition

    services = app.extensions["qiqiao"]
    table = sa.inspect(Definition).local_table
    with services.database.transaction() as conn:
        body = conn.execute(sa.select(table.c.body).where(table.c.app == "crm", table.c.key == "product")).scalar_one()
        body = {**body, "fields": [*body["fields"], {"key": "warranty_months", "type": "number", "label": "保修月数"}]}
        conn.execute(table.insert().values(app="crm", kind="form", key="product", version=2, body=body,
                                           published_at=services.clock.now()))
    schemas = document(client, admin)["components"]["schemas"]
    assert "warranty_months" in schemas["crm.product"]["properties"]


def test_no_server_error_and_no_contradiction(app: Flask, client: Any, admin: dict[str, str]) -> None:
    for i in range(3):  # a little data, so reads by id find something
        customer = client.post("/api/v1/apps/crm/forms/customer/records", json={"name": f"Customer {i}"},
                               headers=admin).get_json()
        client.post("/api/v1/apps/crm/forms/opportunity/records", headers=admin,
                    json={"customer": customer["id"], "stage": "engaging", "amount": "1000"})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=admin)
    outcomes: Counter[int] = Counter()
    failures: list[str] = []
    # CPU time, not wall time: the bound is on what the fuzzing costs, which a
    # busy machine (a parallel test worker) does not change.
    started = time.process_time()
    for result in schema.get_all_operations():
        operation = result.ok()
        if not fuzzed(operation.path, operation.method):
            continue
        for mode, examples in EXAMPLES.items():
            # xlsx export is checked on its own (tests/api/test_exchange.py); the fuzzer asks for CSV.
            fixed = {"query": {"format": "csv"}} if operation.path.endswith("/export") else {}

            @given(case=operation.as_strategy(generation_mode=mode, **fixed))
            @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
            def call(case: Any) -> None:
                response = case.call_and_validate(headers=admin, checks=CHECKS)
                outcomes[response.status_code] += 1

            try:
                call()
            except Exception as error:
                failures.append(f"{mode.value} {operation.label}: {error}")
    assert not failures, "\n\n".join(failures)
    assert not [status for status in outcomes if status >= 500]
    assert outcomes[200] and outcomes[201] and outcomes[400]  # successes and refusals, not only one kind
    assert time.process_time() - started < 60


def fuzzed(path: str, method: str) -> bool:
    if path == "/api/v1/tokens/{id}":
        return False  # revoking: the fuzzer would revoke its own token (ids are small numbers)
    if "/dashboards/" in path:
        return path.endswith("/dashboards/sales")  # every dashboard takes its filters the same way: one is enough
    if "/forms/" not in path:
        return True
    if "/imports" in path:
        return "/forms/customer/" in path  # import jobs take every form the same way: one is enough
    return any(f"/forms/{form}" in path for form in FUZZED_FORMS)


@pytest.mark.parametrize("header", ['"3"', 'W/"3"', "3"])
def test_if_match_forms(header: str) -> None:
    from runtime.api import records

    app = Flask("probe")
    with app.test_request_context(headers={"If-Match": header}):
        assert records.if_match_version() == 3
    with app.test_request_context(headers={"If-Match": '"x"'}), pytest.raises(ValidationError):
        records.if_match_version()
