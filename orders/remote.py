"""The Mercado Pago side of orders: the client that records every call, the request bodies built
from an ``Order``, and ``OrderState``s read from Mercado Pago's answers.

Legacy in-store orders have no read endpoint of their own: their state is pieced together from
the merchant orders found by ``external_reference`` (paid, refunded) and, for orders on a POS's
printed QR, from what the POS shows now.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from merchant_platform.mercadopago import get_client, get_config
from mpapi import CallRecord, MercadoPagoClient, MercadoPagoError, NotFound
from mpapi import orders as v1
from mpapi.instore import InstoreItem, InstoreOrderRequest, Tax
from mpapi.payments import MerchantOrder, MerchantOrderPayment, PaymentRefund
from orders.models import MercadoPagoCall, Mode, Order, OrderItem, Status
from orders.transitions import OrderState, PaymentState, RefundState
from tenants.models import MercadoPagoCredential, Tenant
from tenants.scope import tenant_scope
from tenants.services import seller_access_token

PAID_PAYMENT_STATUSES = ("approved", "refunded")


@dataclass(frozen=True)
class Seller:
    """A seller's handle on Mercado Pago for one piece of work: the client and its token."""

    mp: MercadoPagoClient
    token: str
    user_id: int


@contextmanager
def seller_client(
    tenant: Tenant,
    order: Order | None = None,
    *,
    credential: MercadoPagoCredential | None = None,
) -> Iterator[Seller]:
    """A Mercado Pago client acting for ``tenant`` (with ``credential``, its usable credential
    when the caller has just read it); every attempt it makes is saved as a ``MercadoPagoCall``
    of ``tenant`` (and of ``order``) when the block ends, even on error."""
    records: list[CallRecord] = []
    token = credential.access_token if credential is not None else seller_access_token(tenant)
    try:
        with get_client(observer=records.append) as mp:
            yield Seller(mp=mp, token=token, user_id=tenant.mp_user_id)
    finally:
        _save_calls(tenant, order, records)


def _save_calls(tenant: Tenant, order: Order | None, records: list[CallRecord]) -> None:
    if not records:
        return
    with tenant_scope(tenant):
        MercadoPagoCall.objects.bulk_create(
            MercadoPagoCall(
                tenant=tenant,
                order=order,
                method=record.method,
                path=record.path[:300],
                query=dict(record.query),
                attempt=record.attempt,
                idempotency_key=record.idempotency_key or "",
                status=record.status,
                error=record.error or "",
                duration_ms=round(record.duration_ms),
                request_body=record.request_body,
                response_body=record.response_body,
            )
            for record in records
        )


def notification_url(tenant: Tenant) -> str:
    """Where Mercado Pago sends a legacy order's IPN notifications; names the seller."""
    return f"{settings.SITE_URL}{reverse('orders:mercadopago-webhook')}?seller={tenant.pk}"


# Requests ----------------------------------------------------------------------------------


def v1_create_request(
    order: Order, expiration_time: timedelta, items: Sequence[OrderItem] | None = None
) -> v1.OrderCreate:
    """The body that creates ``order``; ``items`` are its items when the caller has them."""
    config = get_config()
    return v1.OrderCreate(
        external_reference=order.external_reference,
        external_pos_id=order.pos.external_id,
        total_amount=order.total_amount,
        currency=order.currency,
        mode=order.mode,
        description=(order.description or order.title)[:150],
        expiration_time=expiration_time,
        items=tuple(
            v1.OrderItem(
                title=item.title,
                unit_price=item.unit_price,
                quantity=item.quantity,
                unit_measure=item.unit_measure,
                external_code=item.sku or None,
            )
            for item in (order.items.all() if items is None else items)
        ),
        marketplace_fee=order.marketplace_fee,
        sponsor_id=order.sponsor_id or None,
        platform_id=config.platform_id or None,
        integrator_id=config.integrator_id or None,
        taxes=_taxes(order),
    )


def instore_request(order: Order, items: Sequence[OrderItem] | None = None) -> InstoreOrderRequest:
    """The body that creates ``order``; ``items`` are its items when the caller has them."""
    return InstoreOrderRequest(
        external_reference=order.external_reference,
        title=order.title,
        total_amount=order.total_amount,
        currency=order.currency,
        items=tuple(
            InstoreItem(
                title=item.title,
                unit_price=item.unit_price,
                quantity=item.quantity,
                unit_measure=item.unit_measure,
                sku_number=item.sku or None,
                category=item.category or None,
                description=item.description or None,
            )
            for item in (order.items.all() if items is None else items)
        ),
        description=order.description or None,
        notification_url=notification_url(order.tenant),
        expiration_date=order.expires_at,
        sponsor_id=int(order.sponsor_id) if order.sponsor_id else None,
        taxes=_taxes(order),
        cash_out_amount=order.cash_out_amount,
        marketplace_fee=order.marketplace_fee,
    )


def _taxes(order: Order) -> tuple[Tax, ...]:
    return tuple(Tax(value=Decimal(tax["value"]), type=tax["type"]) for tax in order.taxes)


# States ------------------------------------------------------------------------------------


def v1_state(answer: v1.Order) -> OrderState:
    """The state of an Orders API order as Mercado Pago answered it.

    The order's payments carry no date of their own (api.md §3.3): ``last_updated_date`` is the
    order's, moved by every later change (a refund), so it is never taken for a payment's
    approval time; ``with_approval_times`` reads that from the payment itself.
    """
    return OrderState(
        status=answer.status or Status.CREATED,
        status_detail=answer.status_detail or "",
        last_updated=answer.last_updated_date,
        mp_order_id=answer.id,
        qr_data=answer.qr_data or "",
        payments=tuple(
            PaymentState(
                mp_payment_id=payment.id,
                amount=payment.amount or Decimal(0),
                paid_amount=payment.paid_amount or Decimal(0),
                refunded_amount=payment.refunded_amount or Decimal(0),
                reference_id=payment.reference_id or "",
                status=payment.status or "",
                status_detail=payment.status_detail or "",
                payment_method_id=payment.payment_method_id or "",
                payment_method_type=payment.payment_method_type or "",
            )
            for payment in answer.payments
        ),
        refunds=tuple(
            RefundState(
                mp_refund_id=refund.id,
                mp_payment_id=refund.transaction_id or "",
                amount=refund.amount or Decimal(0),
                status=refund.status or "processed",
            )
            for refund in answer.refunds
        ),
    )


def instore_state(seller: Seller, order: Order, now: datetime) -> OrderState:
    """The state of a legacy order: paid if a merchant order of its reference is paid; else still
    shown by its POS (created), past its expiry (expired), or taken off the POS (canceled). It
    carries every payment of those merchant orders: a rejected one too, with nothing paid."""
    found = seller.mp.search_merchant_orders(
        seller.token, external_reference=order.external_reference
    ).results
    payments = [payment for merchant_order in found for payment in merchant_order.payments]
    if any(payment.status in PAID_PAYMENT_STATUSES for payment in payments):
        return _paid_state(found, payments)
    states = tuple(_payment_state(payment) for payment in payments)
    if now >= order.expires_at:
        return OrderState(status=Status.EXPIRED, status_detail="expired", payments=states)
    if order.mode == Mode.DYNAMIC or shows(seller, order):
        return OrderState(status=Status.CREATED, status_detail="created", payments=states)
    return OrderState(status=Status.CANCELED, status_detail="canceled", payments=states)


def shows(seller: Seller, order: Order) -> bool:
    """Whether ``order``'s POS shows it on its printed QR now."""
    try:
        shown = seller.mp.get_pos_orders(
            seller.token, user_id=seller.user_id, external_pos_id=order.pos.external_id
        )
    except NotFound:
        return False
    return any(item.external_reference == order.external_reference for item in shown)


def _paid_state(
    merchant_orders: tuple[MerchantOrder, ...], payments: list[MerchantOrderPayment]
) -> OrderState:
    paid = [payment for payment in payments if payment.status in PAID_PAYMENT_STATUSES]
    paid_total = sum((p.transaction_amount or Decimal(0) for p in paid), Decimal(0))
    refunded_total = sum((p.amount_refunded or Decimal(0) for p in paid), Decimal(0))
    if refunded_total >= paid_total:
        status, detail = Status.REFUNDED, "refunded"
    else:
        status = Status.PROCESSED
        detail = "partially_refunded" if refunded_total else "accredited"
    updates = [mo.last_updated for mo in merchant_orders if mo.last_updated is not None]
    return OrderState(
        status=status,
        status_detail=detail,
        last_updated=max(updates) if updates else None,
        payments=tuple(_payment_state(payment) for payment in payments),
    )


def _payment_state(payment: MerchantOrderPayment) -> PaymentState:
    """A payment as its merchant order lists it; nothing paid unless approved or refunded."""
    paid = payment.status in PAID_PAYMENT_STATUSES
    paid_amount = payment.total_paid_amount or payment.transaction_amount or Decimal(0)
    return PaymentState(
        mp_payment_id=str(payment.id),
        reference_id=str(payment.id),
        amount=payment.transaction_amount or Decimal(0),
        paid_amount=paid_amount if paid else Decimal(0),
        refunded_amount=payment.amount_refunded or Decimal(0),
        status=payment.status or "",
        status_detail=payment.status_detail or "",
        approved_at=payment.date_approved,
    )


def with_approval_times(seller: Seller, state: OrderState, known: set[str]) -> OrderState:
    """``state`` with the approval time of each paid Orders API payment not in ``known`` (ids
    of payments whose time is already saved), read from ``GET /v1/payments/{reference_id}``.
    A payment Mercado Pago cannot show now keeps no time; a later refresh reads it again."""
    payments = []
    for payment in state.payments:
        if payment.mp_payment_id not in known and payment.paid_amount and payment.reference_id:
            payment = replace(payment, approved_at=_approval_time(seller, payment.reference_id))
        payments.append(payment)
    return replace(state, payments=tuple(payments))


def _approval_time(seller: Seller, reference_id: str) -> datetime | None:
    if not reference_id.isdigit():
        return None
    try:
        return seller.mp.get_payment(seller.token, int(reference_id)).date_approved
    except MercadoPagoError:
        return None


def payment_refunds(seller: Seller, mp_payment_id: str) -> tuple[RefundState, ...]:
    """The refunds of a legacy payment, as ``GET /v1/payments/{id}/refunds`` lists them, each
    with its status and the date Mercado Pago made it."""
    listed = seller.mp.list_payment_refunds(seller.token, int(mp_payment_id))
    return tuple(legacy_refund_state(refund, mp_payment_id) for refund in listed)


def payment_refund(seller: Seller, mp_payment_id: str, mp_refund_id: str) -> RefundState | None:
    """One refund of a legacy payment as ``GET /v1/payments/{id}/refunds/{refund_id}`` shows
    it now (``in_process``, ``approved``, ``rejected``...); None when Mercado Pago has no such
    refund."""
    try:
        found = seller.mp.get_payment_refund(seller.token, int(mp_payment_id), int(mp_refund_id))
    except NotFound:
        return None
    return legacy_refund_state(found, mp_payment_id)


def legacy_refund_state(refund: PaymentRefund, mp_payment_id: str) -> RefundState:
    """A legacy payment's refund as Mercado Pago answered or listed it."""
    return RefundState(
        mp_refund_id=str(refund.id),
        mp_payment_id=mp_payment_id,
        amount=refund.amount or Decimal(0),
        status=refund.status or "approved",
        made_at=refund.date_created,
    )
