"""Mercado Pago's notifications: stored as received, checked, then processed by a Celery task.

Persist first, process later. ``receive`` writes the raw notification to the inbox before
anything else is done with it, with the outcome of the ``x-signature`` check of webhooks
(api.md §6.1), and queues the row; one ``INSERT`` per request. An exact duplicate of an accepted
notification (same kind and ``x-request-id``, which a webhook's signature covers) is neither
stored nor queued again: the first row answers for it. A notification is a doorbell:
``process`` never trusts its body, it asks Mercado Pago with the seller's token for the order it
names and applies that (``services.refresh_order``), so duplicated, late, reordered or forged
notifications are harmless. Legacy IPN (``?topic=…&id=…``) cannot be verified and is always
re-fetched; its URL names the seller (``remote.notification_url``).
"""

import json
import logging
import traceback
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from merchant_platform.mercadopago import get_config
from mpapi import APIError, MercadoPagoError, NotFound, webhooks
from orders import remote, services
from orders.errors import MercadoPagoUnavailable, OrderError
from orders.models import Notification, Order, Status
from tenants.models import Tenant
from tenants.scope import cross_tenant_scope, tenant_scope

logger = logging.getLogger(__name__)

KEPT_HEADERS = ("x-signature", "x-request-id", "x-retry", "user-agent", "content-type")


def receive(*, query: Mapping[str, str], headers: Mapping[str, str], body: bytes) -> Notification:
    """Store a notification as received, checked, and queue it when it may be processed.

    A webhook with a missing or bad signature is kept as ``rejected`` and never processed. The
    signature is checked before the row is written (the check reads nothing but the request),
    so the row is stored once, with its final status. For an exact duplicate of an accepted
    notification the row stored first is returned, and nothing is stored or queued.
    """
    query = {_storable(name): _storable(value) for name, value in query.items()}
    headers = {_storable(name.lower()): _storable(value) for name, value in headers.items()}
    text = _storable(body.decode("utf-8", errors="replace"))
    data = _json_object(text)
    is_ipn = "topic" in query and "id" in query
    topic = query.get("topic") or query.get("type") or data.get("type") or ""
    notification = Notification(
        kind=Notification.Kind.IPN if is_ipn else Notification.Kind.WEBHOOK,
        status=Notification.Status.QUEUED,
        topic=_storable(str(topic))[:60],
        action=_storable(str(data.get("action") or ""))[:60],
        resource_id=str(query.get("id") if is_ipn else query.get("data.id") or "")[:100],
        version=_version(data),
        request_id=headers.get("x-request-id", "")[:100],
        query=dict(query),
        headers={name: headers[name] for name in KEPT_HEADERS if name in headers},
        body=text,
    )
    problem = "" if is_ipn else _signature_problem(notification)
    if problem:
        notification.status = Notification.Status.REJECTED
        notification.detail = problem
        notification.save(force_insert=True)
        logger.warning("Mercado Pago webhook %s rejected: %s", notification.pk, problem)
        return notification
    stored = _store_once(notification)
    if stored is notification:
        transaction.on_commit(lambda pk=notification.pk: _enqueue(pk), robust=True)
    return stored


def _store_once(notification: Notification) -> Notification:
    """Insert the accepted ``notification``; the row stored first when it is a duplicate of one
    (``notification_unique_delivery``: the database decides, so concurrent copies race safely)."""
    if not notification.request_id:
        notification.save(force_insert=True)
        return notification
    # A web request runs in autocommit: the INSERT alone. Inside a transaction, a savepoint keeps
    # the transaction usable after a duplicate's IntegrityError.
    in_transaction = transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if in_transaction else nullcontext():
            notification.save(force_insert=True)
    except IntegrityError:
        first = (
            Notification.objects.filter(kind=notification.kind, request_id=notification.request_id)
            .exclude(status=Notification.Status.REJECTED)
            .order_by("pk")
            .first()
        )
        if first is None:
            raise
        logger.info(
            "Mercado Pago %s %s is a duplicate of %s: not stored again",
            notification.kind,
            notification.request_id,
            first.pk,
        )
        return first
    return notification


def _enqueue(notification_id: int) -> None:
    from orders import tasks  # tasks call services

    tasks.process_notification.delay(notification_id)


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
            get_config().webhook_secret,
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
    Notification.objects.filter(pk__in=ids).update(status=Notification.Status.QUEUED)
    for notification_id in ids:
        transaction.on_commit(lambda pk=notification_id: _enqueue(pk), robust=True)
    return len(ids)


@dataclass(frozen=True)
class Outcome:
    status: str
    detail: str = ""
    tenant: Tenant | None = None
    order: Order | None = None


def process(notification_id: int) -> str:
    """Act on one queued notification; its new status.

    Raises ``MercadoPagoUnavailable`` when Mercado Pago cannot answer now (the row is left
    ``failed`` with the traceback, and the task tries again). Any other failure is kept the same
    way, for a replay.
    """
    notification = Notification.objects.get(pk=notification_id)
    if notification.status not in (Notification.Status.QUEUED, Notification.Status.FAILED):
        return notification.status
    Notification.objects.filter(pk=notification.pk).update(attempts=F("attempts") + 1)
    try:
        outcome = _act(notification)
    except (MercadoPagoUnavailable, MercadoPagoError) as error:
        _record_failure(notification, error)
        if isinstance(error, APIError) and error.status < 500 and error.status != 429:
            return Notification.Status.FAILED
        raise MercadoPagoUnavailable(str(error)) from error
    except Exception as error:
        _record_failure(notification, error)
        logger.exception("Mercado Pago notification %s failed", notification.pk)
        return Notification.Status.FAILED
    Notification.objects.filter(pk=notification.pk).update(
        status=outcome.status,
        detail=outcome.detail,
        traceback="",
        tenant=outcome.tenant,
        order=outcome.order,
        processed_at=timezone.now(),
    )
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
    so that it stays attributed even if processing then fails."""
    Notification.objects.filter(pk=notification.pk).update(tenant=tenant, order=order)


def _act(notification: Notification) -> Outcome:
    if notification.kind == Notification.Kind.IPN:
        return _act_on_ipn(notification)
    if notification.topic != "order":
        return Outcome(Notification.Status.IGNORED, f"topic {notification.topic!r} not handled")
    return _act_on_order_webhook(notification)


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


def _act_on_ipn(notification: Notification) -> Outcome:
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
