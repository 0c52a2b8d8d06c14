"""Compile-time errors a business user can act on, type inference, dependency order."""

from __future__ import annotations

import pytest

from engine.expr import FormulaCycleError, FormulaError, compile_formula, evaluation_order
from engine.expr.dependencies import depends_on
from engine.expr.types import parse_type

FIELDS = {
    "amount": "money",
    "qty": "number",
    "discount": "number",
    "name": "text",
    "stage": "text",
    "signed_on": "date",
    "created_at": "datetime",
    "won": "boolean",
    "items": "records",
    "items.subtotal": "list:money",
    "items.qty": "list:number",
    "customer": "record",
    "customer.name": "text",
}


def error_of(formula: str, names: object = FIELDS) -> FormulaError:
    with pytest.raises(FormulaError) as caught:
        compile_formula(formula, names=names)  # type: ignore[arg-type]
    return caught.value


def test_unknown_field_suggests_the_close_one_in_both_languages() -> None:
    error = error_of("amout * 2")
    assert error.reason.en == "Unknown field amout — did you mean amount?"
    assert error.reason.zh == "未知字段 amout，是否指 amount？"
    assert (error.line, error.column, error.fragment) == (1, 1, "amout")


def test_positions_count_characters_across_lines_and_rewrites() -> None:
    error = error_of('IF(stage <> "赢单",\n   amout, 0)')
    assert (error.line, error.column, error.fragment) == (2, 4, "amout")
    assert error.text("zh").startswith("第 2 行第 4 列：")
    assert error.text("en").startswith("line 2, column 4: ")


def test_unknown_relation_path_names_the_whole_path() -> None:
    error = error_of("customer.nmae")
    assert error.fragment == "customer.nmae"
    assert "customer.name" in error.reason.en


def test_unknown_function_suggests_and_bad_arity_says_how_many() -> None:
    assert "did you mean ROUND" in error_of("ROUDN(amount, 2)").reason.en
    arity = error_of("ROUND()")
    assert "ROUND takes 1 to 2 arguments, but 0 were given" in arity.reason.en
    assert "IF takes 2 to 3 arguments, but 4 were given" in error_of("IF(1, 2, 3, 4)").reason.en


@pytest.mark.parametrize(
    ("formula", "fragment"),
    [
        ("1 +", "1 +"),
        ('"abc', '"abc'),
        ("(1 + 2", "(1 + 2"),
        ("1 + 2)", ")"),
    ],
)
def test_syntax_errors_say_what_is_wrong(formula: str, fragment: str) -> None:
    error = error_of(formula, None)
    assert error.line == 1 and error.column is not None
    assert error.reason.en and error.reason.zh
    assert "Traceback" not in error.text("en")


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("amount + name", "Cannot add money and text: amount + name. To join text use & or CONCAT"),
        ("name > 3", "Cannot compare text with number: name > 3"),
        ("signed_on * 2", "Cannot multiply date and number"),
        ("NOT(name)", "Argument 1 of NOT should be a condition, but name is text"),
        ("SUM(name)", "Argument 1 of SUM should be a number"),
    ],
)
def test_type_mismatches_are_flagged_when_compiling(formula: str, message: str) -> None:
    assert message in error_of(formula).reason.en


@pytest.mark.parametrize(
    ("formula", "returns"),
    [
        ("amount * 2", "money"),
        ("amount * (1 - discount)", "money"),
        ("qty + 1", "number"),
        ("name & qty", "text"),
        ('CONCAT(customer.name, " - ", TEXT(created_at, "yyyy-MM-dd"))', "text"),
        ("IF(won, amount, 0)", "money"),
        ("signed_on + 30", "date"),
        ("signed_on - signed_on", "number"),
        ("amount > 10000 and won", "boolean"),
        ("items.subtotal", "list:money"),
        ("SUM(items.subtotal)", "money"),
        ("ROUND(SUM(items.subtotal) * (1 - discount), 2)", "money"),
        ("COUNT(items.qty)", "number"),
        ("[1, 2]", "list:number"),
        ("TODAY()", "date"),
        ("NOW()", "datetime"),
        ("DATEDIF(signed_on, TODAY(), \"d\") > 30", "boolean"),
        ("SPLIT(name, \",\")", "list:text"),
    ],
)
def test_return_type_is_inferred_from_field_types(formula: str, returns: str) -> None:
    assert compile_formula(formula, names=FIELDS).return_type == parse_type(returns)


def test_infer_type_can_be_asked_again_with_other_types() -> None:
    formula = compile_formula("a * 2")
    assert formula.infer_type({"a": "money"}) == parse_type("money")
    with pytest.raises(FormulaError):
        formula.infer_type({"a": "text"})


def test_evaluation_order_follows_dependencies() -> None:
    formulas = {
        "total": "subtotal + tax",
        "tax": "subtotal * rate",
        "subtotal": "SUM(items.subtotal)",
        "label": '"x"',
    }
    order = evaluation_order(formulas)
    assert order.index("subtotal") < order.index("tax") < order.index("total")
    assert set(order) == set(formulas)


def test_cycles_are_named_in_order() -> None:
    with pytest.raises(FormulaCycleError) as caught:
        evaluation_order({"total": "tax + 1", "tax": "total * 0.1"})
    assert caught.value.cycle == ["total", "tax", "total"]
    assert "total -> tax -> total" in caught.value.text("en")
    assert "公式循环引用" in caught.value.text("zh")


def test_self_reference_is_a_cycle() -> None:
    with pytest.raises(FormulaCycleError, match="total -> total"):
        evaluation_order({"total": "total + 1"})


def test_depends_on_matches_paths_by_their_root() -> None:
    formula = compile_formula("customer.name & amount")
    assert depends_on(formula, ["customer", "amount", "name"]) == ["customer", "amount"]
