"""(being written)"""

from engine.expr.functions.base import FamilyBuilder

family = FamilyBuilder("text")
FUNCTIONS = family.functions
