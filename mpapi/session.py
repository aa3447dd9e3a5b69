"""Sending one logical call: headers, timeouts, retries with backoff, observation, errors.

A call is retried only when repeating it is safe: GET, PUT and DELETE, and POST when it carries an
idempotency key (the very same key goes out on every attempt). What is retried: 429 (waiting
``Retry-After`` seconds when given), 5xx, timeouts and connection errors. Other 4xx never are.

Inside ``deadline(seconds)`` every call, its attempts and the waits between them, ends by the
deadline: a web request bounds all the Mercado Pago calls it makes below the server's timeout.
"""

import ssl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache

import httpx

from mpapi.amounts import dumps, loads
from mpapi.config import ClientConfig
from mpapi.errors import APIError, TransportFailure, error_class, parse_error_body
from mpapi.observe import CallRecord, redact, scrub

IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE"})
MAX_IDEMPOTENCY_KEY_LENGTH = 128
# No answer, but the request may be sent again: the server saw nothing or will dedupe it.
RETRYABLE_TRANSPORT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
DEADLINE_EXCEEDED = "DeadlineExceeded"  # TransportFailure.reason: no time left for an attempt

_deadline: ContextVar[float | None] = ContextVar("mercadopago_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Bound every call made in the block to ``seconds`` from now, retries included.

    An attempt's timeouts are cut to the time left, a retry whose wait would reach the deadline
    is not made (the last error is raised), and a call with no time left fails at once with
    ``TransportFailure`` (reason ``DeadlineExceeded``). Nested deadlines: the earliest holds.
    """
    end = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(end if outer is None else min(outer, end))
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds left before the current ``deadline`` (None outside any)."""
    end = _deadline.get()
    return None if end is None else end - time.monotonic()


@dataclass(frozen=True)
class Call:
    """One logical request. ``body`` is JSON-ready (``Decimal`` allowed); None sends no body.

    ``secrets`` lists values sent in the body (client secret, code, ...) that must never reach
    an observer or an exception message; the access token is always treated as one.
    """

    method: str
    path: str
    access_token: str | None = None
    body: object = None
    query: Mapping[str, str] | None = None
    idempotency_key: str | None = None
    secrets: tuple[str, ...] = ()

    @property
    def retryable(self) -> bool:
        return self.method in IDEMPOTENT_METHODS or (
            self.method == "POST" and self.idempotency_key is not None
        )

    @property
    def all_secrets(self) -> tuple[str, ...]:
        return tuple(secret for secret in (self.access_token, *self.secrets) if secret)


@dataclass(frozen=True)
class Answer:
    """A success answer: its status and its decoded body (JSON, text, or None when empty)."""

    status: int
    body: object


def check_idempotency_key(key: str) -> str:
    """``key`` if Mercado Pago accepts it as ``X-Idempotency-Key``; ``ValueError`` otherwise."""
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValueError(
            f"an idempotency key must have 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters"
        )
    if not key.isascii() or not key.isprintable():
        raise ValueError("an idempotency key must be printable ASCII")
    return key


@cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS verification (certifi's CAs, or ``SSL_CERT_FILE``), built once per
    process: building it loads the CA bundle (some 20 ms), which every client, one per piece
    of work, would otherwise do again. An ``SSLContext`` may be shared between threads."""
    return httpx.create_ssl_context()


class Session:
    """The HTTP side of the client: one ``httpx.Client`` and the retry loop around it."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._http = httpx.Client(
            base_url=config.base_url,
            timeout=config.timeout,
            verify=tls_context(),
            transport=config.transport,
            headers=self._fixed_headers(config),
        )

    def close(self) -> None:
        self._http.close()

    def send(self, call: Call) -> Answer:
        """Send ``call``, retrying when safe; its success answer, or a ``MercadoPagoError``."""
        if call.idempotency_key is not None:
            check_idempotency_key(call.idempotency_key)
        attempts = 1 + self.config.max_retries if call.retryable else 1
        content = None if call.body is None else dumps(call.body)
        headers = self._call_headers(call)
        attempt = 0
        while True:
            attempt += 1
            left = time_left()
            if left is not None and left <= 0:
                raise TransportFailure(
                    method=call.method,
                    path=call.path,
                    attempts=attempt - 1,
                    reason=DEADLINE_EXCEEDED,
                )
            started = time.monotonic()
            try:
                response = self._http.request(
                    call.method,
                    call.path,
                    params=call.query,
                    content=content,
                    headers=headers,
                    timeout=self._timeout(left),
                )
            except httpx.TransportError as failure:
                self._observe(call, attempt, started, status=None, body=None, error=failure)
                error: Exception = TransportFailure(
                    method=call.method,
                    path=call.path,
                    attempts=attempt,
                    reason=type(failure).__name__,
                )
                error.__cause__ = failure
                retry = isinstance(failure, RETRYABLE_TRANSPORT_ERRORS)
                delay = self.config.backoff(attempt)
            else:
                body = _decode(response)
                self._observe(call, attempt, started, status=response.status_code, body=body)
                if response.is_success:
                    return Answer(response.status_code, body)
                error = _api_error(call, response, body)
                retry = _retryable_status(response.status_code)
                delay = error.retry_after
                if delay is None:
                    delay = self.config.backoff(attempt)
            left = time_left()
            if attempt == attempts or not retry or (left is not None and delay >= left):
                raise error
            self.config.sleep(delay)

    def _timeout(self, left: float | None) -> httpx.Timeout:
        """The client's timeouts, each cut to ``left`` seconds when a deadline holds."""
        own = self.config.timeout
        if left is None:
            return own

        def cut(seconds: float | None) -> float:
            return left if seconds is None else min(seconds, left)

        return httpx.Timeout(
            connect=cut(own.connect), read=cut(own.read), write=cut(own.write), pool=cut(own.pool)
        )

    @staticmethod
    def _fixed_headers(config: ClientConfig) -> dict[str, str]:
        headers = {
            "User-Agent": config.user_agent,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        if config.platform_id:
            headers["X-Platform-Id"] = config.platform_id
        if config.integrator_id:
            headers["X-Integrator-Id"] = config.integrator_id
        return headers

    @staticmethod
    def _call_headers(call: Call) -> dict[str, str]:
        headers = {}
        if call.access_token:
            headers["Authorization"] = f"Bearer {call.access_token}"
        if call.idempotency_key is not None:
            headers["X-Idempotency-Key"] = call.idempotency_key
        return headers

    def _observe(
        self,
        call: Call,
        attempt: int,
        started: float,
        *,
        status: int | None,
        body: object,
        error: Exception | None = None,
    ) -> None:
        if self.config.observer is None:
            return
        secrets = call.all_secrets
        self.config.observer(
            CallRecord(
                method=call.method,
                path=call.path,
                query=redact(dict(call.query or {}), secrets),
                attempt=attempt,
                idempotency_key=call.idempotency_key,
                status=status,
                duration_ms=(time.monotonic() - started) * 1000,
                request_body=redact(call.body, secrets),
                response_body=redact(body, secrets),
                error=type(error).__name__ if error is not None else None,
            )
        )


def _decode(response: httpx.Response) -> object:
    if not response.content:
        return None
    try:
        return loads(response.content)
    except ValueError:
        return response.text


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def _api_error(call: Call, response: httpx.Response, body: object) -> APIError:
    codes, message, details = parse_error_body(body)
    secrets = call.all_secrets
    return error_class(response.status_code)(
        status=response.status_code,
        method=call.method,
        path=call.path,
        codes=codes,
        message=scrub(message or response.reason_phrase, secrets),
        details=tuple(scrub(detail, secrets) for detail in details),
        body=body,
        retry_after=_retry_after(response),
    )


def _retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` delay in seconds, when given as seconds."""
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if value.isascii() and value.isdigit() else None
