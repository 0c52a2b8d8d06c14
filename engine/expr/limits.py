"""The sandbox's bounds. Where Excel has a limit, we take Excel's."""

MAX_FORMULA_LENGTH = 8192  # Excel's formula length limit
MAX_NESTING = 64  # Excel's function nesting limit; here any nesting of nodes
MAX_TEXT_LENGTH = 32767  # Excel's cell text limit
MAX_LIST_LENGTH = 10000  # literal lists, SPLIT results, broadcast arithmetic
MAX_LIST_LITERAL = 1000  # items written in one list literal
MAX_EXPONENT = 1024  # |exponent| of a constant power written in a formula
MAX_NUMBER_DIGITS = 309  # digits of a numeric literal (Excel's largest is ~1e308)
