"""The one place where an order's status changes.

What Mercado Pago says of an order arrives as an ``OrderState`` (from a create or refund answer,
a read, a search of merchant orders) and is applied under a row lock. States are ranked, and an
order only moves up:

    pending → created → processed → refunded
                      ↘ canceled | expired | failed

A state ranked below the order's is stale (a late or reordered answer) and changes nothing; one
of the same rank is applied only if it is not older (``last_updated``) and only for the same
status, so ``canceled`` and ``expired`` never replace each other. A payment outranks ``canceled``
and ``expired``: money that reached the seller is never hidden by an earlier expiry. Payments and
refunds are merged by their Mercado Pago ids, and paid and refunded amounts never go down.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from orders.models import Order, Payment, Refund, Status

RANK = {
    Status.PENDING: 0,
    Status.CREATED: 1,
    Status.FAILED: 2,
    Status.CANCELED: 2,
    Status.EXPIRED: 2,
    Status.PROCESSED: 3,
    Status.REFUNDED: 4,
}
CLOSED = {Status.PROCESSED, Status.CANCELED, Status.EXPIRED, Status.FAILED, Status.REFUNDED}

# Sent after a transaction that changed an order's status commits: ``order``, ``previous``.
status_changed = Signal()


@dataclass(frozen=True)
class PaymentState:
    mp_payment_id: str
    amount: Decimal
    paid_amount: Decimal = Decimal(0)
    refunded_amount: Decimal = Decimal(0)
    reference_id: str = ""
    status: str = ""
    status_detail: str = ""
    payment_method_id: str = ""
    payment_method_type: str = ""
    approved_at: datetime | None = None


@dataclass(frozen=True)
class RefundState:
    mp_refund_id: str
    mp_payment_id: str
    amount: Decimal
    status: str = Refund.Status.PROCESSED


@dataclass(frozen=True)
class OrderState:
    """What Mercado Pago says an order is; ``last_updated`` orders two states of one order."""

    status: str
    status_detail: str = ""
    last_updated: datetime | None = None
    mp_order_id: str = ""
    qr_data: str = ""
    payments: tuple[PaymentState, ...] = ()
    refunds: tuple[RefundState, ...] = ()
    error_code: str = ""
    error_message: str = ""


def is_stale(order: Order, state: OrderState) -> bool:
    """Whether ``state`` would move ``order`` backwards, sideways or to an older picture."""
    current, new = RANK[order.status], RANK[state.status]
    if new != current:
        return new < current
    if state.status != order.status:
        return True
    return bool(
        state.last_updated and order.mp_last_updated and state.last_updated < order.mp_last_updated
    )


def apply(order: Order, state: OrderState) -> Order:
    """Apply ``state`` to ``order`` under a row lock; the order as it is afterwards, with its
    tenant and POS (which the status signal's receivers read)."""
    with transaction.atomic():
        rows = Order.objects.select_for_update(of=("self",)).select_related("tenant", "pos")
        locked = rows.get(pk=order.pk)
        previous = locked.status
        if not is_stale(locked, state):
            _apply_fields(locked, state)
            _merge_payments(locked, state.payments)
            _merge_refunds(locked, state.refunds)
        locked.save()
        if locked.status != previous:
            transaction.on_commit(
                lambda: status_changed.send(Order, order=locked, previous=previous), robust=True
            )
    return locked


def _apply_fields(order: Order, state: OrderState) -> None:
    now = timezone.now()
    if state.status != order.status and state.status in CLOSED and order.closed_at is None:
        order.closed_at = now
    if state.status in (Status.PROCESSED, Status.REFUNDED) and order.paid_at is None:
        order.paid_at = now
    order.status = state.status
    order.status_detail = state.status_detail or order.status_detail
    if state.last_updated is not None:
        order.mp_last_updated = max(filter(None, (order.mp_last_updated, state.last_updated)))
    if state.mp_order_id and not order.mp_order_id:
        order.mp_order_id = state.mp_order_id
    if state.qr_data and not order.qr_data:
        order.qr_data = state.qr_data
    if state.error_code or state.error_message:
        order.error_code, order.error_message = state.error_code[:100], state.error_message


def _merge_payments(order: Order, payments: tuple[PaymentState, ...]) -> None:
    if not payments:
        return
    known = {p.mp_payment_id: p for p in Payment.objects.filter(order=order)}
    for state in payments:
        payment = known.get(state.mp_payment_id) or Payment(
            tenant_id=order.tenant_id, order=order, mp_payment_id=state.mp_payment_id
        )
        payment.amount = state.amount
        payment.paid_amount = max(payment.paid_amount or Decimal(0), state.paid_amount)
        payment.refunded_amount = min(
            max(payment.refunded_amount or Decimal(0), state.refunded_amount),
            payment.paid_amount,
        )
        for field in (
            "reference_id",
            "status",
            "status_detail",
            "payment_method_id",
            "payment_method_type",
            "approved_at",
        ):
            value = getattr(state, field)
            if value:
                setattr(payment, field, value)
        payment.save()


def _merge_refunds(order: Order, refunds: tuple[RefundState, ...]) -> None:
    """Refunds Mercado Pago reports: known ones are updated; a new one completes the matching
    refund asked for here (same payment and amount) or is recorded as made elsewhere."""
    if not refunds:
        return
    payments = {p.mp_payment_id: p for p in Payment.objects.filter(order=order)}
    local = list(Refund.objects.filter(order=order))
    by_mp_id = {refund.mp_refund_id: refund for refund in local if refund.mp_refund_id}
    for state in refunds:
        payment = payments.get(state.mp_payment_id)
        if payment is None:
            continue
        refund = by_mp_id.get(state.mp_refund_id) or next(
            (
                r
                for r in local
                if not r.mp_refund_id and r.payment_id == payment.pk and r.amount == state.amount
            ),
            None,
        )
        if refund is None:
            refund = Refund(tenant_id=order.tenant_id, order=order, payment=payment)
            local.append(refund)
        refund.mp_refund_id, refund.amount = state.mp_refund_id, state.amount
        if refund.status != Refund.Status.PROCESSED:
            refund.status = _refund_status(state.status)
            if refund.status == Refund.Status.PROCESSED:
                refund.processed_at = timezone.now()
        refund.save()
        by_mp_id[state.mp_refund_id] = refund


def _refund_status(mp_status: str) -> str:
    if mp_status in ("failed", "rejected", "cancelled"):
        return Refund.Status.FAILED
    if mp_status in ("processing", "pending", "in_process"):
        return Refund.Status.PENDING
    return Refund.Status.PROCESSED
