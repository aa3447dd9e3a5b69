"""The ``x-signature`` of webhooks, as Mercado Pago computes it (api.md §6.1).

``x-signature: ts=<milliseconds>,v1=<hex HMAC-SHA256 of the manifest>``, where the manifest is
``id:<data.id>;request-id:<x-request-id>;ts:<ts>;``, ``data.id`` is lower-cased when it is
alphanumeric, and a pair whose value is absent is left out.
"""

import hashlib
import hmac


def manifest(data_id: str | None, request_id: str | None, ts: int) -> str:
    """The signed string for a notification about ``data_id``."""
    if data_id and data_id.isalnum():
        data_id = data_id.lower()
    pairs = [("id", data_id), ("request-id", request_id), ("ts", str(ts))]
    return "".join(f"{key}:{value};" for key, value in pairs if value)


def signature(secret: str, data_id: str | None, request_id: str | None, ts: int) -> str:
    """The value of the ``x-signature`` header."""
    message = manifest(data_id, request_id, ts).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"ts={ts},v1={digest}"
