"""Delivery of the notification outbox (``Event`` rows): signed webhooks and legacy IPN.

- ``webhook`` events go to their application's ``webhook_url`` with the event's query
  (``?data.id=…&type=order``), signed with ``x-signature``/``x-request-id`` (``sandbox.signing``).
- ``ipn`` events go to the event's ``url`` with its query (``?topic=…&id=…``), unsigned.

Every request carries ``X-Retry`` (0 on the first try), ``X-Socket-Timeout`` and a ``User-Agent``,
and waits at most ``SANDBOX_DELIVERY_TIMEOUT`` seconds (22 by default) for an answer. Only 200 and
201 count as delivered. Otherwise the delivery is tried again, as Mercado Pago does, 15 minutes
after each of the first three attempts, then after 30 minutes, 1, 2, 4 and 8 hours, and then
every 24 hours, never giving up (``RETRY_INTERVALS``).

``deliver_event`` makes the first attempt as soon as an event is committed (``sandbox.signals``);
``deliver_due`` makes the attempts that have come due (the ``sandbox_deliver`` command, the
``sandbox.deliver_due`` task and ``POST /sandbox/_control/deliveries/run``).
"""

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from sandbox import lifecycle
from sandbox.faults import NotificationFate, notification_fate
from sandbox.models import Delivery, DeliveryAttempt, Event, FaultSettings
from sandbox.signing import signature

logger = logging.getLogger(__name__)

RETRY_INTERVALS = (
    timedelta(minutes=15),
    timedelta(minutes=15),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=24),  # and every 24 hours after that
)
REORDER_HOLD = timedelta(minutes=1)  # the longest a reordered notification waits for a later one
DEFAULT_TIMEOUT_SECONDS = 22
USER_AGENT = "restclient-node/mercadopago-sandbox"
DELIVERED_STATUSES = (200, 201)


# How far back ``deliver_due`` looks for events whose first attempt was never scheduled.
OUTBOX_HORIZON = timedelta(days=1)


def retry_interval(failed_attempts: int) -> timedelta:
    """How long after its ``failed_attempts``-th failed attempt a delivery is tried again."""
    return RETRY_INTERVALS[min(failed_attempts, len(RETRY_INTERVALS)) - 1]


def timeout_seconds() -> float:
    return float(getattr(settings, "SANDBOX_DELIVERY_TIMEOUT", DEFAULT_TIMEOUT_SECONDS))


# Mercado Pago's order of query parameters (a JSON column, on PostgreSQL, keeps no key order).
QUERY_ORDER = ("data.id", "type", "topic", "id")


def destination(event: Event) -> str:
    """The URL an event is sent to, query included; "" when there is none."""
    if event.kind == Event.Kind.WEBHOOK:
        base = event.application.webhook_url if event.application else ""
    else:
        base = event.url
    if not base:
        return ""
    query = sorted(event.query.items(), key=lambda item: _query_rank(item[0]))
    return str(httpx.URL(base).copy_merge_params(query))


def _query_rank(name: str) -> int:
    return QUERY_ORDER.index(name) if name in QUERY_ORDER else len(QUERY_ORDER)


def create_deliveries(event: Event, now: datetime) -> list[Delivery]:
    """The deliveries of ``event``, created once, with the fate drawn by fault injection."""
    existing = list(event.deliveries.order_by("pk"))
    if existing:
        return existing
    url = destination(event)
    if not url:
        logger.info("sandbox notification %s not sent: no URL to send it to", event.pk)
        return []
    faults = FaultSettings.current()
    fate = (
        notification_fate(faults, faults.take_number("webhook_count"))
        if faults.affects_notifications
        else NotificationFate()
    )
    if fate.dropped:
        logger.warning("sandbox fault: notification %s dropped", event.pk)
        Delivery.objects.create(
            event=event, url=url, status=Delivery.Status.DROPPED, fault=Delivery.Fault.DROPPED
        )
        return []
    fault, first_attempt_at = first_schedule(fate, now)
    deliveries = [
        Delivery.objects.create(event=event, url=url, fault=fault, next_attempt_at=first_attempt_at)
    ]
    if fate.duplicated:
        deliveries.append(
            Delivery.objects.create(
                event=event,
                url=url,
                fault=Delivery.Fault.DUPLICATE,
                next_attempt_at=first_attempt_at,
            )
        )
    if fault or fate.duplicated:
        logger.warning("sandbox fault: notification %s %s", event.pk, fate)
    return deliveries


def first_schedule(fate: NotificationFate, now: datetime) -> tuple[str, datetime]:
    """The fault a delivery records and the time of its first attempt."""
    if fate.delay_seconds:
        return Delivery.Fault.DELAYED, now + timedelta(seconds=fate.delay_seconds)
    if fate.reordered:
        return Delivery.Fault.REORDERED, now + REORDER_HOLD
    return Delivery.Fault.NONE, now


def deliver_event(event_id: int, now: datetime | None = None) -> list[DeliveryAttempt]:
    """Create the deliveries of a new event and make their first attempts, when due now.

    Once something of this event has been sent, notifications held back for reordering that
    are older than it are sent right after it.
    """
    now = now or timezone.now()
    event = Event.objects.select_related("application").get(pk=event_id)
    due = [
        delivery
        for delivery in create_deliveries(event, now)
        if delivery.status == Delivery.Status.PENDING and delivery.next_attempt_at <= now
    ]
    if not due:
        return []
    held = Delivery.objects.filter(
        status=Delivery.Status.PENDING,
        attempt_count=0,
        event__pk__lt=event.pk,
        event__deliveries__fault=Delivery.Fault.REORDERED,
    ).order_by("pk")
    return send(due + list(held), now)


def deliver_due(now: datetime | None = None) -> list[DeliveryAttempt]:
    """Make every attempt that is due at ``now``, oldest first.

    Events of the last day that have no delivery yet (their first attempt was never scheduled,
    say the broker was down at commit) get their deliveries first: nothing in the outbox is lost.
    Refunds in process whose time has come are settled before (``lifecycle.settle_due``), so
    their notifications go in this run.
    """
    now = now or timezone.now()
    lifecycle.settle_due(now=now)
    unsent = Event.objects.select_related("application").filter(
        deliveries__isnull=True, created_at__gte=now - OUTBOX_HORIZON
    )
    for event in unsent.order_by("pk"):
        create_deliveries(event, now)
    due = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "pk")
    return send(list(due), now)


def send(deliveries: list[Delivery], now: datetime) -> list[DeliveryAttempt]:
    """Attempt each delivery in turn; those another process is attempting are skipped."""
    with httpx.Client(timeout=timeout_seconds()) as client:
        attempts = (attempt(client, delivery, now) for delivery in deliveries)
        return [made for made in attempts if made is not None]


@dataclass(frozen=True)
class Outcome:
    """How one request went: the status answered, or why there was no answer."""

    status_code: int | None
    error: str
    response_body: str
    duration_ms: int


def attempt(client: httpx.Client, delivery: Delivery, now: datetime) -> DeliveryAttempt | None:
    """Send ``delivery`` once, record how it went and schedule the next attempt if it failed.

    None when another process claimed this attempt first.
    """
    number = delivery.attempt_count
    lease = now + timedelta(seconds=timeout_seconds() + 60)  # if this process dies mid-attempt
    claimed = Delivery.objects.filter(
        pk=delivery.pk, status=Delivery.Status.PENDING, attempt_count=number
    ).update(attempt_count=F("attempt_count") + 1, next_attempt_at=lease)
    if not claimed:
        return None
    event = Event.objects.select_related("application").get(pk=delivery.event_id)
    request_id = str(uuid.uuid4())
    headers = request_headers(event, request_id, number)
    content = json.dumps(event.body).encode() if event.body else b""
    outcome = post(client, delivery.url, content, headers)
    delivery.attempt_count = number + 1
    if outcome.status_code in DELIVERED_STATUSES:
        delivery.status = Delivery.Status.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + retry_interval(number + 1)
        logger.info(
            "sandbox notification %s to %s failed (%s), next attempt at %s",
            event.pk,
            delivery.url,
            outcome.status_code or outcome.error,
            delivery.next_attempt_at.isoformat(),
        )
    delivery.save(update_fields=["attempt_count", "status", "delivered_at", "next_attempt_at"])
    return DeliveryAttempt.objects.create(
        delivery=delivery,
        number=number,
        request_id=request_id,
        request_headers=headers,
        started_at=now,
        duration_ms=outcome.duration_ms,
        status_code=outcome.status_code,
        error=outcome.error,
        response_body=outcome.response_body,
    )


def post(client: httpx.Client, url: str, content: bytes, headers: dict[str, str]) -> Outcome:
    started = time.monotonic()
    try:
        response = client.post(url, content=content, headers=headers)
    except httpx.HTTPError as error:
        return Outcome(None, f"{type(error).__name__}: {error}"[:500], "", elapsed_ms(started))
    return Outcome(response.status_code, "", response.text[:1024], elapsed_ms(started))


def elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def request_headers(event: Event, request_id: str, number: int) -> dict[str, str]:
    """The headers of one attempt; webhooks are signed, IPN are not."""
    headers = {
        "User-Agent": USER_AGENT,
        "X-Request-Id": request_id,
        "X-Retry": str(number),
        "X-Socket-Timeout": str(round(timeout_seconds() * 1000)),
    }
    if event.body:
        headers["Content-Type"] = "application/json"
    if event.kind == Event.Kind.WEBHOOK:
        data_id = event.query.get("data.id")
        headers["X-Signature"] = signature(
            event.application.webhook_secret,
            None if data_id is None else str(data_id),
            request_id,
            ts=round(time.time() * 1000),
        )
    return headers
