"""Exceptions raised by the client, and the parser of Mercado Pago's two error envelopes.

Every error answer becomes an :class:`APIError` subclass chosen by HTTP status, carrying Mercado
Pago's error code(s), message and the body as received. Both envelopes are understood:

- legacy (stores, POS, merchant orders, payments, OAuth):
  ``{"message": ..., "error": ..., "status": ..., "cause": [...]}``, where the code may also be
  given as ``cause[].code``;
- legacy in-store QR, as its OpenAPI documents it: ``{"errorKey": ...}`` alone (a key written
  ``key--text``, as the OpenAPI lists them, gives its text as the message);
- Orders API: ``{"errors": [{"code": ..., "message": ..., "details": [...]}]}``.

A body that is not JSON (a proxy's HTML page) is kept as text.
"""

from collections.abc import Iterable


class MercadoPagoError(Exception):
    """Base class of every error raised by ``mpapi``."""


class APIError(MercadoPagoError):
    """Mercado Pago answered with an error status.

    ``codes`` holds every error code found in the body, most general first (``errorKey``,
    ``error``, then ``cause[].code`` or ``errors[].code``); test for one with ``in error.codes``.
    ``body`` is the decoded JSON body, or the text when it was not JSON.
    """

    def __init__(
        self,
        *,
        status: int,
        method: str,
        path: str,
        codes: tuple[str, ...],
        message: str,
        details: tuple[str, ...],
        body: object,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.codes = codes
        self.message = message
        self.details = details
        self.body = body
        self.retry_after = retry_after
        super().__init__(self._summary())

    @property
    def code(self) -> str | None:
        """The first error code, or None when the body named none."""
        return self.codes[0] if self.codes else None

    def _summary(self) -> str:
        codes = ", ".join(self.codes) or "no error code"
        text = f"{self.method} {self.path} -> {self.status} ({codes})"
        return f"{text}: {self.message}" if self.message else text


class BadRequest(APIError):
    """400: the request was refused (validation, invalid_grant, ...)."""


class Unauthorized(APIError):
    """401: the access token is missing, invalid or expired."""


class Forbidden(APIError):
    """403: the token may not act on this resource."""


class NotFound(APIError):
    """404: no such resource for this seller."""


class Conflict(APIError):
    """409: wrong state, or an idempotency key reused with another body."""


class RateLimited(APIError):
    """429: too many requests; ``retry_after`` holds the server's ``Retry-After`` seconds."""


class ServerError(APIError):
    """5xx: Mercado Pago failed."""


class TransportFailure(MercadoPagoError):
    """No answer (timeout, connection error) after the last allowed attempt.

    The underlying ``httpx`` exception is the ``__cause__``.
    """

    def __init__(self, *, method: str, path: str, attempts: int, reason: str) -> None:
        self.method = method
        self.path = path
        self.attempts = attempts
        self.reason = reason
        plural = "attempt" if attempts == 1 else "attempts"
        super().__init__(f"{method} {path}: no answer after {attempts} {plural} ({reason})")


class UnexpectedResponse(MercadoPagoError):
    """A success answer whose body does not have the documented shape."""

    def __init__(self, *, method: str, path: str, status: int, body: object) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        super().__init__(f"{method} {path} -> {status}: unexpected response body")


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}


def error_class(status: int) -> type[APIError]:
    """The exception class for an error ``status``."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIError)


def parse_error_body(body: object) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """``(codes, message, details)`` from either envelope; empty values for an unknown body."""
    if not isinstance(body, dict):
        return (), "", ()
    if isinstance(body.get("errors"), list):
        return _orders_envelope(body["errors"])
    return _legacy_envelope(body)


def _orders_envelope(errors: list) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    entries = [entry for entry in errors if isinstance(entry, dict)]
    codes = _unique(entry.get("code") for entry in entries)
    messages = [str(entry["message"]) for entry in entries if entry.get("message")]
    details = [
        str(detail) for entry in entries for detail in _as_list(entry.get("details")) if detail
    ]
    return codes, "; ".join(messages), tuple(details)


def _legacy_envelope(body: dict) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    causes = _as_list(body.get("cause"))
    cause_codes = (cause.get("code") for cause in causes if isinstance(cause, dict))
    error_key, key_text = _split_key(body.get("errorKey"))
    codes = _unique([error_key, body.get("error"), *cause_codes])
    details = tuple(str(text) for text in map(_cause_text, causes) if text)
    return codes, str(body.get("message") or key_text), details


def _split_key(value: object) -> tuple[object, str]:
    """An ``errorKey`` and its text: the in-store OpenAPI lists each key with its meaning as
    ``invalid_collectorId--user_id must be a number.``; a bare key has no text."""
    if not isinstance(value, str) or "--" not in value:
        return value, ""
    key, _, text = value.partition("--")
    return key, text.strip()


def _cause_text(cause: object) -> object:
    if isinstance(cause, dict):
        return cause.get("description") or cause.get("message")
    return cause


def _unique(values: Iterable[object]) -> tuple[str, ...]:
    """Non-empty values as strings, in order, without repeats."""
    seen: dict[str, None] = {}
    for value in values:
        if value is not None and value != "":
            seen.setdefault(str(value), None)
    return tuple(seen)


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
