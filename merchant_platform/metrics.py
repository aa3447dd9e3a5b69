"""Prometheus metrics, served at ``/metrics`` (docs/operations.md says what each one means).

Two kinds:

- Counters and histograms of what a process does: HTTP requests (``RequestMetricsMiddleware``)
  and Mercado Pago calls (every attempt, through the client's observer). Under gunicorn each
  worker writes them to files in ``PROMETHEUS_MULTIPROC_DIR`` and a scrape adds up every
  process's files, so whichever worker answers, the numbers are the deployment's.
- Gauges of the platform's state, computed when scraped (``PlatformStateCollector``): rows per
  state (one aggregate query per table, across every tenant), the Celery queues' lengths in the
  Redis broker, and beat's last run per schedule. The functions that read them
  (``notification_figures``, ``delivery_figures``, ``queue_lengths``, ``beat_last_runs``) also
  feed the console's health page (``console.health``), so both show the same figures.

Labels have bounded values: a URL pattern's name, never a raw path; a Mercado Pago path with its
ids replaced by ``{id}``; no tenant.
"""

import hmac
import ipaddress
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from time import perf_counter

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from merchant_platform.client_address import client_address
from mpapi import CallRecord

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PREFIX = "merchant_platform"
# Seconds; Mercado Pago calls may take the client's whole budget (20 s timeout, retries).
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # a request no URL pattern matched (a 404, or answered before routing)

HTTP_REQUESTS = Counter(
    f"{PREFIX}_http_requests",
    "HTTP requests answered, by method, URL pattern name and status class.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and URL pattern name.",
    ["method", "route"],
    buckets=BUCKETS,
)
MERCADOPAGO_CALLS = Counter(
    f"{PREFIX}_mercadopago_calls",
    "Attempts of Mercado Pago calls, by method, path template and outcome "
    "(2xx, 4xx, 5xx, timeout, error).",
    ["method", "endpoint", "outcome"],
)
MERCADOPAGO_LATENCY = Histogram(
    f"{PREFIX}_mercadopago_call_duration_seconds",
    "Time of one attempt of a Mercado Pago call, by method and path template.",
    ["method", "endpoint"],
    buckets=BUCKETS,
)


class RequestMetricsMiddleware:
    """Counts and times every request (second in ``MIDDLEWARE``, after the request id: the
    others' time included)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "other"
        route = _route(request)
        HTTP_LATENCY.labels(method, route).observe(perf_counter() - started)
        HTTP_REQUESTS.labels(method, route, f"{response.status_code // 100}xx").inc()
        return response


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED
    return match.view_name or match.route or UNMATCHED


# Mercado Pago calls ---------------------------------------------------------------------------

# The literal segments of the paths mpapi calls; any other segment is an id (a user, store, POS
# or order id, an external id): it becomes "{id}", so the label's values stay few.
PATH_WORDS = frozenset(
    {
        *("v1", "orders", "cancel", "refund", "refunds", "payments", "merchant_orders"),
        *("users", "me", "stores", "search", "pos", "oauth", "token"),
        *("instore", "qr", "seller", "collectors", "qrs"),
    }
)


def endpoint_template(path: str) -> str:
    """``path`` with every segment that is not a known word replaced by ``{id}``."""
    path = path.split("?", 1)[0]
    return "/".join(
        segment if not segment or segment in PATH_WORDS else "{id}" for segment in path.split("/")
    )


def call_outcome(record: CallRecord) -> str:
    """The status class of the answer, or ``timeout`` / ``error`` when none came."""
    if record.status is not None:
        return f"{record.status // 100}xx"
    return "timeout" if record.error and "Timeout" in record.error else "error"


def record_mercadopago_call(record: CallRecord) -> None:
    endpoint = endpoint_template(record.path)
    MERCADOPAGO_CALLS.labels(record.method, endpoint, call_outcome(record)).inc()
    MERCADOPAGO_LATENCY.labels(record.method, endpoint).observe(record.duration_ms / 1000)


def observing_calls(
    observer: Callable[[CallRecord], None] | None = None,
) -> Callable[[CallRecord], None]:
    """An observer for the Mercado Pago client that counts each attempt, then calls
    ``observer``; a failure to count is logged and never fails the call."""

    def observe(record: CallRecord) -> None:
        try:
            record_mercadopago_call(record)
        except Exception:
            logger.exception("metrics: could not record a Mercado Pago call")
        if observer is not None:
            observer(record)

    return observe


# The platform's state, computed when scraped ------------------------------------------------


class PlatformStateCollector(Collector):
    """Gauges read from the database, the broker and beat when ``/metrics`` is scraped.

    A source that fails (the database is down, the broker does not answer) is reported as
    ``merchant_platform_metrics_source_up{source=...} 0`` and the rest are still exported.
    """

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            f"{PREFIX}_metrics_source_up",
            "Whether a source of the state gauges answered this scrape (1) or failed (0).",
            labels=["source"],
        )
        sources: list[tuple[str, Callable[[], list[Metric] | None]]] = [
            ("database", _database_metrics),
            ("broker", _queue_metrics),
            ("beat", _beat_metrics),
        ]
        for source, gather in sources:
            try:
                families = gather()
            except Exception:
                logger.exception("metrics: the %s source failed", source)
                up.add_metric([source], 0)
                continue
            if families is None:  # the source does not apply to this deployment
                continue
            up.add_metric([source], 1)
            yield from families
        yield up


@dataclass(frozen=True)
class NotificationFigures:
    """The inbox across every seller: rows per state, and when the oldest row still received,
    queued or failed arrived (None when there is none)."""

    by_state: dict[str, int]
    oldest_unprocessed: datetime | None

    def oldest_unprocessed_age(self, now: datetime) -> float:
        """Seconds since the oldest unprocessed notification arrived (0 when there is none)."""
        if self.oldest_unprocessed is None:
            return 0
        return (now - self.oldest_unprocessed).total_seconds()


def notification_figures() -> NotificationFigures:
    """The inbox's figures: one aggregate query, across every seller."""
    from orders.models import Notification

    unprocessed = (
        Notification.Status.RECEIVED,
        Notification.Status.QUEUED,
        Notification.Status.FAILED,
    )
    rows = {
        row["status"]: row
        for row in Notification.objects.order_by()
        .values("status")
        .annotate(count=Count("pk"), oldest=Min("received_at"))
    }
    oldest = [rows[state]["oldest"] for state in unprocessed if state in rows]
    return NotificationFigures(
        by_state={state: rows.get(state, {}).get("count", 0) for state in Notification.Status},
        oldest_unprocessed=min(oldest) if oldest else None,
    )


def delivery_figures() -> dict[str, int]:
    """Partner webhook deliveries per state, across every seller: one aggregate query."""
    from partners.models import WebhookDelivery
    from tenants.scope import cross_tenant_scope

    with cross_tenant_scope():  # platform-wide figures, whatever the request's scope
        found = dict(
            WebhookDelivery.objects.order_by()
            .values("status")
            .annotate(count=Count("pk"))
            .values_list("status", "count")
        )
    return {state: found.get(state, 0) for state in WebhookDelivery.Status}


def queue_lengths() -> dict[str, int] | None:
    """The length of each Celery queue in a Redis broker (every priority level of it); None
    without one (tasks run in-process, or a broker these figures do not read)."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    import redis
    from kombu.transport.redis import PRIORITY_STEPS, Channel

    queues = _queue_names()
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        with client.pipeline(transaction=False) as pipe:
            for queue in queues:
                for step in PRIORITY_STEPS:
                    pipe.llen(f"{queue}{Channel.sep}{step}" if step else queue)
            lengths = pipe.execute()
    finally:
        client.close()
    steps = len(PRIORITY_STEPS)
    return {
        queue: sum(lengths[position * steps : (position + 1) * steps])
        for position, queue in enumerate(queues)
    }


def _queue_names() -> list[str]:
    from merchant_platform.celery import app

    names = {app.conf.task_default_queue}
    names.update(queue.name for queue in app.conf.task_queues or ())
    return sorted(names)


def beat_last_runs() -> dict[str, datetime]:
    """When beat last sent each schedule's task, by schedule name (beat's record, in the
    default cache)."""
    from merchant_platform.beat import last_runs

    return dict(sorted(last_runs().items()))


def _database_metrics() -> list[Metric]:
    notifications, deliveries = notification_figures(), delivery_figures()
    by_state = GaugeMetricFamily(
        f"{PREFIX}_notifications",
        "Mercado Pago notifications in the inbox, by state.",
        labels=["state"],
    )
    for state, count in notifications.by_state.items():
        by_state.add_metric([state], count)
    age = GaugeMetricFamily(
        f"{PREFIX}_notification_oldest_unprocessed_age_seconds",
        "Seconds since the oldest notification still received, queued or failed arrived "
        "(0 when there is none).",
        value=notifications.oldest_unprocessed_age(timezone.now()),
    )
    webhooks = GaugeMetricFamily(
        f"{PREFIX}_webhook_deliveries",
        "Partner webhook deliveries, by state.",
        labels=["state"],
    )
    for state, count in deliveries.items():
        webhooks.add_metric([state], count)
    return [by_state, age, webhooks]


def _queue_metrics() -> list[Metric] | None:
    lengths = queue_lengths()
    if lengths is None:
        return None  # the source does not apply to this deployment
    family = GaugeMetricFamily(
        f"{PREFIX}_celery_queue_length",
        "Tasks waiting in a Celery queue of the broker.",
        labels=["queue"],
    )
    for queue, length in lengths.items():
        family.add_metric([queue], length)
    return [family]


def _beat_metrics() -> list[Metric]:
    family = GaugeMetricFamily(
        f"{PREFIX}_beat_last_run_timestamp_seconds",
        "When beat last sent each schedule's task (unix time).",
        labels=["schedule"],
    )
    for schedule, ran_at in beat_last_runs().items():
        family.add_metric([schedule], ran_at.timestamp())
    return [family]


# The endpoint ---------------------------------------------------------------------------------


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus' text format, to a scraper that may read them.

    With ``METRICS_TOKEN`` a scraper sends ``Authorization: Bearer <token>``; with
    ``METRICS_ALLOWED_ADDRESSES`` a client from those networks needs none. With neither, the
    metrics are open while ``DEBUG`` is on and hidden (404) when it is off.
    """
    if request.method != "GET":
        response = _plain(405, "Only GET.")
        response["Allow"] = "GET"
        return response
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry.register(REGISTRY)  # this process's own counters
    registry.register(PlatformStateCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    token = settings.METRICS_TOKEN
    networks = allowed_networks(tuple(settings.METRICS_ALLOWED_ADDRESSES))
    if not token and not networks:
        return None if settings.DEBUG else _plain(404, "Not found.")
    if networks and _address_in(client_address(request), networks):
        return None
    if token:
        if _bearer_matches(request, token):
            return None
        response = _plain(401, "A bearer token is required.")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return _plain(403, "Forbidden.")


def _plain(status: int, message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), token.encode()
    )


@lru_cache(maxsize=8)
def allowed_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """The networks of ``METRICS_ALLOWED_ADDRESSES`` (addresses or CIDR blocks); malformed
    entries are left out (a system check refuses them)."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return tuple(networks)


def _address_in(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
