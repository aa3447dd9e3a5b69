"""The ``x-signature`` of Mercado Pago's webhooks (api.md §6.1).

``x-signature: ts=<ts>,v1=<hex>`` where ``v1`` is HMAC-SHA256 (hex) keyed with the application's
webhook secret over the manifest ``id:<data.id>;request-id:<x-request-id>;ts:<ts>;``. ``data.id``
comes from the query string and is lower-cased when alphanumeric; a pair whose value is absent is
left out. ``ts`` is in milliseconds in the Orders documentation and in seconds in the generic one,
so the optional freshness check accepts both.

``verify`` takes one secret or several: while a webhook secret is being replaced, a notification
signed with the new or the previous one is genuine.
"""

import hashlib
import hmac
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

_ALPHANUMERIC = re.compile(r"[A-Za-z0-9]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
# Timestamps at or above this are milliseconds (as seconds it would be the year 5138).
_MILLISECONDS_FROM = 10**11


class InvalidSignature(ValueError):
    """The ``x-signature`` is malformed, does not match, or is outside the tolerance window."""


@dataclass(frozen=True)
class Signature:
    ts: str
    v1: str


def parse_signature(header: str) -> Signature:
    """The ``ts`` and ``v1`` of an ``x-signature`` header; ``InvalidSignature`` if malformed."""
    parts = {}
    for part in header.split(","):
        key, separator, value = part.partition("=")
        if separator:
            parts[key.strip()] = value.strip()
    ts, v1 = parts.get("ts", ""), parts.get("v1", "")
    if not ts.isascii() or not ts.isdigit() or not _HEX.fullmatch(v1):
        raise InvalidSignature("malformed x-signature: expected ts=<digits>,v1=<hex>")
    return Signature(ts=ts, v1=v1.lower())


def manifest(*, data_id: str | None, request_id: str | None, ts: str) -> str:
    """The signed text: ``id:<data.id>;request-id:<x-request-id>;ts:<ts>;`` minus absent pairs."""
    if data_id and _ALPHANUMERIC.fullmatch(data_id):
        data_id = data_id.lower()
    pairs = (("id", data_id), ("request-id", request_id), ("ts", ts))
    return "".join(f"{key}:{value};" for key, value in pairs if value)


def sign(secret: str, *, data_id: str | None, request_id: str | None, ts: str | None = None) -> str:
    """An ``x-signature`` header value for a notification (``ts`` defaults to now, in ms)."""
    ts = ts if ts is not None else str(int(time.time() * 1000))
    return f"ts={ts},v1={_digest(secret, manifest(data_id=data_id, request_id=request_id, ts=ts))}"


def verify(
    secret: str | Sequence[str],
    *,
    header: str,
    data_id: str | None,
    request_id: str | None,
    tolerance: timedelta | None = None,
    now: float | None = None,
) -> Signature:
    """Check an ``x-signature`` header; the parsed signature, or ``InvalidSignature``.

    ``secret`` is the webhook secret, or several (the current one and the one it replaces): a
    signature made with any of them matches. With ``tolerance``, ``ts`` (milliseconds or seconds)
    must be within that much of ``now`` (seconds since the epoch; the current time by default).
    """
    signature = parse_signature(header)
    text = manifest(data_id=data_id, request_id=request_id, ts=signature.ts)
    secrets = [secret] if isinstance(secret, str) else [s for s in secret if s]
    if not secrets:
        raise InvalidSignature("no webhook secret is configured")
    matches = [hmac.compare_digest(_digest(s, text), signature.v1) for s in secrets]
    if not any(matches):
        raise InvalidSignature("x-signature does not match the notification")
    if tolerance is not None:
        age = abs((time.time() if now is None else now) - _seconds(signature.ts))
        if age > tolerance.total_seconds():
            raise InvalidSignature(f"x-signature timestamp is {age:.0f} s away from now")
    return signature


def _digest(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def _seconds(ts: str) -> float:
    value = int(ts)
    return value / 1000 if value >= _MILLISECONDS_FROM else float(value)
