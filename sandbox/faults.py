"""Deterministic fault injection on the sandbox's API requests and notifications.

Whether the n-th affected request fails, and how, is a pure function of the seed and n
(``request_fate``); likewise for the n-th notification (``notification_fate``). The counters
restart at zero whenever the settings are saved, so a test that sets a seed sees the same
sequence on every run.

Only paths under ``/sandbox/`` are affected, never the index page, the control pages, the OAuth
authorization page or the buyer wallet. An injected error answers before the view runs; a timeout
lets the view run (its changes stay) and then withholds the response for ``timeout_seconds``.
"""

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from http import HTTPStatus
from time import sleep

from django.http import HttpRequest, HttpResponse

from sandbox.http import legacy_error, orders_error
from sandbox.models import FaultSettings

logger = logging.getLogger(__name__)

PREFIX = "/sandbox"
EXEMPT_PATHS = re.compile(r"^/(?:$|_control/|authorization/?$|wallet)")


@dataclass(frozen=True)
class RequestFate:
    error_status: int | None = None
    timeout: bool = False


@dataclass(frozen=True)
class NotificationFate:
    dropped: bool = False
    duplicated: bool = False
    delay_seconds: int = 0
    reordered: bool = False


def draw(seed: int, stream: str, n: int, purpose: str) -> int:
    """A 64-bit number determined by its arguments alone."""
    digest = hashlib.sha256(f"{seed}:{stream}:{n}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def chance(seed: int, stream: str, n: int, purpose: str, rate: Decimal) -> bool:
    """Whether the draw falls under ``rate``: never for 0, always for 1."""
    return Decimal(draw(seed, stream, n, purpose)) / 2**64 < rate


def request_fate(faults: FaultSettings, n: int) -> RequestFate:
    """What happens to the n-th (0-based) affected API request."""
    seed, statuses = faults.seed, faults.error_statuses
    if statuses and chance(seed, "request", n, "error", faults.error_rate):
        return RequestFate(
            error_status=statuses[draw(seed, "request", n, "status") % len(statuses)]
        )
    return RequestFate(timeout=chance(seed, "request", n, "timeout", faults.timeout_rate))


def notification_fate(faults: FaultSettings, n: int) -> NotificationFate:
    """What happens to the n-th (0-based) notification: a delayed one is not also reordered."""
    seed = faults.seed
    if chance(seed, "notification", n, "drop", faults.webhook_drop_rate):
        return NotificationFate(dropped=True)
    delayed = chance(seed, "notification", n, "delay", faults.webhook_delay_rate)
    return NotificationFate(
        duplicated=chance(seed, "notification", n, "duplicate", faults.webhook_duplicate_rate),
        delay_seconds=faults.webhook_delay_seconds if delayed else 0,
        reordered=not delayed
        and chance(seed, "notification", n, "reorder", faults.webhook_reorder_rate),
    )


def api_path(path: str) -> str | None:
    """The Mercado Pago path of a sandbox URL (``/v1/orders`` for ``/sandbox/v1/orders``).

    None for paths outside the sandbox and for those never affected by faults.
    """
    if not path.startswith(f"{PREFIX}/"):
        return None
    path = path.removeprefix(PREFIX)
    return None if EXEMPT_PATHS.match(path) else path


def injected_error(path: str, status: int, retry_after_seconds: int) -> HttpResponse:
    """An error answer in the error family of ``path``, with ``Retry-After`` on a 429."""
    phrase = HTTPStatus(status).phrase
    code, message = phrase.lower().replace(" ", "_"), f"{phrase} (injected by the sandbox)"
    if status == HTTPStatus.INTERNAL_SERVER_ERROR and path.startswith("/instore/"):
        code = "in_store_order_creation_error"  # the legacy in-store API's 500 (api.md §2.4)
    if path.startswith("/v1/orders"):
        response = orders_error(status, code, message)
    else:
        response = legacy_error(status, code, message)
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        response["Retry-After"] = str(retry_after_seconds)
    return response


class FaultInjectionMiddleware:
    """Applies the current ``FaultSettings`` to the sandbox's API requests."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = api_path(request.path_info)
        if path is None:
            return self.get_response(request)
        faults = FaultSettings.current()
        if not faults.affects_requests or not re.search(faults.path_regex, path):
            return self.get_response(request)
        n = faults.take_number("request_count")
        fate = request_fate(faults, n)
        if faults.latency_ms:
            sleep(faults.latency_ms / 1000)
        if fate.error_status:
            logger.warning(
                "sandbox fault: %s %s answered %s (request %s, seed %s)",
                request.method,
                path,
                fate.error_status,
                n,
                faults.seed,
            )
            return injected_error(path, fate.error_status, faults.retry_after_seconds)
        response = self.get_response(request)
        if fate.timeout:
            logger.warning(
                "sandbox fault: %s %s processed, response withheld %ss (request %s, seed %s)",
                request.method,
                path,
                faults.timeout_seconds,
                n,
                faults.seed,
            )
            sleep(float(faults.timeout_seconds))
        return response
