"""The formula language: one safe, Excel-compatible expression engine.

>>> evaluate('IF(amount >= 100000, "big", "normal")', {"amount": 250000})
'big'
"""

from engine.expr.context import EvaluationContext
from engine.expr.dependencies import evaluation_order
from engine.expr.errors import ErrorValue, FormulaCycleError, FormulaError
from engine.expr.formula import CompiledFormula, compile_formula, evaluate, is_error
from engine.expr.functions import FUNCTIONS
from engine.expr.types import FormulaType

__all__ = [
    "FUNCTIONS",
    "CompiledFormula",
    "ErrorValue",
    "EvaluationContext",
    "FormulaCycleError",
    "FormulaError",
    "FormulaType",
    "compile_formula",
    "evaluate",
    "evaluation_order",
    "is_error",
]
