"""Amounts: `Decimal` inside the sandbox, JSON numbers outside (Mercado Pago answers
`"transaction_amount": 100.5` and `"transaction_amount": 100`, never strings or cents)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def parse_amount(value: object) -> Decimal:
    """A positive amount from a JSON number or a numeric string. Raises ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("not a number")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError("not a positive number")
    return amount


def json_number(amount: Decimal) -> int | float:
    """100 -> 100, 100.50 -> 100.5: the shortest JSON number with the same value."""
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)
