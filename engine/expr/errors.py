"""Formula errors: compile-time ``FormulaError`` and Excel's runtime error values.

A formula that cannot be compiled raises ``FormulaError`` with the position,
the offending piece and a bilingual message. A formula that compiles but meets
bad data at runtime does not raise: it evaluates to an ``ErrorValue`` such as
``#DIV/0!``, the way a spreadsheet cell does.
"""

from __future__ import annotations

from typing import Any, NoReturn

from engine.core.errors import DefinitionError
from engine.core.i18n import Label


class FormulaError(DefinitionError):
    """A formula is malformed, unsafe, or reads unknown names.

    ``line`` and ``column`` are 1-based and count characters, not bytes;
    ``fragment`` is the piece of the formula text the error is about.
    """

    code = "formula_error"

    def __init__(
        self,
        message: Label,
        *,
        text: str = "",
        line: int | None = None,
        column: int | None = None,
        fragment: str | None = None,
    ) -> None:
        self.reason = message
        self.formula = text
        self.line = line
        self.column = column
        self.fragment = fragment
        located = message
        if line is not None and column is not None:
            located = Label(
                f"第 {line} 行第 {column} 列：{message.zh}",
                f"line {line}, column {column}: {message.en}",
            )
        super().__init__(located, details=self._details())

    def _details(self) -> dict[str, Any]:
        return {
            "formula": self.formula,
            "line": self.line,
            "column": self.column,
            "fragment": self.fragment,
            "reason": self.reason.as_dict(),
        }


class FormulaCycleError(FormulaError):
    """Formulas depend on each other in a circle; ``cycle`` names it in order."""

    code = "formula_cycle"

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        path = " -> ".join(cycle)
        super().__init__(Label(f"公式循环引用：{path}", f"Formulas refer to each other in a cycle: {path}"))


class ErrorValue:
    """An Excel error value (``#DIV/0!``, ``#VALUE!``, ``#NUM!``, ``#N/A``).

    Two error values are equal when their codes are; the ``reason`` says why
    this one happened, for the person looking at the record.
    """

    __slots__ = ("code", "reason")

    def __init__(self, code: str, reason: Label) -> None:
        self.code = code
        self.reason = reason

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ErrorValue):
            return self.code == other.code
        if isinstance(other, str):
            return self.code == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.code)

    def __repr__(self) -> str:
        return f"ErrorValue({self.code!r}: {self.reason.en})"

    def __str__(self) -> str:
        return self.code


class FormulaRuntimeError(Exception):
    """Raised inside evaluation to abort with an error value; never leaves ``evaluate``."""

    def __init__(self, error: ErrorValue) -> None:
        self.error = error
        super().__init__(error.code)


DIV0 = "#DIV/0!"
VALUE = "#VALUE!"
NUM = "#NUM!"
NA = "#N/A"


def fail(code: str, zh: str, en: str) -> NoReturn:
    """Abort the evaluation with the error value ``code`` and a reason."""
    raise FormulaRuntimeError(ErrorValue(code, Label(zh, en)))


def fail_value(zh: str, en: str) -> NoReturn:
    fail(VALUE, zh, en)


def fail_num(zh: str, en: str) -> NoReturn:
    fail(NUM, zh, en)


def fail_div0() -> NoReturn:
    fail(DIV0, "除数为零", "Division by zero")


def fail_na(zh: str, en: str) -> NoReturn:
    fail(NA, zh, en)


def error_from_exception(exc: BaseException) -> ErrorValue | None:
    """The error value an exception raised during evaluation stands for.

    Runtime failures become Excel's error values; anything else (a bug) is
    None so the caller re-raises it instead of hiding it.
    """
    import decimal

    if isinstance(exc, FormulaRuntimeError):
        return exc.error
    if isinstance(exc, ZeroDivisionError | decimal.DivisionByZero):
        return ErrorValue(DIV0, Label("除数为零", "Division by zero"))
    if isinstance(exc, decimal.InvalidOperation | decimal.Overflow | OverflowError):
        return ErrorValue(NUM, Label("数字超出范围", "Number is out of range"))
    if isinstance(exc, TypeError | ValueError):
        return ErrorValue(VALUE, Label("值的类型不对", "A value has the wrong type"))
    if isinstance(exc, RecursionError | MemoryError):
        return ErrorValue(NUM, Label("计算过于复杂", "The calculation is too large"))
    return None
