"""What an observer sees of each attempt: a frozen record with tokens and secrets removed."""

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

MASK = "[redacted]"

# Keys whose values are secrets wherever they appear in a body or query.
SECRET_KEYS = frozenset(
    {
        "access_token",
        "api_key",
        "authorization",
        "client_secret",
        "code_verifier",
        "password",
        "public_key",
        "refresh_token",
        "secret",
        "token",
    }
)
# Keys that are secrets at the top level of a body only: the OAuth authorization ``code``.
# Nested ``code`` fields (``errors[].code``, ``cause[].code``) are error codes and stay readable.
TOP_LEVEL_SECRET_KEYS = frozenset({"code"})
# Mercado Pago credentials anywhere in text: APP_USR-..., TEST-..., TG-... (refresh tokens, codes).
TOKEN_PATTERN = re.compile(r"\b(?:APP_USR|TEST|TG)-[A-Za-z0-9_-]{8,}")


@dataclass(frozen=True)
class CallRecord:
    """One attempt of one call, as handed to the configured observer.

    ``status`` is None when no answer came (``error`` then names the transport failure);
    bodies are the decoded JSON (amounts as ``Decimal``) or text, redacted; headers are never
    recorded.
    """

    method: str
    path: str
    query: Mapping[str, object]
    attempt: int
    idempotency_key: str | None
    status: int | None
    duration_ms: float
    request_body: object
    response_body: object
    error: str | None = None


def redact(value: object, secrets: Collection[str] = ()) -> object:
    """A copy of ``value`` with secret keys masked and every known secret string removed.

    ``secrets`` are the values this call sent (its access token, client secret, ...): they are
    masked wherever they appear, even echoed inside a message.
    """
    return _redact(value, [secret for secret in secrets if secret], top_level=True)


def _redact(value: object, secrets: list[str], *, top_level: bool) -> object:
    if isinstance(value, Mapping):
        return {key: _redact_entry(key, item, secrets, top_level) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(item, secrets, top_level=False) for item in value]
    if isinstance(value, str):
        return scrub(value, secrets)
    return value


def _redact_entry(key: object, item: object, secrets: list[str], top_level: bool) -> object:
    if item is not None and _is_secret_key(key, top_level):
        return MASK
    return _redact(item, secrets, top_level=False)


def _is_secret_key(key: object, top_level: bool) -> bool:
    name = str(key).lower()
    return name in SECRET_KEYS or (top_level and name in TOP_LEVEL_SECRET_KEYS)


def scrub(text: str, secrets: Collection[str] = ()) -> str:
    """``text`` with each of ``secrets`` and anything shaped like a Mercado Pago token masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return TOKEN_PATTERN.sub(MASK, text)
