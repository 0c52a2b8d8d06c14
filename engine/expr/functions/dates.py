"""(being written)"""

from engine.expr.functions.base import FamilyBuilder

family = FamilyBuilder("dates")
FUNCTIONS = family.functions
