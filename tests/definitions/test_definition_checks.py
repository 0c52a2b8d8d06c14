"""What the loader checks beyond the schema: references, formulas, cycles, unique keys.

Each test breaks one thing in an otherwise valid package (customer, product,
quote from conftest) and expects the exact line ``qiqiao app validate`` prints.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from package_helpers import APP, CUSTOMER, PRODUCT, QUOTE, forms, write

from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions import (
    AppDef,
    FieldDef,
    FormDef,
    format_issues,
    load_package,
    validate_package,
)
from engine.fields import FieldType

Issues = Callable[..., list[str]]


def quote(**changes: Any) -> dict[str, Any]:
    form = copy.deepcopy(QUOTE)
    form.update(changes)
    return form


def with_fields(base: dict[str, Any], *extra: dict[str, Any]) -> dict[str, Any]:
    form = copy.deepcopy(base)
    form["fields"] = form["fields"] + list(extra)
    return form


def test_the_base_package_is_valid(issues_of: Issues) -> None:
    assert issues_of(forms()) == []


# --- field types and settings --------------------------------------------------


def test_an_unknown_field_type_suggests_the_closest(issues_of: Issues) -> None:
    form = with_fields(QUOTE, {"key": "notes", "type": "txt", "max_length": 10})
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[5].type: unknown field type 'txt' — did you mean 'text'?",
    ]


def test_a_setting_the_type_does_not_have(issues_of: Issues) -> None:
    form = with_fields(QUOTE, {"key": "notes", "type": "text", "max_lenght": 10})
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[5].max_lenght: a field of type 'text' has no setting 'max_lenght'"
        " — did you mean 'max_length'?",
    ]


def test_a_setting_of_another_type(issues_of: Issues) -> None:
    form = with_fields(QUOTE, {"key": "notes", "type": "text", "fields": []})
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[5].fields: a field of type 'text' has no setting 'fields'",
    ]


def test_a_bad_setting_value_points_at_the_setting(issues_of: Issues) -> None:
    form = with_fields(QUOTE, {"key": "count", "type": "number", "precision": -1})
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[5].precision: -1 is less than the minimum of 0",
    ]


def test_a_missing_required_setting_points_at_the_setting(issues_of: Issues) -> None:
    form = with_fields(QUOTE, {"key": "partner", "type": "relation"})
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[5].target: a field of type 'relation' needs 'target'",
    ]
    assert issues_of(forms(quote=form), locale="zh") == [
        "forms/quote.yaml: fields[5].target: relation 类型的字段需要 'target'",
    ]


def test_settings_a_schema_cannot_check_are_checked_by_the_type(issues_of: Issues) -> None:
    form = with_fields(QUOTE, {"key": "count", "type": "number", "min": 10, "max": 1})
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[5].min: Minimum 10 is greater than maximum 1",
    ]
    assert issues_of(forms(quote=form), locale="zh") == [
        "forms/quote.yaml: fields[5].min: 最小值 10 大于最大值 1",
    ]


def test_a_fixed_default_is_an_input_the_field_accepts(issues_of: Issues) -> None:
    form = with_fields(
        QUOTE,
        {"key": "a", "type": "number", "default": "abc"},
        {"key": "b", "type": "select", "options": [{"key": "x"}], "default": "y"},
        {"key": "c", "type": "date", "default": "2024-02-30"},
        {"key": "d", "type": "number", "max": 10, "default": 10},
    )
    found = issues_of(forms(quote=form))
    assert [line.split(": ")[1] for line in found] == [
        "fields[5].default", "fields[6].default", "fields[7].default",
    ]
    assert found[1] == 'forms/quote.yaml: fields[6].default: "y" is not an option (options: x)'


def test_duplicate_option_keys(issues_of: Issues) -> None:
    form = with_fields(CUSTOMER, {"key": "level", "type": "select", "options": [
        {"key": "a", "label": "A"}, {"key": "b", "label": "B"}, {"key": "a", "label": "C"},
    ]})
    assert issues_of(forms(customer=form)) == [
        "forms/customer.yaml: fields[2].options[2].key: duplicate option key 'a' (fields[2].options[0])",
    ]


# --- keys -----------------------------------------------------------------------


def test_duplicate_field_keys_in_the_form_and_in_a_subform(issues_of: Issues) -> None:
    form = with_fields(QUOTE, {"key": "name", "type": "text"})
    form["fields"][3]["fields"].append({"key": "qty", "type": "number"})
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[3].fields[4].key: duplicate field key 'qty' (fields[3].fields[1])",
        "forms/quote.yaml: fields[5].key: duplicate field key 'name' (fields[0])",
    ]


def test_a_form_key_used_by_two_files(issues_of: Issues) -> None:
    copy_of_product = copy.deepcopy(PRODUCT)
    assert issues_of(forms(products=copy_of_product)) == [
        "forms/products.yaml: key: form 'product' is already defined in forms/product.yaml",
    ]


def test_system_fields_and_bad_keys_are_refused(issues_of: Issues) -> None:
    form = with_fields(
        QUOTE,
        {"key": "created_at", "type": "date"},
        {"key": "Amount2", "type": "number"},
        {"key": "a" * 51, "type": "number"},
    )
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[5].key: 'created_at' is a system field and cannot be a field key",
        "forms/quote.yaml: fields[6].key: 'Amount2' is not a valid key: use lowercase letters,"
        " digits and _, starting with a letter",
        f"forms/quote.yaml: fields[7].key: '{'a' * 51}' is longer than 50 characters",
    ]


def test_duplicate_rule_view_and_index_keys(issues_of: Issues) -> None:
    rule = {"key": "r", "when": "amount > 0", "actions": [{"type": "show", "fields": ["name"]}]}
    form = quote(
        rules=[rule, rule],
        list_views=[{"key": "all"}, {"key": "all"}],
        indexes=[{"key": "by_name", "fields": ["name"]}, {"key": "by_name", "fields": ["amount"]}],
    )
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: indexes[1].key: duplicate index key 'by_name' (indexes[0])",
        "forms/quote.yaml: list_views[1].key: duplicate list view key 'all' (list_views[0])",
        "forms/quote.yaml: rules[1].key: duplicate rule key 'r' (rules[0])",
    ]


# --- references -------------------------------------------------------------------


def test_a_relation_to_a_missing_form(issues_of: Issues) -> None:
    form = quote()
    form["fields"][3]["fields"][0]["target"] = "prodcut"
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[3].fields[0].target: form 'prodcut' does not exist"
        " — did you mean 'product'?",
    ]


def test_lookups_resolve_their_relation_and_field(issues_of: Issues) -> None:
    form = with_fields(
        QUOTE,
        {"key": "industry", "type": "lookup", "relation": "customer", "field": "industy"},
        {"key": "by_name", "type": "lookup", "relation": "name", "field": "name"},
        {"key": "by_nothing", "type": "lookup", "relation": "custom", "field": "name"},
        {"key": "fine", "type": "lookup", "relation": "customer", "field": "created_at"},
    )
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[5].field: form 'customer' has no field 'industy'"
        " — did you mean 'industry'?",
        "forms/quote.yaml: fields[6].relation: 'name' is not a relation field",
        "forms/quote.yaml: fields[7].relation: there is no relation field 'custom'"
        " — did you mean 'customer'?",
    ]


def test_rollups_resolve_their_source_and_field(issues_of: Issues) -> None:
    form = with_fields(
        QUOTE,
        {"key": "a", "type": "rollup", "source": "item", "field": "qty", "aggregate": "sum"},
        {"key": "b", "type": "rollup", "source": "items", "field": "quantity", "aggregate": "sum"},
        {"key": "c", "type": "rollup", "source": "name", "aggregate": "count"},
    )
    customer = with_fields(
        CUSTOMER,
        {"key": "quoted", "type": "rollup", "source": "quote.customer", "field": "amount",
         "aggregate": "sum"},
        {"key": "wrong", "type": "rollup", "source": "quote.name", "aggregate": "count"},
        {"key": "gone", "type": "rollup", "source": "order.customer", "aggregate": "count"},
        {"key": "odd", "type": "rollup", "source": "quote.customer", "field": "amout",
         "aggregate": "sum"},
    )
    assert issues_of(forms(quote=form, customer=customer)) == [
        "forms/customer.yaml: fields[3].source: form 'quote' has no relation 'name' to 'customer'",
        "forms/customer.yaml: fields[4].source: form 'order' does not exist",
        "forms/customer.yaml: fields[5].field: the rollup source 'quote.customer' has no field"
        " 'amout' — did you mean 'amount'?",
        "forms/quote.yaml: fields[5].source: 'item' is neither a subform of this form nor"
        " <form>.<relation> — did you mean 'items'?",
        "forms/quote.yaml: fields[6].field: the rollup source 'items' has no field 'quantity'",
        "forms/quote.yaml: fields[7].source: 'name' is neither a subform of this form nor"
        " <form>.<relation>",
    ]


def test_default_links_resolve_form_fields_and_formulas(issues_of: Issues) -> None:
    form = quote()
    form["fields"][3]["fields"][2]["default_link"] = {
        "form": "product", "match": {"id": "product", "nme": "name"}, "field": "prise",
    }
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[3].fields[2].default_link.field: form 'product' has no field"
        " 'prise' — did you mean 'price'?",
        "forms/quote.yaml: fields[3].fields[2].default_link.match.nme: form 'product' has no field"
        " 'nme' — did you mean 'name'?",
        # A row formula reads the row, not the parent: 'name' is the quote's.
        "forms/quote.yaml: fields[3].fields[2].default_link.match.nme: Unknown field name (column 1)",
    ]


def test_a_subform_inside_a_subform(issues_of: Issues) -> None:
    form = quote()
    form["fields"][3]["fields"].append({"key": "parts", "type": "subform", "fields": [
        {"key": "part", "type": "text"},
    ]})
    [line] = issues_of(forms(quote=form))
    assert line.startswith("forms/quote.yaml: fields[3].fields[4].type: ")
    assert "subform" in line


# --- formulas -------------------------------------------------------------------


def test_formula_names_resolve_with_a_suggestion_and_position(issues_of: Issues) -> None:
    form = with_fields(
        QUOTE,
        {"key": "net", "type": "formula", "formula": "amout * 0.9", "result_type": "money"},
        {"key": "ok", "type": "formula", "result_type": "text",
         "formula": 'CONCAT(name, customer.name, customer.industry, SUM(items.qty), total, id)'},
    )
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[5].formula: Unknown field amout — did you mean amount? (column 1)",
    ]


def test_relation_paths_reach_one_level_into_the_target(issues_of: Issues) -> None:
    form = with_fields(QUOTE, {"key": "x", "type": "formula", "formula": "customer.nam",
                               "result_type": "text"})
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[5].formula: Unknown field customer.nam — did you mean"
        " customer.name? (column 1)",
    ]


def test_a_row_formula_reads_its_row_and_its_relations_only(issues_of: Issues) -> None:
    form = quote()
    form["fields"][3]["fields"].extend([
        {"key": "label", "type": "formula", "formula": "product.name", "result_type": "text"},
        {"key": "share", "type": "formula", "formula": "subtotal / amount", "result_type": "number"},
    ])
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[3].fields[5].formula: Unknown field amount (column 12)",
    ]


def test_formula_syntax_and_type_errors(issues_of: Issues) -> None:
    form = with_fields(
        QUOTE,
        {"key": "a", "type": "formula", "formula": "amount +", "result_type": "money"},
        {"key": "b", "type": "formula", "formula": "amount + name", "result_type": "money"},
    )
    found = issues_of(forms(quote=form))
    assert [line.split(": ")[1] for line in found] == ["fields[5].formula", "fields[6].formula"]


def test_formula_cycles_are_named(issues_of: Issues) -> None:
    form = with_fields(
        QUOTE,
        {"key": "a", "type": "formula", "formula": "b + 1", "result_type": "number"},
        {"key": "b", "type": "formula", "formula": "a + 1", "result_type": "number"},
        {"key": "c", "type": "formula", "formula": "c * 2", "result_type": "number"},
    )
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[5].formula: Formulas refer to each other in a cycle: a -> b -> a",
        "forms/quote.yaml: fields[7].formula: Formulas refer to each other in a cycle: c -> c",
    ]


def test_default_formulas_and_rule_formulas_are_compiled(issues_of: Issues) -> None:
    form = quote(rules=[{
        "key": "r", "when": "amount > limit",
        "actions": [{"type": "set_value", "fields": ["name"], "formula": "UPPER(nme)"}],
    }])
    form["fields"][2]["default_formula"] = "SUMM(items.subtotal)"
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[2].default_formula: Unknown function SUMM — did you mean SUM?"
        " (column 1)",
        "forms/quote.yaml: rules[0].actions[0].formula: Unknown field nme — did you mean name?"
        " (column 7)",
        "forms/quote.yaml: rules[0].when: Unknown field limit (column 10)",
    ]


# --- form-level sections -------------------------------------------------------------


def test_title_field(issues_of: Issues) -> None:
    assert issues_of(forms(quote=quote(title_field="nmae"))) == [
        "forms/quote.yaml: title_field: there is no field 'nmae' — did you mean 'name'?",
    ]
    assert issues_of(forms(quote=quote(title_field="items"))) == [
        "forms/quote.yaml: title_field: 'items' cannot name a record: it has no single value",
    ]


def test_rule_actions_name_existing_fields(issues_of: Issues) -> None:
    form = quote(rules=[{"key": "r", "when": "amount > 100", "actions": [
        {"type": "show", "fields": ["nam", "items.qty", "items.qnty"]},
        {"type": "set_value", "fields": ["total"], "formula": "1"},
    ]}])
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: rules[0].actions[0].fields[0]: there is no field 'nam'"
        " — did you mean 'name'?",
        "forms/quote.yaml: rules[0].actions[0].fields[2]: 'items' has no column 'qnty'"
        " — did you mean 'qty'?",
        "forms/quote.yaml: rules[0].actions[1].fields[0]: 'total' is computed and cannot be set",
    ]


def test_rule_actions_need_what_they_act_with(issues_of: Issues) -> None:
    form = quote(rules=[{"key": "r", "when": "TRUE", "actions": [
        {"type": "hide"}, {"type": "set_value", "fields": ["name"]}, {"type": "error"},
        {"type": "shwo", "fields": ["name"]},
    ]}])
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: rules[0].actions[0]: 'fields' is required",
        "forms/quote.yaml: rules[0].actions[1]: 'formula' is required",
        "forms/quote.yaml: rules[0].actions[2]: 'message' is required",
        "forms/quote.yaml: rules[0].actions[3].type: unknown rule action 'shwo' — did you mean 'show'?",
    ]


def test_list_view_columns_sort_and_filter(
    issues_of: Issues, field_types: Registry[FieldType]
) -> None:
    name = FieldDef.from_dict(QUOTE["fields"][0])
    text_operators = ", ".join(field_types.get("text").operators_for(name))
    form = quote(list_views=[{
        "key": "all",
        "columns": ["name", "customer.name", "customer.nmae", "created_at", "totl"],
        "sort": [{"field": "updated_at"}, {"field": "amont"}],
        "filter": {"or": [
            {"field": "amount", "op": "gt", "value": 1},
            {"and": [{"field": "nam", "op": "eq", "value": "x"}]},
            {"field": "name", "op": "greater", "value": "x"},
        ]},
    }])
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: list_views[0].columns[2]: there is no field 'customer.nmae'"
        " — did you mean 'customer.name'?",
        "forms/quote.yaml: list_views[0].columns[4]: there is no field 'totl' — did you mean 'total'?",
        "forms/quote.yaml: list_views[0].filter.or[1].and[0].field: there is no field 'nam'"
        " — did you mean 'name'?",
        "forms/quote.yaml: list_views[0].filter.or[2].op: the field 'name' has no operator 'greater'"
        f" (it has {text_operators})",
        "forms/quote.yaml: list_views[0].sort[1].field: there is no field 'amont'"
        " — did you mean 'amount'?",
    ]


def test_indexes_need_columns(issues_of: Issues) -> None:
    form = quote(indexes=[
        {"fields": ["customer", "created_at"]},
        {"fields": ["items"]},
        {"fields": ["nmae"], "unique": True},
    ])
    form["fields"][3]["index"] = True
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[3].index: 'items' has no column of its own to index",
        "forms/quote.yaml: indexes[1].fields[0]: 'items' has no column of its own to index",
        "forms/quote.yaml: indexes[2].fields[0]: there is no field 'nmae' — did you mean 'name'?",
    ]


def test_layout_rows_place_existing_fields_once(issues_of: Issues) -> None:
    form = quote(layout=[{"fields": ["name", "customer"]}, {"fields": ["amout", "name"]}])
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: layout[1].fields[0]: there is no field 'amout' — did you mean 'amount'?",
        "forms/quote.yaml: layout[1].fields[1]: 'name' is already placed at layout[0].fields[0]",
    ]


def test_table_names_fit_postgresql(issues_of: Issues) -> None:
    long_key = "a" * 40
    app = {**APP, "key": "b" * 30}
    form = {"schema_version": 1, "key": long_key, "fields": [{"key": "x", "type": "text"}]}
    assert issues_of({long_key: form}, app=app) == [
        f"forms/{long_key}.yaml: key: the table name '{'b' * 30}_{long_key}' is longer than 63"
        " characters; shorten the app, form or field key",
    ]


# --- several problems at once ------------------------------------------------------


def test_every_problem_of_a_package_is_reported_in_file_and_path_order(issues_of: Issues) -> None:
    bad_quote = quote(title_field="titel")
    bad_quote["fields"][1]["target"] = "custommer"
    bad_quote["fields"][0]["label"] = 42  # a schema error: the rest is still checked
    bad_quote["fields"][3]["fields"][3]["formula"] = "qty * prise"
    bad_customer = with_fields(CUSTOMER, {"key": "name", "type": "text"})
    app = {**APP, "version": "1.0"}
    assert issues_of(forms(quote=bad_quote, customer=bad_customer), app=app) == [
        "app.yaml: version: '1.0' is not a semantic version (like 1.2.0)",
        "forms/customer.yaml: fields[2].key: duplicate field key 'name' (fields[0])",
        "forms/quote.yaml: fields[0].label: expected a text or {zh, en}",
        "forms/quote.yaml: fields[1].target: form 'custommer' does not exist"
        " — did you mean 'customer'?",
        "forms/quote.yaml: fields[3].fields[3].formula: Unknown field prise — did you mean price?"
        " (column 7)",
        "forms/quote.yaml: title_field: there is no field 'titel' — did you mean 'total'?",
    ]


def test_a_field_refused_by_the_schema_is_not_reported_missing_elsewhere(issues_of: Issues) -> None:
    form = quote(title_field="name", list_views=[{"key": "all", "columns": ["name", "amount"]}])
    form["fields"][0]["max_length"] = "long"
    form["fields"][2]["precision"] = "two"
    assert issues_of(forms(quote=form)) == [
        "forms/quote.yaml: fields[0].max_length: expected a whole number, got a text",
        "forms/quote.yaml: fields[2].precision: expected a whole number, got a text",
    ]


# --- overlays ----------------------------------------------------------------------


def test_an_overlay_may_point_at_forms_of_its_base(
    tmp_path: Path, field_types: Registry[FieldType]
) -> None:
    base = load_package(write(tmp_path / "base", APP, forms()), field_types)
    overlay_app = {"schema_version": 1, "key": "shop_plus", "label": "Shop+", "extends": "shop"}
    visit = {"schema_version": 1, "key": "visit", "fields": [
        {"key": "customer", "type": "relation", "target": "customer"},
        {"key": "who", "type": "formula", "formula": "customer.name", "result_type": "text"},
    ]}
    root = write(tmp_path / "overlay", overlay_app, {"visit": visit})
    # Without the base the target cannot be checked, so it is not an error.
    assert validate_package(root, field_types) == []
    app = load_package(root, field_types, base=base)
    assert app.extends == "shop" and [f.key for f in app.forms] == ["visit"]
    visit["fields"][1]["formula"] = "customer.nme"
    write(root, overlay_app, {"visit": visit})
    assert format_issues(validate_package(root, field_types, base=base)) == (
        "forms/visit.yaml: fields[1].formula: Unknown field customer.nme — did you mean"
        " customer.name? (column 1)"
    )


def test_an_app_cannot_extend_itself(issues_of: Issues) -> None:
    assert issues_of(forms(), app={**APP, "extends": "shop"}) == [
        "app.yaml: extends: an app cannot extend itself",
    ]


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_messages_exist_in_both_languages(issues_of: Issues, locale: str) -> None:
    form = quote(title_field="nmae")
    zh, en = "没有字段 'nmae'，是否指 'name'？", "there is no field 'nmae' — did you mean 'name'?"
    assert issues_of(forms(quote=form), locale=locale) == [
        f"forms/quote.yaml: title_field: {zh if locale == 'zh' else en}",
    ]


def test_the_loaded_forms_are_the_model(field_types: Registry[FieldType], tmp_path: Path) -> None:
    app = load_package(write(tmp_path / "pkg", APP, forms()), field_types)
    assert isinstance(app, AppDef)
    assert app.get_form("quote") == FormDef.from_dict(QUOTE, app="shop")
    assert app.get_form("customer").get_field("name").label == Label("名称", "名称")
