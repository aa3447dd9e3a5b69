"""Partners' signed outbound webhooks: subscribing endpoints, publishing events, signing,
delivering, redelivering on request and forgetting old events.

An event is recorded once (``Event``, listed by ``GET /api/v1/events`` until
``EVENTS_RETENTION_DAYS`` have passed) and becomes one ``WebhookDelivery`` per endpoint subscribed
to it, whose payload is the event itself (``event_payload``: ``{"id", "object", "type",
"api_version", "created", "data"}``). Each attempt POSTs that JSON with three headers:

    X-Platform-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
    X-Platform-Event: <type>
    X-Platform-Delivery: <the event's id>   (the same on every endpoint, retry and redelivery:
                                             partners drop the ones already seen)

A 2xx answer delivers it (redirects are not followed); anything else (another status, a
timeout, an endpoint that cannot be reached, a host that resolves to an address that is not
public: ``is_public_address``) is recorded as a ``DeliveryAttempt``; after the n-th, it is tried
again in ``WEBHOOKS_BACKOFF_BASE * 2**(n - 1)`` seconds (at most ``WEBHOOKS_BACKOFF_MAX``), until
``WEBHOOKS_MAX_ATTEMPTS`` attempts have failed. An attempt is claimed by a conditional UPDATE that
moves ``next_attempt_at`` ahead by a lease, so two workers never send the same attempt and no row
lock or transaction is held while the partner answers. ``verify_signature`` is the reference
check for partners (docs/api.md shows it).

A redelivery (``redeliver``) sends a settled delivery again with the same payload and id, its
retry schedule started afresh. An event is written in the transaction of the change it tells of
(an order's status: ``orders.transitions.status_changed``; a store or POS sync failing:
``pos.services.sync_failed``; the seller's Mercado Pago connection:
``tenants.signals.connection_changed``), so the two commit or roll back together; emitting never
decrypts an endpoint's secret. Only signing does: a secret that no configured key decrypts records
a failed attempt (``CANNOT_SIGN``, logged at ERROR) and the delivery is retried as any other.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from partners import versions
from partners.models import (
    SUBSCRIBABLE_EVENTS,
    DeliveryAttempt,
    Event,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
)
from partners.services import grant_is_usable
from tenants.models import Tenant
from tenants.scope import cross_tenant_scope, tenant_scope

if TYPE_CHECKING:
    from oauth2_provider.models import AbstractApplication

    from orders.models import Order, Refund
    from pos.models import PointOfSale, Store

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Platform-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix that makes the secret recognisable)
BODY_KEPT = 1000  # characters of the partner's answer kept on the attempt
DUE_BATCH = 500  # deliveries the beat task re-queues per run


# Endpoints ------------------------------------------------------------------------------------


def generate_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def subscribe(
    *,
    tenant: Tenant,
    url: str,
    events: list[str],
    description: str = "",
    is_active: bool = True,
    application: "AbstractApplication | None" = None,
) -> WebhookEndpoint:
    """Register ``url`` to receive ``events`` of ``tenant``, with a new signing secret.

    The returned endpoint's ``secret`` is the only time the secret is readable by the caller's
    user: show it once. Raises ``ValidationError`` (per field) for a URL or events refused.
    """
    _check(url=url, events=events)
    with tenant_scope(tenant):
        return WebhookEndpoint.objects.create(
            tenant=tenant,
            url=url,
            events=_in_order(events),
            description=description,
            is_active=is_active,
            secret=generate_secret(),
            application=application,
        )


def update_endpoint(
    *,
    tenant: Tenant,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    """Change the given fields of ``endpoint`` (None: unchanged); checked as ``subscribe`` does."""
    _check(url=url, events=events)
    changes = {
        "url": url,
        "events": _in_order(events) if events is not None else None,
        "description": description,
        "is_active": is_active,
    }
    with tenant_scope(tenant):
        for field, value in changes.items():
            if value is not None:
                setattr(endpoint, field, value)
        endpoint.save()
    return endpoint


def rotate_secret(*, tenant: Tenant, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Give ``endpoint`` a new secret at once (the old one stops signing); show it once."""
    with tenant_scope(tenant):
        endpoint.secret = generate_secret()
        endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint


def unsubscribe(*, tenant: Tenant, endpoint: WebhookEndpoint) -> None:
    """Delete ``endpoint`` with its deliveries and their attempts."""
    with tenant_scope(tenant):
        endpoint.delete()


def _check(*, url: str | None, events: list[str] | None) -> None:
    problems = {}
    if url is not None and (problem := url_problem(url)):
        problems["url"] = ValidationError(problem, code="url_not_allowed")
    if events is not None:
        unknown = sorted(set(events) - set(SUBSCRIBABLE_EVENTS))
        if unknown:
            problems["events"] = ValidationError(
                f"Unknown events: {', '.join(unknown)}.", code="invalid_choice"
            )
        elif not events:
            problems["events"] = ValidationError("Choose at least one event.", code="empty")
    if problems:
        raise ValidationError(problems)


def _in_order(events: list[str]) -> list[str]:
    """The chosen events once each, in the order of ``EventType``."""
    return [event.value for event in SUBSCRIBABLE_EVENTS if event in events]


def url_problem(url: str) -> str:
    """Why an endpoint may not have ``url`` ("" if it may): https, unless private URLs are
    allowed or DEBUG is on, and no literal address that is not public. Host names are checked
    when a delivery resolves them."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (
        parts.scheme == "http" and (settings.WEBHOOKS_ALLOW_PRIVATE_URLS or settings.DEBUG)
    ):
        return "Use an https:// URL."
    if not parts.hostname:
        return "The URL needs a host."
    if settings.WEBHOOKS_ALLOW_PRIVATE_URLS:
        return ""
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return ""
    if is_public_address(address):
        return ""
    return "Use a public address, not a private or reserved one."


# Addresses Python's ipaddress (3.11) calls global although they are not, or must not be reached.
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(network)
    for network in (
        "192.0.0.0/24",  # IETF protocol assignments (3.11 calls 192.0.0.8 global)
        "192.88.99.0/24",  # 6to4 relay anycast, deprecated
        "::/96",  # IPv4-compatible IPv6, deprecated (3.11 calls ::127.0.0.1 global)
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
        "fec0::/10",  # site-local, deprecated
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known NAT64 prefix (RFC 6052)


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a webhook may be sent to ``address``: globally routable (ipaddress's
    ``is_global``), not multicast, not in ``_NOT_PUBLIC``, and every IPv4 address it carries
    (IPv4-mapped, 6to4, Teredo, NAT64) public too."""
    if (
        not address.is_global
        or address.is_multicast
        or any(address in network for network in _NOT_PUBLIC if network.version == address.version)
    ):
        return False
    return all(is_public_address(inner) for inner in _embedded_ipv4(address))


def _embedded_ipv4(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: its mapped, 6to4, Teredo (server and
    client) or NAT64 address; none for an IPv4 address or a plain IPv6 one."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if address in _NAT64:
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [inner for inner in embedded if inner is not None]


# Events ---------------------------------------------------------------------------------------


def subscribed_endpoints(*, tenant: Tenant, event_type: str) -> list[WebhookEndpoint]:
    """The active endpoints of ``tenant`` that receive ``event_type``, without their secrets
    (left encrypted: emitting an event never needs one, only signing a delivery does)."""
    with tenant_scope(tenant):
        active = WebhookEndpoint.objects.filter(is_active=True).defer("secret").order_by("pk")
        return [endpoint for endpoint in active if event_type in endpoint.events]


def emit_order_event(*, tenant: Tenant, order: "Order", event_type: str) -> Event:
    """Record ``event_type`` about ``order`` and queue it for every endpoint subscribed to it, in
    the caller's transaction (the order's status change); deliveries go once it commits."""
    from orders.api import OrderSerializer  # the API's own representation of an order

    with tenant_scope(tenant):
        data = {"order": OrderSerializer(order).data}
    return publish(tenant=tenant, event_type=event_type, data=data)


def emit_refund_events(
    *, tenant: Tenant, refund: "Refund", order: "Order", event_types: list[str]
) -> list[Event]:
    """Record each of ``event_types`` about ``refund`` (``{"refund": ..., "order": ...}``, as the
    API shows them) in the caller's transaction (the refund's change)."""
    from orders.api import OrderSerializer
    from orders.api_money import RefundResourceSerializer

    with tenant_scope(tenant):
        data = {
            "refund": RefundResourceSerializer(refund).data,
            "order": OrderSerializer(order).data,
        }
    return [publish(tenant=tenant, event_type=event_type, data=data) for event_type in event_types]


def emit_sync_failed(*, tenant: Tenant, row: "Store | PointOfSale") -> Event:
    """Record ``store.sync_failed`` or ``pos.sync_failed`` about ``row`` (``{"store": ...}`` or
    ``{"pos": ...}``, as the API shows it) in the caller's transaction (the row's change)."""
    from pos.api import PointOfSaleSerializer, StoreSerializer  # the API's own representations
    from pos.models import Store

    if isinstance(row, Store):
        event_type, name, serializer = EventType.STORE_SYNC_FAILED, "store", StoreSerializer
    else:
        event_type, name, serializer = EventType.POS_SYNC_FAILED, "pos", PointOfSaleSerializer
    with tenant_scope(tenant):
        data = {name: serializer(row).data}
    return publish(tenant=tenant, event_type=event_type, data=data)


def emit_connection_changed(*, tenant: Tenant, previous: str) -> Event:
    """Record ``seller.connection_changed``: the seller as ``GET /api/v1/tenant`` shows it now and
    its ``previous_connection``, in the caller's transaction (the connection's change)."""
    from tenants.api import TenantSerializer  # the API's own representation of the seller

    with tenant_scope(tenant):
        data = {"seller": TenantSerializer(tenant).data, "previous_connection": previous}
    return publish(tenant=tenant, event_type=EventType.SELLER_CONNECTION_CHANGED, data=data)


def send_test_event(*, tenant: Tenant, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a ``webhook.test`` event for ``endpoint`` now (active or not); its delivery."""
    data = {"endpoint": {"id": endpoint.pk}, "message": "A test event, sent on request."}
    event = publish(tenant=tenant, event_type=EventType.TEST, data=data, endpoints=[endpoint])
    with tenant_scope(tenant):
        return WebhookDelivery.objects.get(event=event)  # with eager Celery: attempted already


def publish(
    *,
    tenant: Tenant,
    event_type: str,
    data: dict,
    endpoints: list[WebhookEndpoint] | None = None,
) -> Event:
    """Record an event of ``tenant`` and queue one delivery of it per endpoint (``endpoints``,
    else the active ones subscribed to ``event_type``), each once the transaction commits."""
    from partners import tasks  # tasks call this module

    if endpoints is None:
        endpoints = subscribed_endpoints(tenant=tenant, event_type=event_type)
    with tenant_scope(tenant), transaction.atomic():
        event = Event.objects.create(
            tenant=tenant,
            type=event_type,
            api_version=versions.CURRENT,
            data=data,
            created_at=timezone.now(),
        )
        payload = event_payload(event)
        for endpoint in endpoints:
            delivery = WebhookDelivery.objects.create(
                tenant=tenant,
                endpoint=endpoint,
                event=event,
                event_uid=event.uid,
                event_type=event_type,
                payload=payload,
                next_attempt_at=event.created_at,
            )
            transaction.on_commit(
                lambda pk=delivery.pk: tasks.deliver_webhook.delay(
                    tenant_id=tenant.pk, delivery_id=pk
                ),
                robust=True,
            )
    return event


def event_payload(event: Event) -> dict:
    """The event as the API shows it and each delivery sends it."""
    return {
        "id": str(event.uid),
        "object": "event",
        "type": str(event.type),
        "api_version": event.api_version,
        "created": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }


class CannotRedeliver(Exception):
    """A redelivery refused; ``code`` says why (the API answers 409 with it)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def redeliver(*, tenant: Tenant, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send ``delivery`` again now: the same payload and event id, with its retry schedule from
    the start (``attempt_count`` back to 0; earlier attempts stay listed).

    Only a settled delivery (delivered, failed or canceled) of an active endpoint whose app still
    has access to ``tenant``: ``CannotRedeliver`` otherwise. The endpoint's row is locked while
    this is checked, so a revocation (which deactivates it) either comes first and refuses this,
    or comes after and cancels the new attempt.
    """
    from partners import tasks  # tasks call this module

    with tenant_scope(tenant), transaction.atomic():
        endpoint = (
            WebhookEndpoint.objects.select_for_update().defer("secret").get(pk=delivery.endpoint_id)
        )
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status == WebhookDelivery.Status.PENDING:
            raise CannotRedeliver(
                "This delivery is still pending: its next attempt is scheduled already.",
                code="delivery_pending",
            )
        if not endpoint.is_active:
            raise CannotRedeliver(
                "The endpoint is inactive: activate it first.", code="endpoint_inactive"
            )
        if endpoint.application_id is not None and not grant_is_usable(
            application_id=endpoint.application_id, tenant=tenant
        ):
            raise CannotRedeliver(
                "The app that registered this endpoint no longer has access to the seller.",
                code="access_revoked",
            )
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.attempt_count = 0
        delivery.next_attempt_at = timezone.now()
        delivery.delivered_at = None
        delivery.save(update_fields=["status", "attempt_count", "next_attempt_at", "delivered_at"])
        transaction.on_commit(
            lambda: tasks.deliver_webhook.delay(tenant_id=tenant.pk, delivery_id=delivery.pk),
            robust=True,
        )
    return delivery


PURGE_BATCH = 1000  # events deleted per statement


def purge_events(*, now: datetime) -> int:
    """Delete the events older than ``EVENTS_RETENTION_DAYS``, seller by seller (each on its
    ``(tenant, created_at)`` index) and in batches; how many. Their deliveries stay, payload
    included (``event`` becomes null)."""
    cutoff = now - timedelta(days=settings.EVENTS_RETENTION_DAYS)
    purged = 0
    for tenant in Tenant.objects.order_by("pk").only("pk"):
        with tenant_scope(tenant):
            old = Event.objects.filter(created_at__lt=cutoff).order_by()
            while ids := list(old.values_list("pk", flat=True)[:PURGE_BATCH]):
                purged += Event.objects.filter(pk__in=ids).delete()[0]  # deliveries: SET_NULL
    return purged


# Signing --------------------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Platform-Signature`` value of ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def _digest(secret: str, timestamp: int | str, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str, header: str, body: bytes, tolerance: int = 300, now: float | None = None
) -> bool:
    """Whether ``header`` (``X-Platform-Signature``) signs the raw ``body`` with ``secret``, at
    most ``tolerance`` seconds from ``now`` (default: the clock). Partners check each delivery so,
    on the bytes received, before parsing them; then they drop ids already seen."""
    fields = [part.strip().partition("=") for part in header.split(",")]
    timestamps = [value for name, _, value in fields if name == "t"]
    signatures = [value for name, _, value in fields if name == "v1"]
    if len(timestamps) != 1 or not timestamps[0].isdecimal() or not signatures:
        return False
    moment = time.time() if now is None else now
    if abs(moment - int(timestamps[0])) > tolerance:
        return False
    expected = _digest(secret, timestamps[0], body).encode()
    return any(hmac.compare_digest(expected, signature.encode()) for signature in signatures)


# Delivering -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status_code: int | None = None
    error: str = ""
    body: str = ""
    duration_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Refused(Exception):
    """The endpoint's URL may not be called now; the message says why."""


class Unreachable(Exception):
    """The endpoint's host does not resolve, or resolves to an address that is not public; the
    message, for the logs only, says which."""


# What a delivery records when no answer came. Connecting fails with one message whatever the
# cause (no DNS answer, an address that is not public, refused, reset, unroutable, a TLS failure,
# a connect timeout), so that the recorded errors cannot map hosts and ports. A timeout once
# connected is told apart: it says no more than a status code would (something listens there).
UNREACHABLE = "the endpoint could not be reached"
NO_ANSWER_IN_TIME = "the endpoint did not answer in time"
# Nothing was sent: the platform cannot read the endpoint's signing secret (its operator is told).
CANNOT_SIGN = "not sent: the platform could not read this endpoint's signing secret"


def deliver(*, tenant: Tenant, delivery_id: int) -> WebhookDelivery | None:
    """Make the attempt of ``delivery_id`` that is due; the delivery afterwards.

    None when no attempt was due: delivered or failed already, scheduled later, or claimed by
    another worker. The HTTP request runs outside any transaction and holds no lock. A delivery
    whose endpoint's app has lost its access to the seller since it was queued (its grant was
    revoked) is canceled instead, and nothing is sent.
    """
    with tenant_scope(tenant):
        delivery = _claim(delivery_id)
        if delivery is None:
            return None
        application_id = delivery.endpoint.application_id
        if application_id is not None and not grant_is_usable(
            application_id=application_id, tenant=tenant
        ):
            return _cancel(delivery)
        outcome = _send(delivery)
        return _record(delivery, outcome)


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Take the due attempt: its count is this claim's, and the delivery is not due again until
    the lease ends, so a worker that dies mid-attempt leaves it to the next one."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + _lease(), attempt_count=F("attempt_count") + 1)
    if not claimed:
        return None
    # The secret is read (decrypted) by ``_send`` alone, where failing to read it is recorded.
    deliveries = WebhookDelivery.objects.select_related("endpoint").defer("endpoint__secret")
    return deliveries.get(pk=delivery_id)


def _cancel(delivery: WebhookDelivery) -> WebhookDelivery:
    """Cancel the claimed ``delivery``, giving back the attempt its claim counted."""
    WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.CANCELED,
        next_attempt_at=None,
        attempt_count=F("attempt_count") - 1,
    )
    logger.info("webhook delivery %s canceled: the app lost access to the seller", delivery.pk)
    delivery.refresh_from_db()
    return delivery


def _lease() -> timedelta:
    """Longer than an attempt can take: connecting, sending, waiting for the answer and reading
    its first characters each get ``WEBHOOKS_TIMEOUT``."""
    return timedelta(seconds=60 + 4 * settings.WEBHOOKS_TIMEOUT)


def _send(delivery: WebhookDelivery) -> Outcome:
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    try:
        secret = delivery.endpoint.secret
    except InvalidToken:
        logger.error(
            "webhook delivery %s not sent: the signing secret of endpoint %s cannot be decrypted "
            "with MERCADOPAGO_CREDENTIAL_KEYS (a key was removed before rotate_credential_keys "
            "re-encrypted it); the attempt is recorded as failed and retried",
            delivery.pk,
            delivery.endpoint_id,
        )
        return Outcome(error=CANNOT_SIGN)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "merchant-platform-webhooks/1",
        SIGNATURE_HEADER: sign(secret, body, int(time.time())),
        "X-Platform-Event": delivery.event_type,
        "X-Platform-Delivery": str(delivery.event_uid),
    }
    started = time.monotonic()
    try:
        url, pinned_headers, extensions = _target(delivery.endpoint.url)
        with (
            httpx.Client(
                timeout=settings.WEBHOOKS_TIMEOUT, trust_env=False, follow_redirects=False
            ) as client,
            client.stream(
                "POST", url, content=body, headers=headers | pinned_headers, extensions=extensions
            ) as response,
        ):
            answer = _first_characters(response)
    except Refused as refusal:
        return Outcome(error=str(refusal)[:200], duration_ms=_since(started))
    except (Unreachable, httpx.HTTPError) as error:
        logger.info(
            "webhook endpoint %s: %s: %s", delivery.endpoint_id, type(error).__name__, error
        )
        return Outcome(error=_describe(error), duration_ms=_since(started))
    return Outcome(status_code=response.status_code, body=answer, duration_ms=_since(started))


def _target(url: str) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """Where to send: ``url`` itself when private URLs are allowed; otherwise ``url`` pinned to
    one checked address of its host (sent with the host's name as Host and TLS server name), so
    that a second DNS answer cannot lead the request to a private address. Every address the
    host resolves to must be public (``Unreachable`` otherwise)."""
    if problem := url_problem(url):
        raise Refused(f"refused: {problem}")
    target = httpx.URL(url)
    if settings.WEBHOOKS_ALLOW_PRIVATE_URLS:
        return target, {}, {}
    host = target.raw_host.decode("ascii")
    port = target.port or (443 if target.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Unreachable(f"{host} does not resolve") from None
    addresses = [ipaddress.ip_address(info[4][0].partition("%")[0]) for info in found]
    blocked = [address for address in addresses if not is_public_address(address)]
    if blocked:
        raise Unreachable(f"{host} resolves to {blocked[0]}, which is not a public address")
    extensions = {"sni_hostname": host} if target.scheme == "https" else {}
    return (
        target.copy_with(host=str(addresses[0])),
        {"Host": target.netloc.decode("ascii")},
        extensions,
    )


def _first_characters(response: httpx.Response) -> str:
    """The first ``BODY_KEPT`` characters of the answer, reading no more than they need."""
    read = b""
    try:
        for chunk in response.iter_bytes():
            read += chunk
            if len(read) >= 4 * BODY_KEPT:
                break
    except httpx.HTTPError:
        pass  # the status came: what follows it does not change the outcome
    return read.decode("utf-8", errors="replace")[:BODY_KEPT]


def _describe(error: Exception) -> str:
    """What the attempt records of ``error``: ``NO_ANSWER_IN_TIME`` for a timeout once
    connected, ``UNREACHABLE`` for anything else (never the socket's own words)."""
    timed_out = isinstance(error, httpx.TimeoutException)
    if timed_out and not isinstance(error, httpx.ConnectTimeout):
        return NO_ANSWER_IN_TIME
    return UNREACHABLE


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _record(delivery: WebhookDelivery, outcome: Outcome) -> WebhookDelivery:
    """Save the attempt and what follows: delivered, failed (no attempts left) or retried later.

    A failure is applied only if no later attempt has been claimed since (a lease ran out).
    """
    attempt = delivery.attempt_count
    now = timezone.now()
    still_pending = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.PENDING
    )
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            tenant_id=delivery.tenant_id,
            delivery=delivery,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
            response_body=outcome.body,
        )
        if outcome.succeeded:
            still_pending.update(
                status=WebhookDelivery.Status.DELIVERED, delivered_at=now, next_attempt_at=None
            )
        elif attempt >= settings.WEBHOOKS_MAX_ATTEMPTS:
            still_pending.filter(attempt_count=attempt).update(
                status=WebhookDelivery.Status.FAILED, next_attempt_at=None
            )
        else:
            still_pending.filter(attempt_count=attempt).update(
                next_attempt_at=now + backoff(attempt)
            )
    logger.info(
        "webhook delivery %s attempt %s: %s",
        delivery.pk,
        attempt,
        outcome.status_code or outcome.error,
    )
    delivery.refresh_from_db()
    return delivery


def backoff(attempts: int) -> timedelta:
    """How long to wait after ``attempts`` failed attempts: base * 2**(attempts - 1), capped."""
    seconds = settings.WEBHOOKS_BACKOFF_BASE * 2 ** (attempts - 1)
    return timedelta(seconds=min(seconds, settings.WEBHOOKS_BACKOFF_MAX))


def due_deliveries(*, now: datetime) -> list[tuple[int, int]]:
    """``(tenant_id, delivery_id)`` of pending deliveries whose next attempt is due, across
    tenants, oldest due first (at most ``DUE_BATCH``)."""
    with cross_tenant_scope():
        due = WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        ).order_by("next_attempt_at")
        return list(due.values_list("tenant_id", "pk")[:DUE_BATCH])
