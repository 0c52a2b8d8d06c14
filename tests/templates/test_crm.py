"""The CRM template package (templates_lib/crm): well-formed, bilingual,
internally consistent, loadable, and able to receive the maven-crm sample.

The first tests read the YAML files directly, so a mistake is reported next
to the file that has it even while the loader is being changed; the later
ones load the package with the real loader and field types, install it and
import the maven-crm sample through the record service.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.core.i18n import Label
from engine.definitions.model import FieldDef
from engine.definitions.sources import DefinitionLoader
from engine.expr import compile_formula, evaluate
from engine.fields import FIELD_TYPES, OPERATORS, FieldValueError
from templates_lib import TEMPLATES
from templates_lib.crm import PACKAGE_PATH
from templates_lib.datasets import find_dataset

KEY = re.compile(r"[a-z][a-z0-9_]{0,49}")
SYSTEM_FIELDS = (
    "id", "owner", "created_by", "created_at", "updated_by", "updated_at", "version", "flow_status",
)
# The operators of DESIGN §6 a system field offers in list views.
SYSTEM_OPERATORS = {
    "owner": {"eq", "ne", "in", "not_in", "is_me", "is_blank", "not_blank"},
    "created_by": {"eq", "ne", "in", "not_in", "is_me", "is_blank", "not_blank"},
    "updated_by": {"eq", "ne", "in", "not_in", "is_me", "is_blank", "not_blank"},
    "created_at": {"eq", "ne", "gt", "gte", "lt", "lte", "between", "before", "after", "within_days"},
    "updated_at": {"eq", "ne", "gt", "gte", "lt", "lte", "between", "before", "after", "within_days"},
    "flow_status": {"eq", "ne", "in", "not_in"},
    "id": {"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte"},
    "version": {"eq", "ne", "gt", "gte", "lt", "lte"},
}
MAVEN = find_dataset("maven-crm")
# The sample's misspellings and how docs/crm.md says an import maps them.
SECTOR_FIXES = {"technolgy": "technology"}
PRODUCT_FIXES = {"GTXPro": "GTX Pro"}
EXPECTED_FORMS = {
    "customer", "contact", "lead", "opportunity", "follow_up", "product", "quote", "contract",
    "payment_plan", "payment_receipt", "service_ticket", "knowledge_article", "feedback",
    "campaign", "sales_agent",
}


def read(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


FORM_FILES = sorted((PACKAGE_PATH / "forms").glob("*.yaml"))
FORMS: dict[str, dict[str, Any]] = {path.stem: read(path) for path in FORM_FILES}


def fields_of(form: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(form.get("fields", []))


def field(form_key: str, key: str) -> dict[str, Any]:
    return next(f for f in fields_of(FORMS[form_key]) if f["key"] == key)


def is_layout(f: Mapping[str, Any]) -> bool:
    return bool(FIELD_TYPES.get(f["type"]).layout)


def value_keys(form_key: str) -> set[str]:
    return {f["key"] for f in fields_of(FORMS[form_key]) if not is_layout(f)}


def formula_names(fields: list[dict[str, Any]], *, system: bool) -> list[str]:
    """Field keys, system fields, <relation>.<field> and <subform>.<column> (DESIGN §5)."""
    names = list(SYSTEM_FIELDS) if system else []
    for f in fields:
        if is_layout(f):
            continue
        names.append(f["key"])
        if f["type"] == "relation":
            target = f["target"]
            names += [f"{f['key']}.{k}" for k in sorted(value_keys(target)) + list(SYSTEM_FIELDS)]
        if f["type"] == "subform":
            names += [f"{f['key']}.{c['key']}" for c in f["fields"]]
    return names


def formulas(form_key: str) -> Iterator[tuple[str, str, list[str]]]:
    """(where, formula text, names it may read) for every formula of a form."""
    form = FORMS[form_key]
    names = formula_names(fields_of(form), system=True)

    def of_field(f: Mapping[str, Any], where: str, scope: list[str]) -> Iterator[tuple[str, str, list[str]]]:
        if f["type"] == "formula":
            yield f"{where}.formula", f["formula"], scope
        if "default_formula" in f:
            yield f"{where}.default_formula", f["default_formula"], scope
        for their, text in (f.get("default_link") or {}).get("match", {}).items():
            yield f"{where}.default_link.match.{their}", text, scope

    for f in fields_of(form):
        yield from of_field(f, f"fields.{f['key']}", names)
        if f["type"] == "subform":
            row_names = formula_names(f["fields"], system=False)
            for child in f["fields"]:
                yield from of_field(child, f"fields.{f['key']}.{child['key']}", row_names)
    for rule in form.get("rules", []):
        yield f"rules.{rule['key']}.when", rule["when"], names
        for action in rule["actions"]:
            if "formula" in action:
                yield f"rules.{rule['key']}.{action['type']}", action["formula"], names


def filters(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The {field, op, value} leaves of a filter."""
    for joiner in ("and", "or"):
        for child in node.get(joiner, []):
            yield from filters(child)
    if "field" in node:
        yield node


def labels(form_key: str) -> Iterator[tuple[str, Any]]:
    """(where, label) for everything of a form a person reads."""
    form = FORMS[form_key]
    yield "label", form.get("label")

    def of_fields(fields: list[dict[str, Any]], where: str) -> Iterator[tuple[str, Any]]:
        for f in fields:
            yield f"{where}.{f['key']}", f.get("label")
            for option in f.get("options", []):
                yield f"{where}.{f['key']}.options.{option['key']}", option.get("label")
            yield from of_fields(f.get("fields", []) if f["type"] == "subform" else [], f"{where}.{f['key']}")

    yield from of_fields(fields_of(form), "fields")
    for rule in form.get("rules", []):
        yield f"rules.{rule['key']}", rule.get("label")
        for action in rule["actions"]:
            if action["type"] == "error":
                yield f"rules.{rule['key']}.message", action.get("message")
    for view in form.get("list_views", []):
        yield f"list_views.{view['key']}", view.get("label")


# --- files and keys ---------------------------------------------------------------


def test_the_manifest() -> None:
    manifest = read(PACKAGE_PATH / "app.yaml")
    assert manifest["schema_version"] == 1
    assert manifest["key"] == "crm"
    assert manifest["label"] == {"zh": "客户关系管理", "en": "CRM"}
    assert manifest["version"] == "1.0.0"
    assert manifest["description"]["zh"] and manifest["description"]["en"]


def test_the_template_registry_points_at_the_package() -> None:
    template = TEMPLATES.get("crm")
    manifest = read(PACKAGE_PATH / "app.yaml")
    assert template.path == PACKAGE_PATH
    assert template.label == Label(manifest["label"]["zh"], manifest["label"]["en"])
    assert (template.path / "app.yaml").is_file()


def test_every_form_of_the_crm_is_there() -> None:
    assert set(FORMS) == EXPECTED_FORMS


@pytest.mark.parametrize("path", [PACKAGE_PATH / "app.yaml", *FORM_FILES], ids=lambda p: p.name)
def test_files_mean_the_same_in_yaml_1_1_and_1_2(path: Path) -> None:
    """The loader reads YAML 1.2 (no yes/no booleans, no implicit dates); so
    does any other tool, read with YAML 1.1. A value that reads differently
    (an option keyed `no`, an unquoted date) would be a trap."""
    text = path.read_text(encoding="utf-8")
    assert yaml.safe_load(text) == yaml.load(text, Loader=DefinitionLoader)


@pytest.mark.parametrize("form_key", sorted(FORMS))
def test_keys_are_well_formed_and_unique(form_key: str) -> None:
    form = FORMS[form_key]
    assert form["schema_version"] == 1
    assert form["key"] == form_key, "a form's file is named after its key"

    def check_keys(keys: list[str], what: str) -> None:
        bad = [k for k in keys if not KEY.fullmatch(k)]
        assert not bad, f"{form_key}: malformed {what} keys {bad}"
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        assert not duplicates, f"{form_key}: duplicate {what} keys {duplicates}"

    def check_fields(fields: list[dict[str, Any]]) -> None:
        keys = [f["key"] for f in fields]
        check_keys(keys, "field")
        assert not set(keys) & set(SYSTEM_FIELDS), f"{form_key}: system field keys are reserved"
        for f in fields:
            assert f["type"] in FIELD_TYPES, f"{form_key}.{f['key']}: unknown type {f['type']}"
            if "options" in f:
                check_keys([o["key"] for o in f["options"]], f"option of {f['key']}")
            if f["type"] == "subform":
                check_fields(f["fields"])

    check_fields(fields_of(form))
    for section in ("rules", "list_views", "indexes"):
        check_keys([item["key"] for item in form.get(section, [])], section)


@pytest.mark.parametrize("form_key", sorted(FORMS))
def test_everything_people_read_is_in_chinese_and_english(form_key: str) -> None:
    missing = [
        where for where, text in labels(form_key)
        if not (isinstance(text, Mapping) and str(text.get("zh", "")).strip() and str(text.get("en", "")).strip())
    ]
    assert not missing, f"{form_key}: no zh/en label at {missing}"


# --- references ---------------------------------------------------------------------


@pytest.mark.parametrize("form_key", sorted(FORMS))
def test_relations_lookups_and_rollups_point_at_what_exists(form_key: str) -> None:
    all_fields = [*fields_of(FORMS[form_key])]
    all_fields += [c for f in fields_of(FORMS[form_key]) if f["type"] == "subform" for c in f["fields"]]
    for f in all_fields:
        where = f"{form_key}.{f['key']}"
        if f["type"] == "relation":
            assert f["target"] in FORMS, f"{where}: no form {f['target']}"
        if "default_link" in f:
            link = f["default_link"]
            assert link["form"] in FORMS, where
            assert link["field"] in value_keys(link["form"]), where
            assert set(link["match"]) <= value_keys(link["form"]) | set(SYSTEM_FIELDS), where
        if f["type"] == "lookup":
            relation = field(form_key, f["relation"])
            assert relation["type"] == "relation", where
            assert f["field"] in value_keys(relation["target"]), where
        if f["type"] == "rollup":
            source_form, dot, relation = f["source"].partition(".")
            if dot:
                assert source_form in FORMS, where
                link = field(source_form, relation)
                assert link["type"] == "relation" and link["target"] == form_key, (
                    f"{where}: {f['source']} is not a relation of {source_form} to {form_key}"
                )
                columns = value_keys(source_form)
            else:
                columns = {c["key"] for c in field(form_key, source_form)["fields"]}
            if f["aggregate"] != "count":
                assert f["field"] in columns, f"{where}: {f['source']} has no {f['field']}"
            for leaf in filters(f.get("where", {})):
                assert leaf["field"] in columns | set(SYSTEM_FIELDS), where


@pytest.mark.parametrize("form_key", sorted(FORMS))
def test_every_formula_compiles(form_key: str) -> None:
    for where, text, names in formulas(form_key):
        try:
            compile_formula(text, names=names)
        except Exception as exc:  # the message names the position and the reason
            pytest.fail(f"{form_key} {where}: {text!r}: {exc}")


@pytest.mark.parametrize("form_key", sorted(FORMS))
def test_title_field_names_a_record(form_key: str) -> None:
    form = FORMS[form_key]
    title = field(form_key, form["title_field"])
    assert title["type"] not in ("subform", "lookup", "attachment", "image") and not is_layout(title)


@pytest.mark.parametrize("form_key", sorted(FORMS))
def test_list_views_name_fields_that_exist_with_operators_they_offer(form_key: str) -> None:
    form = FORMS[form_key]
    own = {f["key"]: f for f in fields_of(form) if not is_layout(f)}
    readable = set(formula_names(fields_of(form), system=True))
    assert form.get("list_views"), f"{form_key} has no list view"
    for view in form["list_views"]:
        where = f"{form_key}.list_views.{view['key']}"
        assert view["columns"], where
        unknown = [c for c in view["columns"] if c not in readable]
        assert not unknown, f"{where}: unknown columns {unknown}"
        for sort in view.get("sort", []):
            assert sort["field"] in own or sort["field"] in SYSTEM_FIELDS, where
            if sort["field"] in own:
                assert FIELD_TYPES.get(own[sort["field"]]["type"]).stored, f"{where}: cannot sort on a lookup"
        for leaf in filters(view.get("filter", {})):
            name, op = leaf["field"], leaf["op"]
            assert op in OPERATORS, f"{where}: unknown operator {op}"
            if name in SYSTEM_FIELDS:
                assert op in SYSTEM_OPERATORS[name], f"{where}: {name} {op}"
                continue
            assert name in own, f"{where}: filter on unknown field {name}"
            f = own[name]
            offered = FIELD_TYPES.get(f["type"]).operators_for(FieldDef.from_dict(f))
            assert op in offered, f"{where}: {name} ({f['type']}) has no operator {op}"
            if f["type"] in ("select", "multiselect") and "value" in leaf:
                values = leaf["value"] if isinstance(leaf["value"], list) else [leaf["value"]]
                assert set(values) <= {o["key"] for o in f["options"]}, where


@pytest.mark.parametrize("form_key", sorted(FORMS))
def test_indexes_are_on_columns(form_key: str) -> None:
    own = {f["key"]: f for f in fields_of(FORMS[form_key])}
    for index in FORMS[form_key].get("indexes", []):
        for key in index["fields"]:
            if key in SYSTEM_FIELDS:
                continue
            assert key in own, f"{form_key}: index on unknown field {key}"
            f = FieldDef.from_dict(own[key])
            field_type = FIELD_TYPES.get(f.type)
            assert field_type.stored and field_type.storage_for(f) == "column", (
                f"{form_key}: {key} has no column to index"
            )


@pytest.mark.parametrize("form_key", sorted(FORMS))
def test_layout_places_every_field_once(form_key: str) -> None:
    layout = FORMS[form_key].get("layout")
    if layout is None:
        return
    placed = [key for row in layout for key in row["fields"]]
    assert sorted(placed) == sorted(f["key"] for f in fields_of(FORMS[form_key]))


@pytest.mark.parametrize("form_key", sorted(FORMS))
def test_fixed_defaults_are_valid_values(form_key: str) -> None:
    for f in fields_of(FORMS[form_key]):
        if "default" in f:
            definition = FieldDef.from_dict(f)
            FIELD_TYPES.get(f["type"]).coerce(definition, f["default"])
        if f["type"] == "select" and "default" in f:
            assert f["default"] in {o["key"] for o in f["options"]}


def test_rule_targets_exist() -> None:
    for form_key, form in FORMS.items():
        own = {f["key"]: f for f in fields_of(form)}
        for rule in form.get("rules", []):
            for action in rule["actions"]:
                for target in action.get("fields", []):
                    parent, _, child = target.partition(".")
                    assert parent in own, f"{form_key}.{rule['key']}: no field {parent}"
                    if child:
                        assert child in {c["key"] for c in own[parent]["fields"]}


# --- what the formulas compute ------------------------------------------------------------


@pytest.mark.parametrize(("stage", "expected"), [
    ("prospecting", "0.1"), ("engaging", "0.4"), ("won", "1"), ("lost", "0"),
])
def test_probability_follows_the_stage(stage: str, expected: str) -> None:
    probability = evaluate(field("opportunity", "probability")["formula"], {"stage": stage})
    assert probability == Decimal(expected)
    weighted = evaluate(field("opportunity", "weighted_amount")["formula"],
                        {"amount": Decimal(1000), "probability": probability})
    assert weighted == Decimal(1000) * Decimal(expected)
    assert {o["key"] for o in field("opportunity", "stage")["options"]} == {
        "prospecting", "engaging", "won", "lost",
    }


def test_quote_lines_apply_their_discount() -> None:
    items = field("quote", "items")
    subtotal = next(c for c in items["fields"] if c["key"] == "subtotal")
    assert evaluate(subtotal["formula"], {"quantity": 3, "unit_price": Decimal("100.00"),
                                          "discount": Decimal("0.15")}) == Decimal("255.00")
    big = next(r for r in FORMS["quote"]["rules"] if r["key"] == "big_discount")
    assert evaluate(big["when"], {"items": [{"discount": Decimal("0.1")}, {"discount": Decimal("0.25")}]})
    assert not evaluate(big["when"], {"items": [{"discount": Decimal("0.2")}, {"discount": None}]})
    assert {a["type"] for a in big["actions"]} == {"show", "required"}


@pytest.mark.parametrize(("priority", "hours"), [("urgent", 4), ("high", 8), ("normal", 24), ("low", 72)])
def test_the_sla_follows_the_priority(priority: str, hours: int) -> None:
    sla_hours = evaluate(field("service_ticket", "sla_hours")["formula"], {"priority": priority})
    assert sla_hours == hours
    opened = dt.datetime(2024, 3, 1, 9, 0)
    due = evaluate(field("service_ticket", "sla_due_at")["formula"],
                   {"opened_at": opened, "sla_hours": sla_hours})
    assert due == opened + dt.timedelta(hours=hours)


def test_outstanding_is_the_contract_amount_less_what_was_received() -> None:
    received = field("contract", "received")
    assert (received["source"], received["field"], received["aggregate"]) == (
        "payment_receipt.contract", "amount", "sum",
    )
    outstanding = field("contract", "outstanding")["formula"]
    assert evaluate(outstanding, {"amount": Decimal(1000), "received": Decimal(400)}) == Decimal(600)
    assert evaluate(outstanding, {"amount": Decimal(1000), "received": None}) == Decimal(1000)


def test_campaigns_end_after_they_start() -> None:
    rule = next(r for r in FORMS["campaign"]["rules"] if r["key"] == "end_after_start")
    assert evaluate(rule["when"], {"start_on": dt.date(2024, 5, 2), "end_on": dt.date(2024, 5, 1)})
    assert not evaluate(rule["when"], {"start_on": dt.date(2024, 5, 2), "end_on": dt.date(2024, 5, 2)})
    assert not evaluate(rule["when"], {"start_on": dt.date(2024, 5, 2), "end_on": None})


# --- the loader ---------------------------------------------------------------------------


def test_the_package_loads_with_no_issues() -> None:
    from engine.definitions.loader import load_package, validate_package

    assert [str(issue) for issue in validate_package(PACKAGE_PATH, FIELD_TYPES)] == []
    app = load_package(PACKAGE_PATH, FIELD_TYPES)
    assert app.key == "crm"
    assert {form.key for form in app.forms} == EXPECTED_FORMS


# --- the maven-crm sample -----------------------------------------------------------------


def maven(name: str) -> list[dict[str, str]]:
    with (MAVEN / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def select_value(form_key: str, key: str, raw: str) -> Any:
    f = FieldDef.from_dict(field(form_key, key))
    return FIELD_TYPES.get(f.type).coerce(f, raw)


def test_maven_sectors_are_industries() -> None:
    sectors = {row["sector"] for row in maven("accounts.csv")}
    for sector in sectors:
        assert select_value("customer", "industry", SECTOR_FIXES.get(sector, sector)) == (
            SECTOR_FIXES.get(sector, sector)
        )
    # The misspelling is refused, not silently stored: the import reports it.
    with pytest.raises(FieldValueError):
        select_value("customer", "industry", "technolgy")


def test_maven_stages_and_offices_are_options_by_their_english_labels() -> None:
    stages = {row["deal_stage"] for row in maven("sales_pipeline.csv")}
    assert {select_value("opportunity", "stage", s) for s in stages} == {
        "prospecting", "engaging", "won", "lost",
    }
    offices = {row["regional_office"] for row in maven("sales_teams.csv")}
    assert {select_value("sales_agent", "regional_office", o) for o in offices} == {"central", "east", "west"}


def test_the_maven_sample_imports_into_the_crm(tmp_path: Path) -> None:
    """The whole sample, through the record service, with the mapping of docs/crm.md."""
    from engine.packages.install import install_package
    from engine.records.service import RecordService
    from engine.store.database import Database
    from engine.store.migrate import upgrade_system_tables

    database = Database(f"sqlite:///{tmp_path / 'crm.sqlite3'}")
    upgrade_system_tables(database)
    service = RecordService(database, install_package(database, PACKAGE_PATH, FIELD_TYPES))

    teams = maven("sales_teams.csv")
    agents = dict(zip(
        [row["sales_agent"] for row in teams],
        service.create_many("sales_agent", [
            {"name": row["sales_agent"], "manager": row["manager"], "regional_office": row["regional_office"]}
            for row in teams
        ]), strict=True,
    ))
    catalogue = maven("products.csv")
    products = dict(zip(
        [row["product"] for row in catalogue],
        service.create_many("product", [
            {"name": row["product"], "series": row["series"], "sales_price": row["sales_price"]}
            for row in catalogue
        ]), strict=True,
    ))
    accounts = maven("accounts.csv")
    customers: dict[str, int] = {}
    # Parents first, so a subsidiary can point at its parent.
    for batch in ([r for r in accounts if not r["subsidiary_of"]], [r for r in accounts if r["subsidiary_of"]]):
        ids = service.create_many("customer", [
            {
                "name": row["account"],
                "industry": SECTOR_FIXES.get(row["sector"], row["sector"]),
                "year_established": row["year_established"],
                "revenue": row["revenue"],
                "employees": row["employees"],
                "office_location": row["office_location"],
                "subsidiary_of": customers.get(row["subsidiary_of"]),
            }
            for row in batch
        ])
        customers.update(zip([row["account"] for row in batch], ids, strict=True))
    pipeline = maven("sales_pipeline.csv")
    service.create_many("opportunity", [
        {
            "opportunity_id": row["opportunity_id"],
            "sales_agent": agents[row["sales_agent"]],
            "product": products[PRODUCT_FIXES.get(row["product"], row["product"])],
            "customer": customers[row["account"]] if row["account"] else None,
            "stage": row["deal_stage"],
            "engage_date": row["engage_date"] or None,
            "close_date": row["close_date"] or None,
            "close_value": row["close_value"] or None,
        }
        for row in pipeline
    ])

    assert service.count("customer", filter={"field": "subsidiary_of", "op": "not_blank"})[0] == 15
    assert service.count("opportunity", filter={"field": "stage", "op": "eq", "value": "won"})[0] == 4238
    # The sample's well-known total of won deals, through the agents' won_amount rollups.
    everyone = service.list("sales_agent", limit=100, fields=["won_amount"])["records"]
    assert sum(agent["won_amount"] for agent in everyone) == Decimal(10_005_534)
    unnamed = service.count("opportunity", filter={"field": "name", "op": "is_blank"})[0]
    assert unnamed == 0, "every imported opportunity gets a name from its customer and product"
    no_account = service.count("opportunity", filter={"field": "customer", "op": "is_blank"})[0]
    assert no_account == sum(1 for row in pipeline if not row["account"])
    darcel = service.get("sales_agent", agents["Darcel Schlecht"])
    assert darcel["regional_office"] == "central"
    assert darcel["won_amount"] == sum(
        Decimal(row["close_value"]) for row in pipeline
        if row["sales_agent"] == "Darcel Schlecht" and row["deal_stage"] == "Won"
    )


# --- the documentation ---------------------------------------------------------------------


@pytest.mark.parametrize("form_key", sorted(FORMS))
def test_docs_describe_every_field(form_key: str) -> None:
    """docs/crm.md has a section per form with a row per field."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "crm.md").read_text(encoding="utf-8")
    match = re.search(rf"^### .*\(`{form_key}`\)\n(.*?)(?=^##|\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"docs/crm.md has no section for {form_key}"
    section = match.group(1)
    rows = set(re.findall(r"^\| `([a-z0-9_.]+)` \|", section, re.MULTILINE))
    expected = set()
    for f in fields_of(FORMS[form_key]):
        if is_layout(f):
            continue
        expected.add(f["key"])
        if f["type"] == "subform":
            expected |= {f"{f['key']}.{c['key']}" for c in f["fields"]}
    assert rows == expected
