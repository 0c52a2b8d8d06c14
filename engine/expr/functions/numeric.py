"""(being written)"""

from engine.expr.functions.base import FamilyBuilder

family = FamilyBuilder("numeric")
FUNCTIONS = family.functions
