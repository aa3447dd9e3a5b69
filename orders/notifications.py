"""Mercado Pago's notifications: stored as received, checked, then processed by a Celery task.

Persist first, process later. ``receive`` writes the raw notification to the inbox before
anything else is done with it, with the outcome of the ``x-signature`` check of webhooks
(api.md §6.1), and queues the row; one ``INSERT`` per request. With ``NOTIFICATIONS_RELAY`` the
inbox is the queue: the row is stored ``received`` and the relay (``orders.relay``) publishes its
task, so the request never waits on the broker; without it the view publishes the task once the
row is committed. An exact duplicate of an accepted notification (same kind and
``x-request-id``, which a webhook's signature covers) is neither stored nor queued again: the
first row answers for it. A notification is a doorbell:
``process`` never trusts its body, it asks Mercado Pago with the seller's token for the order it
names and applies that (``services.refresh_order``), so duplicated, late, reordered or forged
notifications are harmless; an ``mp-connect`` notification (a seller unlinked the
application) is believed only once Mercado Pago refuses the seller's token. Legacy IPN
(``?topic=…&id=…``) cannot be verified and is always re-fetched; its URL names the seller
(``remote.notification_url``).

What an unauthenticated sender can make the platform do is bounded (docs/orders.md, "Inbox
limits"): a rejected request keeps a small record (no body: its digest and size), is rate-limited
per client address and purged after a retention period; the look-ups an IPN causes are
deduplicated per (seller, topic, id), coalescing repeats into one trailing look-up, and budgeted
per seller. A row left unprocessed (its worker killed, its retries lost) is found by ``sweep``.
"""

import hashlib
import json
import logging
import math
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache as cache_function

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from disputes import services as dispute_services
from merchant_platform import request_context
from merchant_platform.mercadopago import get_config
from merchant_platform.rate_limits import parse_rate, spend
from mpapi import APIError, MercadoPagoError, NotFound, webhooks
from orders import relay, remote, services
from orders.errors import MercadoPagoUnavailable, OrderError
from orders.models import Notification, Order, Status
from tenants import connection_health
from tenants.models import Tenant
from tenants.scope import cross_tenant_scope, tenant_scope

logger = logging.getLogger(__name__)

KEPT_HEADERS = ("x-signature", "x-request-id", "x-retry", "user-agent", "content-type")
# What a row that nobody vouches for (rejected, or an unsigned IPN) keeps of its request: so many
# query parameters, names and values cut to these lengths. An IPN's body is not used (the query
# names the resource): it is kept only when it is as small as Mercado Pago's.
BOUNDED_ENTRIES, BOUNDED_NAME, BOUNDED_VALUE = 10, 40, 200
IPN_BODY_KEPT = 1024
DETAIL_KEPT = 200
# A duplicate of a row still unprocessed queues it again at most once per this many seconds.
REQUEUE_GUARD = 30
SWEEP_BATCH = PURGE_BATCH = 1000


# What a task may act on: ``received`` too, since the relay publishes before it commits the row
# as ``queued`` (and the sweeper queues rows a stopped relay left behind).
UNPROCESSED = (Notification.Status.RECEIVED, Notification.Status.QUEUED, Notification.Status.FAILED)


class Throttled(Exception):
    """Too many rejected requests from one client address: nothing was stored."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many rejected requests; retry after {retry_after} s")
        self.retry_after = retry_after


def receive(
    *,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    client_address: str = "",
) -> Notification:
    """Store a notification as received, checked, and queue it when it may be processed (or,
    with ``NOTIFICATIONS_RELAY``, leave it ``received`` for the relay to queue).

    A webhook with a missing or bad signature is kept as ``rejected`` (a bounded record, without
    its body) and never processed; past ``NOTIFICATIONS_REJECTED_RATE`` from ``client_address``
    nothing is stored and ``Throttled`` is raised. The signature is checked before the row is
    written (the check reads nothing but the request), so the row is stored once, with its final
    status. For an exact duplicate of an accepted notification the row stored first is
    returned, and nothing is stored; when that row is still unprocessed it is queued again.
    """
    query = {_storable(name): _storable(value) for name, value in query.items()}
    headers = {_storable(name.lower()): _storable(value) for name, value in headers.items()}
    text = _storable(body.decode("utf-8", errors="replace"))
    data = _json_object(text)
    is_ipn = "topic" in query and "id" in query
    topic = query.get("topic") or query.get("type") or data.get("type") or ""
    relayed = settings.NOTIFICATIONS_RELAY
    notification = Notification(
        kind=Notification.Kind.IPN if is_ipn else Notification.Kind.WEBHOOK,
        status=Notification.Status.RECEIVED if relayed else Notification.Status.QUEUED,
        topic=_storable(str(topic))[:60],
        action=_storable(str(data.get("action") or ""))[:60],
        resource_id=str(query.get("id") if is_ipn else query.get("data.id") or "")[:100],
        version=_version(data),
        request_id=headers.get("x-request-id", "")[:100],
        query=dict(query),
        headers={name: headers[name] for name in KEPT_HEADERS if name in headers},
        body=text,
        body_size=len(body),
        body_sha256=hashlib.sha256(body).hexdigest(),
        client_address=client_address[:45],
    )
    problem = "" if is_ipn else _signature_problem(notification)
    if problem:
        return _reject(notification, problem)
    if is_ipn:
        _bound(notification, keep_body=len(text) <= IPN_BODY_KEPT)
    stored = _store_once(notification)
    request_context.bind(notification=stored.pk)
    if stored is notification and not relayed:
        transaction.on_commit(lambda pk=notification.pk: _enqueue(pk), robust=True)
    return stored


def refuse_too_large(
    *, query: Mapping[str, str], headers: Mapping[str, str], size: int | None, client_address: str
) -> Notification:
    """Keep a bounded record of a request whose body was over ``NOTIFICATIONS_MAX_BYTES`` (not
    read: ``size`` is what it declared, ``None`` for a chunked one); ``Throttled`` past the rate
    of rejected requests."""
    query = {_storable(name): _storable(value) for name, value in query.items()}
    headers = {_storable(name.lower()): _storable(value) for name, value in headers.items()}
    is_ipn = "topic" in query and "id" in query
    notification = Notification(
        kind=Notification.Kind.IPN if is_ipn else Notification.Kind.WEBHOOK,
        query=query,
        headers={name: headers[name] for name in KEPT_HEADERS if name in headers},
        body_size=size,
        client_address=client_address[:45],
        request_id=headers.get("x-request-id", "")[:100],
    )
    return _reject(notification, f"body larger than {settings.NOTIFICATIONS_MAX_BYTES} bytes")


def _reject(notification: Notification, problem: str) -> Notification:
    """Store the bounded record of a rejected request, unless its address is over its rate."""
    address = notification.client_address
    rate = parse_rate(settings.NOTIFICATIONS_REJECTED_RATE)
    allowed, retry_after = spend(f"mp-inbox-rejected:{address}", rate)
    if not allowed:
        logger.warning("Mercado Pago notification from %s throttled: %s", address, problem)
        raise Throttled(retry_after)
    notification.status = Notification.Status.REJECTED
    notification.detail = problem[:DETAIL_KEPT]
    _bound(notification, keep_body=False)
    notification.save(force_insert=True)
    logger.warning("Mercado Pago webhook %s rejected: %s", notification.pk, problem)
    return notification


def _bound(notification: Notification, *, keep_body: bool) -> None:
    """Cut every string a row nobody vouches for stores (its digest and size stay whole)."""
    notification.query = _bounded(notification.query)
    notification.headers = _bounded(notification.headers)
    if not keep_body:
        notification.body = ""


def _bounded(mapping: Mapping[str, str]) -> dict[str, str]:
    return {
        name[:BOUNDED_NAME]: str(value)[:BOUNDED_VALUE]
        for name, value in list(mapping.items())[:BOUNDED_ENTRIES]
    }


def _store_once(notification: Notification) -> Notification:
    """Insert the accepted ``notification``; the row stored first when it is a duplicate of one
    (``notification_unique_delivery``: the database decides, so concurrent copies race safely)."""
    if _insert(notification):
        return notification
    first = (
        Notification.objects.filter(kind=notification.kind, request_id=notification.request_id)
        .exclude(status=Notification.Status.REJECTED)
        .order_by("pk")
        .first()
    )
    if first is None:  # the first copy was deleted between the two statements: store this one
        return _store_once(notification)
    logger.info(
        "Mercado Pago %s %s is a duplicate of %s: not stored again",
        notification.kind,
        notification.request_id,
        first.pk,
    )
    unprocessed = first.status in (Notification.Status.QUEUED, Notification.Status.FAILED)
    if unprocessed and cache.add(f"mp-inbox-requeued:{first.pk}", 1, REQUEUE_GUARD):
        # Its processing may have died with its process: the resend is the doorbell again.
        if settings.NOTIFICATIONS_RELAY:
            relay.hand_back([first.pk])
        else:
            transaction.on_commit(lambda pk=first.pk: _enqueue(pk), robust=True)
    return first


# The predicate of ``notification_unique_delivery``, as its partial index has it: ON CONFLICT
# names the index by its columns and this predicate.
UNIQUE_DELIVERY = """NOT ("request_id" = '') AND NOT ("status" = 'rejected')"""


def _insert(notification: Notification) -> bool:
    """INSERT ``notification`` unless it is an exact duplicate of an accepted one; whether it
    was stored (its ``pk`` then set). One statement, without the ORM's per-save machinery; in
    relay mode on PostgreSQL the same statement wakes the relay (``pg_notify``, delivered at
    commit)."""
    fields = _insert_fields()
    values = [
        field.get_db_prep_save(field.pre_save(notification, True), connection) for field in fields
    ]
    wake = settings.NOTIFICATIONS_RELAY and connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.vendor, wake), values)
        row = cursor.fetchone()
    if row is None:
        return False
    notification.pk = row[0]
    notification._state.adding, notification._state.db = False, connection.alias
    return True


@cache_function
def _insert_fields() -> list:
    return [field for field in Notification._meta.concrete_fields if not field.primary_key]


@cache_function
def _insert_sql(vendor: str, wake: bool) -> str:
    """The statement of ``_insert`` (names from the model, values as parameters)."""
    quote = connection.ops.quote_name
    fields = _insert_fields()
    columns = ", ".join(quote(field.column) for field in fields)
    sql = (
        f"INSERT INTO {quote(Notification._meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f'ON CONFLICT ("kind", "request_id") WHERE {UNIQUE_DELIVERY} DO NOTHING RETURNING "id"'
    )
    if wake:
        sql = f"WITH stored AS ({sql}) SELECT id, pg_notify('{relay.CHANNEL}', '') FROM stored"  # noqa: S608
    return sql


def _enqueue(notification_id: int, *, trailing_in: int | None = None) -> None:
    from orders import tasks  # tasks call services

    if trailing_in is None:
        tasks.process_notification.delay(notification_id)
    else:
        tasks.process_notification.apply_async(
            (notification_id,), {"trailing": True}, countdown=trailing_in
        )


def _storable(text: str) -> str:
    """``text`` with NUL characters replaced: PostgreSQL cannot store them (text nor jsonb)."""
    return text.replace("\x00", "\ufffd")


def _signature_problem(notification: Notification) -> str:
    """Why the webhook's ``x-signature`` does not hold; "" when it does."""
    header = notification.headers.get("x-signature")
    if not header:
        return "missing x-signature"
    try:
        webhooks.verify(
            get_config().webhook_secrets,  # the current secret and, while it rotates, the previous
            header=header,
            data_id=notification.query.get("data.id"),
            request_id=notification.headers.get("x-request-id") or None,
            tolerance=timedelta(seconds=settings.MERCADOPAGO_WEBHOOK_TOLERANCE),
        )
    except webhooks.InvalidSignature as error:
        return str(error)
    return ""


def _json_object(text: str) -> dict:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# The largest value every database stores in a PositiveIntegerField (PostgreSQL's integer).
MAX_VERSION = 2**31 - 1


def _version(data: dict) -> int | None:
    version = data.get("data", {}).get("version") if isinstance(data.get("data"), dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        return None
    return version if 0 <= version <= MAX_VERSION else None


def _number(value: object) -> int | None:
    """``value`` as an id when it is a plain ASCII number that fits a database integer."""
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def queue(notification_ids: Iterable[int]) -> int:
    """Queue notifications for processing (again); how many. Rejected ones are never queued."""
    ids = list(
        Notification.objects.filter(pk__in=list(notification_ids))
        .exclude(status=Notification.Status.REJECTED)
        .values_list("pk", flat=True)
    )
    Notification.objects.filter(pk__in=ids).update(
        status=Notification.Status.QUEUED, touched_at=timezone.now()
    )
    for notification_id in ids:
        transaction.on_commit(lambda pk=notification_id: _enqueue(pk), robust=True)
    return len(ids)


@dataclass(frozen=True)
class Outcome:
    status: str
    detail: str = ""
    tenant: Tenant | None = None
    order: Order | None = None
    trailing_in: int | None = None  # seconds: a coalesced IPN's look-up at its window's end


def process(notification_id: int, *, trailing: bool = False) -> str:
    """Act on one queued notification; its new status.

    ``trailing`` is the look-up a coalesced IPN was given at the end of its window. Raises
    ``MercadoPagoUnavailable`` when Mercado Pago cannot answer now (the row is left ``failed``
    with the traceback, and the task tries again). Any other failure is kept the same way, for
    a replay.
    """
    request_context.bind(notification=notification_id)
    notification = Notification.objects.get(pk=notification_id)
    if trailing:
        _end_coalescing(notification)
    if notification.status not in UNPROCESSED:
        return notification.status
    Notification.objects.filter(pk=notification.pk).update(
        attempts=F("attempts") + 1, touched_at=timezone.now()
    )
    try:
        outcome = _act(notification, trailing=trailing)
    except (MercadoPagoUnavailable, MercadoPagoError) as error:
        _record_failure(notification, error)
        if isinstance(error, APIError) and error.status < 500 and error.status != 429:
            return Notification.Status.FAILED
        raise MercadoPagoUnavailable(str(error)) from error
    except Exception as error:
        _record_failure(notification, error)
        logger.exception("Mercado Pago notification %s failed", notification.pk)
        return Notification.Status.FAILED
    waiting = outcome.status == Notification.Status.QUEUED
    Notification.objects.filter(pk=notification.pk).update(
        status=outcome.status,
        detail=outcome.detail,
        traceback="",
        tenant=outcome.tenant,
        order=outcome.order,
        processed_at=None if waiting else timezone.now(),
    )
    if outcome.trailing_in is not None:
        _enqueue(notification.pk, trailing_in=outcome.trailing_in)
    return outcome.status


def _record_failure(notification: Notification, error: Exception) -> None:
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.FAILED,
        detail=f"{type(error).__name__}: {error}"[:2000],
        traceback=traceback.format_exc(),
    )


def _attribute(notification: Notification, tenant: Tenant, order: Order | None = None) -> None:
    """Record whose notification this is, once that is known from trustworthy data (a local
    order named by the signed ``data.id``, or Mercado Pago answering with the seller's token),
    so that it stays attributed even if processing then fails (and so are its log lines)."""
    request_context.bind_tenant(tenant)
    request_context.bind(order=str(order.uid) if order is not None else None)
    Notification.objects.filter(pk=notification.pk).update(tenant=tenant, order=order)


def _act(notification: Notification, *, trailing: bool) -> Outcome:
    if notification.kind == Notification.Kind.IPN:
        return _act_on_ipn(notification, trailing=trailing)
    if notification.topic == "mp-connect":
        return _act_on_mp_connect(notification)
    if notification.topic == CHARGEBACKS_TOPIC:
        return _act_on_chargeback(notification)
    if notification.topic != "order":
        return Outcome(Notification.Status.IGNORED, f"topic {notification.topic!r} not handled")
    return _act_on_order_webhook(notification)


CHARGEBACKS_TOPIC = "topic_chargebacks_wh"


def _act_on_chargeback(notification: Notification) -> Outcome:
    """A chargeback was opened or changed (docs/disputes.md). The signed ``data.id`` names it;
    its seller is the body's ``user_id`` (or the seller of the payment in ``data.payment_id``),
    believed only once Mercado Pago, asked with that seller's token, shows the chargeback."""
    if not notification.resource_id:
        return Outcome(Notification.Status.IGNORED, "the notification names no chargeback")
    body = _json_object(notification.body)
    seller = _seller_of(body.get("user_id"))
    if seller is None:
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        seller = dispute_services.seller_of_payment(_number(data.get("payment_id")))
    if seller is None:
        return Outcome(Notification.Status.IGNORED, "no seller has this chargeback's account")
    dispute = dispute_services.refresh_dispute(
        tenant=seller, mp_chargeback_id=notification.resource_id
    )
    if dispute is None:
        detail = f"chargeback {notification.resource_id} is not this seller's"
        return Outcome(Notification.Status.IGNORED, detail)
    _attribute(notification, seller, dispute.order)
    return Outcome(
        Notification.Status.PROCESSED, f"dispute is {dispute.status}", seller, dispute.order
    )


MP_CONNECT_UNLINKED = "application.deauthorized"


def _act_on_mp_connect(notification: Notification) -> Outcome:
    """A seller linked or unlinked the integrator's application (docs/orders.md). The signed
    ``data.id`` names the seller's Mercado Pago user; an unlink is believed only when Mercado
    Pago, asked with the seller's stored token, no longer accepts it."""
    seller = _seller_of(notification.resource_id)
    if seller is None:
        return Outcome(Notification.Status.IGNORED, "no seller has this Mercado Pago account")
    if notification.action != MP_CONNECT_UNLINKED:
        return Outcome(
            Notification.Status.IGNORED, f"action {notification.action!r} not handled", seller
        )
    _attribute(notification, seller)
    found = connection_health.confirm_unlinked(tenant=seller)
    status = (
        Notification.Status.PROCESSED
        if found == connection_health.Unlink.UNLINKED
        else Notification.Status.IGNORED
    )
    return Outcome(status, str(found), seller)


def _act_on_order_webhook(notification: Notification) -> Outcome:
    mp_order_id = notification.resource_id
    if not mp_order_id:
        return Outcome(Notification.Status.IGNORED, "the notification names no order")
    seller = _seller_of(_json_object(notification.body).get("user_id"))
    order = _order_by_mp_id(mp_order_id, seller)
    if order is not None:
        _attribute(notification, order.tenant, order)
        order = services.refresh_order(tenant=order.tenant, order=order)
    elif seller is None:
        return Outcome(Notification.Status.IGNORED, f"no seller has order {mp_order_id}")
    else:
        order = _adopt_unanswered_order(seller, mp_order_id)
        if order is None:
            return Outcome(
                Notification.Status.IGNORED, f"{mp_order_id} is not an order of this platform"
            )
    return Outcome(Notification.Status.PROCESSED, f"order is {order.status}", order.tenant, order)


def _seller_of(user_id: object) -> Tenant | None:
    mp_user_id = _number(user_id)
    return None if mp_user_id is None else Tenant.objects.filter(mp_user_id=mp_user_id).first()


def _order_by_mp_id(mp_order_id: str, seller: Tenant | None) -> Order | None:
    """The local order with Mercado Pago id ``mp_order_id`` (of ``seller``, when named)."""
    if not mp_order_id:
        return None
    with cross_tenant_scope():
        found = Order.objects.select_related("tenant").filter(mp_order_id=mp_order_id)
        if seller is not None:
            found = found.filter(tenant=seller)
        return found.first()


def _adopt_unanswered_order(tenant: Tenant, mp_order_id: str) -> Order | None:
    """A pending order of ``tenant`` whose create answer never came, found by the reference of
    Mercado Pago's order ``mp_order_id`` (read with ``tenant``'s own token) and brought up to
    date with that read."""
    with tenant_scope(tenant), remote.seller_client(tenant) as seller:
        try:
            answer = seller.mp.get_order(seller.token, mp_order_id)
        except NotFound:
            return None
        order = (
            Order.objects.select_related("tenant")
            .filter(external_reference=answer.external_reference, mp_order_id="")
            .exclude(status=Status.FAILED)
            .first()
        )
    if order is None:
        return None
    return services.apply_state(tenant=tenant, order=order, state=remote.v1_state(answer))


def _act_on_ipn(notification: Notification, *, trailing: bool) -> Outcome:
    # The seller named in the URL is not trusted until Mercado Pago, asked with that seller's
    # token, shows the resource: until then the row is attributed to nobody.
    seller_id = _number(notification.query.get("seller"))
    tenant = None if seller_id is None else Tenant.objects.filter(pk=seller_id).first()
    if tenant is None:
        return Outcome(Notification.Status.IGNORED, "the notification names no seller")
    resource_id = _number(notification.resource_id)
    if resource_id is None:
        return Outcome(Notification.Status.IGNORED, "the notification names no resource")
    if notification.topic not in ("merchant_order", "payment"):
        return Outcome(Notification.Status.IGNORED, f"topic {notification.topic!r} not handled")
    held = _ipn_gate(notification, _ipn_key(notification), tenant, trailing=trailing)
    if held is not None:
        return held
    with tenant_scope(tenant):
        with remote.seller_client(tenant) as seller:
            try:
                if notification.topic == "merchant_order":
                    reference = seller.mp.get_merchant_order(seller.token, resource_id)
                else:
                    reference = seller.mp.get_payment(seller.token, resource_id)
            except NotFound:
                detail = f"{notification.topic} {resource_id} is not this seller's"
                return Outcome(Notification.Status.IGNORED, detail)
        order = (
            Order.objects.filter(external_reference=reference.external_reference or "")
            .exclude(status=Status.FAILED)
            .first()
        )
        _attribute(notification, tenant, order)
        if order is None:
            detail = f"no order {reference.external_reference!r} here"
            return Outcome(Notification.Status.IGNORED, detail, tenant)
        order = services.refresh_order(tenant=tenant, order=order)
    return Outcome(Notification.Status.PROCESSED, f"order is {order.status}", tenant, order)


def _ipn_key(notification: Notification) -> str | None:
    """The cache key of the IPN look-ups of one (seller, topic, id); None if it names none."""
    seller_id = _number(notification.query.get("seller"))
    resource_id = _number(notification.resource_id)
    if seller_id is None or resource_id is None:
        return None
    return f"mp-ipn:{seller_id}:{notification.topic[:20]}:{resource_id}"


def _ipn_gate(
    notification: Notification, key: str, tenant: Tenant, *, trailing: bool
) -> Outcome | None:
    """Why this IPN does not call Mercado Pago now (None when it does).

    The first IPN of a (seller, topic, id) in ``NOTIFICATIONS_IPN_WINDOW`` seconds looks up;
    repeats inside the window are coalesced into one trailing look-up at its end (the first
    repeat is queued again for then, later ones point to it), so an update sent twice within
    seconds (created, then paid) is still read. Each look-up spends one unit of the seller's
    ``NOTIFICATIONS_IPN_SELLER_RATE``; past it the IPN is left to reconciliation.
    """
    window = settings.NOTIFICATIONS_IPN_WINDOW
    now = time.time()
    if trailing:
        cache.set(key, now, window)
    elif not cache.add(key, now, window):
        started = cache.get(key)
        if started is not None:
            return _coalesce(notification, key, wait=max(1, math.ceil(started + window - now)))
        cache.set(key, now, window)  # the window ended meanwhile: this one looks up
    rate = parse_rate(settings.NOTIFICATIONS_IPN_SELLER_RATE)
    allowed, _retry_after = spend(f"mp-ipn-budget:{tenant.pk}", rate)
    if not allowed:
        detail = "the seller's IPN look-up budget is spent: left to reconciliation"
        logger.warning("Mercado Pago IPN %s not looked up: %s", notification.pk, detail)
        return Outcome(Notification.Status.IGNORED, detail)
    return None


def _coalesce(notification: Notification, key: str, *, wait: int) -> Outcome:
    trailing_key = f"{key}:trailing"
    window = settings.NOTIFICATIONS_IPN_WINDOW
    if cache.add(trailing_key, notification.pk, wait + window):
        detail = f"a repeat inside the window: looked up at its end, in {wait} s"
        return Outcome(Notification.Status.QUEUED, detail, trailing_in=wait)
    first = cache.get(trailing_key)
    if first == notification.pk:  # queued again before its own trailing look-up
        return Outcome(Notification.Status.QUEUED, "waiting for its look-up at the window's end")
    return Outcome(
        Notification.Status.IGNORED, f"a repeat inside the window: notification {first} looks up"
    )


def _end_coalescing(notification: Notification) -> None:
    """A trailing look-up starts: later repeats of its key may plan the next one."""
    key = _ipn_key(notification)
    if key is not None and cache.get(f"{key}:trailing") == notification.pk:
        cache.delete(f"{key}:trailing")


def sweep(*, now: datetime) -> int:
    """Queue again the notifications stuck unprocessed: ``received``, ``queued`` or ``failed``
    rows neither queued nor attempted for ``NOTIFICATIONS_STUCK_AFTER`` seconds (their process
    was killed, their Celery message or retries lost, the relay stopped), at most
    ``NOTIFICATIONS_MAX_SWEEPS`` times each; how many. It publishes them itself, relay or not."""
    stuck = Notification.objects.filter(
        status__in=UNPROCESSED,
        touched_at__lt=now - timedelta(seconds=settings.NOTIFICATIONS_STUCK_AFTER),
        sweeps__lt=settings.NOTIFICATIONS_MAX_SWEEPS,
    )
    with transaction.atomic():
        ids = list(
            stuck.select_for_update(skip_locked=True)
            .order_by("touched_at")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        Notification.objects.filter(pk__in=ids).update(sweeps=F("sweeps") + 1, touched_at=now)
        Notification.objects.filter(pk__in=ids, status=Notification.Status.RECEIVED).update(
            status=Notification.Status.QUEUED
        )
        for notification_id in ids:
            transaction.on_commit(lambda pk=notification_id: _enqueue(pk), robust=True)
    if ids:
        logger.warning("Queued %s stuck Mercado Pago notification(s) again", len(ids))
    return len(ids)


def purge_rejected(*, now: datetime) -> int:
    """Delete rejected rows older than ``NOTIFICATIONS_REJECTED_RETENTION_DAYS``; how many."""
    cutoff = now - timedelta(days=settings.NOTIFICATIONS_REJECTED_RETENTION_DAYS)
    old = Notification.objects.filter(status=Notification.Status.REJECTED, received_at__lt=cutoff)
    purged = 0
    while ids := list(old.values_list("pk", flat=True)[:PURGE_BATCH]):
        purged += Notification.objects.filter(pk__in=ids).delete()[0]
    return purged


def replay(*, ids: Iterable[int] = (), status: str | None = None) -> int:
    """Queue notifications again: these ids, or all of one status; how many were queued."""
    found = Notification.objects.all()
    ids = list(ids)
    if ids:
        found = found.filter(pk__in=ids)
    if status:
        found = found.filter(status=status)
    if not ids and not status:
        raise OrderError("Name notifications to replay: ids or a status.", code="nothing_named")
    with transaction.atomic():
        return queue(found.values_list("pk", flat=True))
