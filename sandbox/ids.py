"""Identifiers as Mercado Pago makes them.

Orders API ids are a three-letter prefix (``ORD``, ``PAY``, ``REF``) and 26 characters of
``[0-9A-Z]``: here a ULID (48-bit millisecond time, 80 random bits, Crockford base 32), so they
sort by creation time. Stores, POS, merchant orders, payments and refunds have numeric ids: their
primary keys.
"""

import re
import secrets
import time
import uuid

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ORDER_ID = re.compile(r"^ORD[0-9A-Z]{26}$")


def _ulid() -> str:
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def order_id() -> str:
    """A new ``ORD…`` id (29 characters)."""
    return f"ORD{_ulid()}"


def payment_transaction_id() -> str:
    """A new ``PAY…`` id (29 characters)."""
    return f"PAY{_ulid()}"


def refund_transaction_id() -> str:
    """A new ``REF…`` id (29 characters)."""
    return f"REF{_ulid()}"


def is_order_id(value: str) -> bool:
    """Whether ``value`` has the shape of an Orders API order id."""
    return bool(ORDER_ID.match(value))


def in_store_order_id() -> str:
    """A new legacy ``in_store_order_id``."""
    return str(uuid.uuid4())


def qr_token() -> str:
    """A new token naming an order inside its dynamic ``qr_data``."""
    return str(uuid.uuid4())


def pos_uuid() -> str:
    """A new POS ``uuid`` (32 hex digits, as in the names of its QR images)."""
    return uuid.uuid4().hex
