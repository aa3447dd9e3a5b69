"""The one place where an order's status changes.

What Mercado Pago says of an order arrives as an ``OrderState`` (from a create or refund answer,
a read, a search of merchant orders) and is applied under a row lock. States are ranked, and an
order only moves up:

    pending → created → processed → refunded
                      ↘ canceled | expired | failed

A state ranked below the order's is stale (a late or reordered answer) and does not change the
order's status fields; one of the same rank is applied only if it is not older (``last_updated``)
and only for the same status, so ``canceled`` and ``expired`` never replace each other. A payment
outranks ``canceled`` and ``expired``: money that reached the seller is never hidden by an earlier
expiry.

Money is merged from every state, stale or not, and only upwards: payments and refunds are matched
by their Mercado Pago ids, paid and refunded amounts never go down, a refund never goes back from
processed, and a payment's approval time, once known, never moves. So a refresh always heals local
totals to Mercado Pago's, whatever the order's last update says. Each time comes from its own
field: a payment's ``approved_at`` from its approval date, the order's ``paid_at`` from its
payments' approval (the time it was seen paid only while that is unknown), a refund's
``processed_at`` from the refund's date when Mercado Pago gives one.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.dispatch import Signal
from django.utils import timezone

from orders.models import Order, OrderItem, Payment, Refund, Status

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

# Sent inside the transaction that changes an order's status (``order``, ``previous``): what
# receivers write (partners' webhook events) commits with the change, and a receiver that raises
# rolls the change back, so a status never changes without its events. Work that must wait for
# the commit (queuing a task) goes in ``transaction.on_commit``.
status_changed = Signal()
# Sent, likewise inside the transaction that writes it, when a refund is recorded (``previous``
# None: asked for here, or found in Mercado Pago) or its status changes (``previous``, the
# status it had), with its ``order`` as it is after the change.
refund_changed = Signal()


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
    """A refund as Mercado Pago reports it; ``made_at`` when it gives the refund's date, and
    ``local_id`` when it is the answer to the refund asked for here with that primary key."""

    mp_refund_id: str
    mp_payment_id: str
    amount: Decimal
    status: str = Refund.Status.PROCESSED
    made_at: datetime | None = None
    local_id: int | None = None


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
    tenant and POS (which the status signal's receivers read, in the same transaction). A stale
    state changes no status field, but its payments and refunds are still merged upwards."""
    with transaction.atomic():
        rows = Order.objects.select_for_update(of=("self",)).select_related("tenant", "pos")
        locked = rows.get(pk=order.pk)
        previous = locked.status
        stale = is_stale(locked, state)
        if not stale:
            _apply_fields(locked, state)
        payments = _merge_payments(locked, state.payments, stale=stale)
        refunds = _merge_refunds(locked, state.refunds)
        _set_paid_at(locked, payments)
        locked.save()
        for refund, was in refunds:
            refund_changed.send(Refund, refund=refund, order=locked, previous=was)
        if locked.status != previous:
            status_changed.send(Order, order=locked, previous=previous)
    return locked


def accept(order: Order, state: OrderState, items: list[OrderItem]) -> Order:
    """Apply Mercado Pago's answer to the create of ``order``, saved ``pending`` with ``items``
    by this process and held in memory with its tenant and POS; the order afterwards, with its
    lists (``orders.representation``) in memory.

    No lock and no read: one ``UPDATE`` applies the answer if the order is still pending with no
    payment recorded, which is all the lock of ``apply`` would find, and the answer's payments
    are inserted together. If anything got there first (a notification, a cancel), the answer
    goes through ``apply`` instead."""
    if state.refunds or is_stale(order, state):
        return apply(order, state)
    previous = order.status
    with transaction.atomic():
        _apply_fields(order, state)
        payments = _merged_payments(order, state.payments, {}, stale=False)
        _set_paid_at(order, payments)
        order.updated_at = timezone.now()
        untouched = Order.objects.filter(pk=order.pk, status=previous).exclude(
            Exists(Payment.objects.filter(order=OuterRef("pk")))
        )
        if not untouched.update(**{name: getattr(order, name) for name in _ANSWERED_FIELDS}):
            return apply(order, state)
        Payment.objects.bulk_create(payments)
        order.listed_items, order.listed_payments, order.listed_refunds = items, payments, []
        if order.status != previous:
            status_changed.send(Order, order=order, previous=previous)
    return order


# What an answer may change of an order (``_apply_fields``, ``_set_paid_at``).
_ANSWERED_FIELDS = (
    "status",
    "status_detail",
    "mp_last_updated",
    "mp_order_id",
    "qr_data",
    "error_code",
    "error_message",
    "closed_at",
    "paid_at",
    "updated_at",
)


def _apply_fields(order: Order, state: OrderState) -> None:
    now = timezone.now()
    if state.status != order.status and state.status in CLOSED and order.closed_at is None:
        order.closed_at = now
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


def _set_paid_at(order: Order, payments: list[Payment]) -> None:
    """A paid order's ``paid_at``: the earliest approval of its payments when Mercado Pago has
    given one, else the moment it was first seen paid."""
    if order.status not in (Status.PROCESSED, Status.REFUNDED):
        return
    approvals = [p.approved_at for p in payments if p.approved_at and p.paid_amount]
    if approvals:
        order.paid_at = min(approvals)
    elif order.paid_at is None:
        order.paid_at = timezone.now()


# Set whenever Mercado Pago reports a value; a stale state may not set a payment's status.
_PAYMENT_FIELDS = ("reference_id", "payment_method_id", "payment_method_type")
_PAYMENT_STATUS_FIELDS = ("status", "status_detail")


def _merge_payments(
    order: Order, payments: tuple[PaymentState, ...], *, stale: bool
) -> list[Payment]:
    """Merge the payments Mercado Pago reports into those recorded; the merged payments, saved."""
    if not payments:
        return []
    known = {p.mp_payment_id: p for p in Payment.objects.filter(order=order)}
    merged = _merged_payments(order, payments, known, stale=stale)
    for payment in merged:
        payment.save()
    return merged


def _merged_payments(
    order: Order, payments: tuple[PaymentState, ...], known: dict[str, Payment], *, stale: bool
) -> list[Payment]:
    """The payments Mercado Pago reports merged into the ``known`` ones (by id, amounts only
    upwards, the approval time set once), or new; not saved."""
    merged = []
    for state in payments:
        payment = known.get(state.mp_payment_id) or Payment(
            tenant_id=order.tenant_id, order=order, mp_payment_id=state.mp_payment_id
        )
        new = payment.pk is None
        payment.amount = state.amount
        payment.paid_amount = max(payment.paid_amount or Decimal(0), state.paid_amount)
        payment.refunded_amount = min(
            max(payment.refunded_amount or Decimal(0), state.refunded_amount),
            payment.paid_amount,
        )
        fields = _PAYMENT_FIELDS if stale and not new else _PAYMENT_FIELDS + _PAYMENT_STATUS_FIELDS
        for field in fields:
            value = getattr(state, field)
            if value:
                setattr(payment, field, value)
        if payment.approved_at is None and state.approved_at is not None:
            payment.approved_at = state.approved_at
        merged.append(payment)
    return merged


def _merge_refunds(
    order: Order, refunds: tuple[RefundState, ...]
) -> list[tuple[Refund, str | None]]:
    """Refunds Mercado Pago reports: a known one (by its Mercado Pago id) is updated; a new one
    completes the refund asked for here that it answers (``local_id``), else the one waiting for
    Mercado Pago's answer of the same payment and amount, else it is recorded as made elsewhere.
    A refund never goes back from processed. The refunds recorded or whose status changed, each
    with its status before (None: new)."""
    changed: list[tuple[Refund, str | None]] = []
    if not refunds:
        return changed
    payments = {p.mp_payment_id: p for p in Payment.objects.filter(order=order)}
    local = list(Refund.objects.filter(order=order).order_by("pk"))
    by_mp_id = {refund.mp_refund_id: refund for refund in local if refund.mp_refund_id}
    for state in refunds:
        payment = payments.get(state.mp_payment_id)
        if payment is None:
            continue
        refund = by_mp_id.get(state.mp_refund_id) or _asked_here(local, payment, state)
        if refund is None:
            refund = Refund(tenant_id=order.tenant_id, order=order, payment=payment)
            local.append(refund)
        was = None if refund._state.adding else refund.status
        if _merge_refund(refund, state):
            refund.save()
            if was != refund.status:
                changed.append((refund, was))
        by_mp_id[state.mp_refund_id] = refund
    return changed


def _asked_here(local: list[Refund], payment: Payment, state: RefundState) -> Refund | None:
    """The refund asked for here, still without a Mercado Pago id, that ``state`` answers."""
    waiting = [r for r in local if not r.mp_refund_id and r.status == Refund.Status.PENDING]
    named = next((r for r in waiting if state.local_id and r.pk == state.local_id), None)
    return named or next(
        (r for r in waiting if r.payment_id == payment.pk and r.amount == state.amount), None
    )


def _merge_refund(refund: Refund, state: RefundState) -> bool:
    """Merge ``state`` into ``refund``; whether anything changed."""
    before = (refund.mp_refund_id, refund.amount, refund.status, refund.processed_at)
    refund.mp_refund_id, refund.amount = state.mp_refund_id, state.amount
    status = refund_status(state.status)
    if refund.status != Refund.Status.PROCESSED and status != Refund.Status.PENDING:
        refund.status = status
        if status == Refund.Status.PROCESSED:
            refund.processed_at = state.made_at or timezone.now()
    return refund._state.adding or before != (
        refund.mp_refund_id,
        refund.amount,
        refund.status,
        refund.processed_at,
    )


def refund_status(mp_status: str) -> str:
    """The local status of a refund Mercado Pago reports as ``mp_status``: the legacy API's
    ``in_process``, ``approved``, ``rejected``/``cancelled``, or an Orders API refund
    transaction's ``processing``, ``processed``, ``failed``."""
    if mp_status in ("failed", "rejected", "cancelled"):
        return Refund.Status.FAILED
    if mp_status in ("processing", "pending", "in_process"):
        return Refund.Status.PENDING
    return Refund.Status.PROCESSED
