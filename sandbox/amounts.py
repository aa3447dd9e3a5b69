"""Amounts as the two APIs carry them: strings in the Orders API, JSON numbers in the legacy API.

The Orders API takes "two decimals or none" (``"50.00"``, ``"50"``) and whole numbers only for
currencies without decimals (CLP, COP); the legacy API takes numbers with at most two decimals.
"""

import re
from decimal import Decimal

from sandbox.sites import Site

_STRING_AMOUNT = re.compile(r"^\d{1,12}(\.\d{2})?$")
_WHOLE_AMOUNT = re.compile(r"^\d{1,12}$")


def parse_string(value: object, site: Site) -> Decimal | None:
    """The Decimal of an Orders API amount string, or None when it is not one."""
    pattern = _WHOLE_AMOUNT if site.decimals == 0 else _STRING_AMOUNT
    if not isinstance(value, str) or not pattern.match(value):
        return None
    return Decimal(value)


def parse_number(value: object) -> Decimal | None:
    """The Decimal of a legacy JSON number with at most two decimals, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    amount = Decimal(str(value))
    if not amount.is_finite() or amount.as_tuple().exponent < -2:
        return None
    return amount


def as_string(amount: Decimal, site: Site) -> str:
    """An Orders API amount string: two decimals, or none for whole-number currencies."""
    return f"{amount:.{site.decimals}f}"


def as_number(amount: Decimal) -> int | float:
    """A legacy API JSON number (an integer when the amount is whole)."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)
