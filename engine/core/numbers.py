"""How amounts read: currency symbols and grouped digits.

Shared by the money field type (its display text) and the print filters,
which sit in different layers and must write an amount the same way.
"""

from __future__ import annotations

from decimal import Decimal

CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "JP¥", "HKD": "HK$"}


def grouped(number: Decimal, places: int) -> str:
    """``1234.5`` -> ``1,234.50`` (thousands separators, fixed decimals)."""
    return f"{number:,.{places}f}"


def money_text(number: Decimal, currency: str, places: int) -> str:
    """``¥1,234.50``; a currency without a symbol reads ``CHF 1,234.50``."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    amount = grouped(abs(number), places)
    sign = "-" if number < 0 else ""
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{currency} {amount}"
