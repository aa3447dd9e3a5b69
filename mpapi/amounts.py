"""Amounts: ``Decimal`` in and out, written the way each Mercado Pago API wants them.

- The Orders API (``/v1/orders``) takes strings with fixed decimals: ``"50.00"``, or ``"50"`` for
  currencies without decimals (CLP, COP).
- The legacy API (in-store QR, payment refunds) takes JSON numbers with at most two decimals
  (whole numbers for CLP and COP).

An amount with more decimals than the currency allows is refused, never rounded. Response amounts,
strings or numbers, are read into ``Decimal`` exactly; JSON bodies are decoded with
``parse_float=Decimal`` so no amount ever passes through ``float``.
"""

import json
from decimal import Decimal, InvalidOperation

WHOLE_NUMBER_CURRENCIES = frozenset({"CLP", "COP"})


def decimal_places(currency: str) -> int:
    """How many decimals an amount in ``currency`` may have: 0 for CLP and COP, else 2."""
    return 0 if currency.upper() in WHOLE_NUMBER_CURRENCIES else 2


def checked_amount(amount: Decimal, currency: str) -> Decimal:
    """``amount`` at the currency's precision; ``ValueError`` if it has more decimals than that."""
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise TypeError(f"amounts must be Decimal, not {type(amount).__name__}")
    amount = Decimal(amount)
    if not amount.is_finite():
        raise ValueError(f"amount {amount} is not a finite number")
    places = decimal_places(currency)
    quantized = amount.quantize(Decimal(1).scaleb(-places))
    if quantized != amount:
        raise ValueError(
            f"amount {amount} has more decimals than {currency} allows ({places}); "
            "round it explicitly before calling Mercado Pago"
        )
    return quantized


def order_amount(amount: Decimal, currency: str) -> str:
    """The Orders API form of ``amount``: a string with fixed decimals ("50.00", or "50")."""
    return format(checked_amount(amount, currency), "f")


def legacy_amount(amount: Decimal, currency: str) -> Decimal:
    """The legacy API form of ``amount``: a number, whole when it is, else with two decimals.

    The result is a ``Decimal`` that :func:`dumps` writes as a JSON number.
    """
    amount = checked_amount(amount, currency)
    return amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount


def parse_amount(value: object) -> Decimal | None:
    """A response amount (string, integer or ``Decimal``) as an exact ``Decimal``, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool | float):
        raise TypeError(f"refusing to read an amount from {type(value).__name__} {value!r}")
    try:
        return Decimal(value) if isinstance(value, Decimal | int) else Decimal(str(value))
    except InvalidOperation as error:
        raise ValueError(f"{value!r} is not an amount") from error


def dumps(value: object) -> str:
    """JSON text for ``value``, writing ``Decimal`` as a JSON number and refusing ``float``."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("floats are not allowed in Mercado Pago bodies; use Decimal")
    if isinstance(value, dict):
        items = (f"{json.dumps(str(key))}:{dumps(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def loads(text: str | bytes) -> object:
    """Decode JSON with every non-integer number read as ``Decimal``."""
    return json.loads(text, parse_float=Decimal)
