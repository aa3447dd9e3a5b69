"""The order life cycle, for both APIs, and the notifications each change writes.

``created`` → ``processed`` (paid) | ``canceled`` | ``expired``; ``processed`` → ``refunded``
once every payment is fully refunded (a partial refund leaves the order ``processed`` with
``status_detail`` ``partially_refunded``). A refund is made ``in_process`` (a v1 order's refund
transaction ``processing``) and completed later by ``settle_due``: ``approved`` (counted as
refunded from then on) or ``rejected`` (its amount refundable again), as the fault settings say.
Expiry and settlement are lazy: ``expire_due`` runs before orders are read, listed or paid, and
``settle_due`` before orders, payments and merchant orders are read (and at each delivery run).
Every change of a v1 order bumps its ``version`` and writes a signed-webhook ``Event`` (topic
``order``); paying or refunding a legacy order writes ``ipn`` events (topics ``merchant_order``
and ``payment``) to its ``notification_url``. A rejected payment (``reject``) leaves the order
``created`` and payable: a legacy order's is recorded on its merchant order, which stays
``opened``, and notified like any payment; a v1 order's attempt is no transaction of the order.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from sandbox import ids, render
from sandbox.models import (
    Account,
    Application,
    Event,
    FaultSettings,
    MerchantOrder,
    Order,
    Payment,
    PointOfSale,
    Refund,
    RefundOutcome,
    Token,
)
from sandbox.seed import CLIENT_ID
from sandbox.sites import site


class NotAllowed(Exception):
    """The order or payment is not in a state that allows the change."""


class AmountExceeds(Exception):
    """A refund asks for more than what is paid and not yet refunded."""


class UnknownTransaction(Exception):
    """A refund names a transaction that is not one of the order's payments."""


@dataclass(frozen=True)
class PaymentMethod:
    id: str
    type: str


PAYMENT_METHODS = {
    method.id: method
    for method in [
        PaymentMethod("account_money", "account_money"),
        PaymentMethod("visa", "credit_card"),
        PaymentMethod("master", "credit_card"),
        PaymentMethod("debvisa", "debit_card"),
        PaymentMethod("debmaster", "debit_card"),
        PaymentMethod("pix", "bank_transfer"),
    ]
}
PIX_SITES = {"MLB"}


def payment_methods(site_id: str) -> list[PaymentMethod]:
    """The payment methods a buyer of ``site_id`` can choose."""
    return [m for m in PAYMENT_METHODS.values() if m.id != "pix" or site_id in PIX_SITES]


def application_of(token: Token) -> Application | None:
    """The application whose webhooks an order's changes go to: the token's, else the seed's."""
    return token.application or Application.objects.filter(client_id=CLIENT_ID).first()


# Notifications -----------------------------------------------------------------------------


def _notify_order(order: Order, action: str) -> None:
    Event.objects.create(
        kind=Event.Kind.WEBHOOK,
        application=order.application,
        account=order.account,
        topic="order",
        action=action,
        resource_id=order.order_id,
        query={"data.id": order.order_id, "type": "order"},
        body=render.order_webhook(order, action),
    )


def _notify_ipn(
    account: Account, url: str, order: Order | None, topic: str, resource_id: int
) -> None:
    if url:
        Event.objects.create(
            kind=Event.Kind.IPN,
            application=order.application if order else None,
            account=account,
            url=url,
            topic=topic,
            resource_id=str(resource_id),
            query={"topic": topic, "id": str(resource_id)},
            body={"resource": str(resource_id), "topic": topic},
        )


def _notify_legacy_payment(payment: Payment) -> None:
    merchant_order = payment.merchant_order
    url, account, order = merchant_order.notification_url, payment.account, payment.order
    _notify_ipn(account, url, order, "merchant_order", merchant_order.pk)
    _notify_ipn(account, url, order, "payment", payment.pk)


# Transitions -------------------------------------------------------------------------------


def _changed(order: Order, now: datetime, status: str, status_detail: str) -> None:
    order.status, order.status_detail = status, status_detail
    order.version += 1
    order.updated_at = now
    order.save()


def _locked(order: Order) -> Order:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("account", "application")
        .get(pk=order.pk)
    )


def _open_payments(order: Order):
    """The payments of ``order`` that its closing closes too (a rejected one stays rejected)."""
    return order.payments.exclude(status=Payment.Status.REJECTED)


def _expire(order: Order, now: datetime) -> None:
    order.attached = False
    _open_payments(order).update(status=Payment.Status.EXPIRED, last_updated=now)
    _changed(order, now, Order.Status.EXPIRED, "expired")
    if order.api == Order.Api.V1:
        _notify_order(order, "order.expired")


def _is_due(order: Order, now: datetime) -> bool:
    return (
        order.status == Order.Status.CREATED and bool(order.expires_at) and order.expires_at <= now
    )


def expire_if_due(order: Order) -> None:
    """Expire ``order`` (in its own transaction) if it is created and its time has passed."""
    now = timezone.now()
    if _is_due(order, now):
        with transaction.atomic():
            locked = _locked(order)
            if _is_due(locked, now):
                _expire(locked, now)


def expire_due(account: Account | None = None) -> None:
    """Expire the created orders (of ``account``, or everyone's) whose time has passed."""
    due = Order.objects.filter(status=Order.Status.CREATED, expires_at__lte=timezone.now())
    if account is not None:
        due = due.filter(account=account)
    for order in due:
        expire_if_due(order)


def expire_now(order: Order) -> Order:
    """Expire a created order at once, as if its time had passed (the control API);
    ``NotAllowed`` in any other state."""
    expire_if_due(order)
    now = timezone.now()
    with transaction.atomic():
        order = _open(order, now)
        if order.status != Order.Status.CREATED:
            raise NotAllowed(f"the order is {order.status}; only created orders can expire")
        order.expires_at = now
        _expire(order, now)
    return order


def _open(order: Order, now: datetime) -> Order:
    """``order`` locked; ``NotAllowed`` when it is due to expire (``expire_if_due`` first)."""
    order = _locked(order)
    if _is_due(order, now):
        raise NotAllowed("the order is expired")
    return order


def cancel(order: Order) -> Order:
    """Cancel a created order; ``NotAllowed`` in any other state."""
    expire_if_due(order)
    now = timezone.now()
    with transaction.atomic():
        order = _open(order, now)
        if order.status != Order.Status.CREATED:
            raise NotAllowed(f"the order is {order.status}; only created orders can be canceled")
        _withdraw(order, now)
    return order


def _withdraw(order: Order, now: datetime) -> None:
    order.attached = False
    _open_payments(order).update(status=Payment.Status.CANCELED, last_updated=now)
    _changed(order, now, Order.Status.CANCELED, "canceled")
    if order.api == Order.Api.V1:
        _notify_order(order, "order.canceled")


def attach(order: Order) -> None:
    """Show ``order`` on its POS's static QR, canceling the order shown until now."""
    now = timezone.now()
    shown = Order.objects.filter(pos=order.pos, attached=True, status=Order.Status.CREATED)
    for previous in shown.exclude(pk=order.pk):
        expire_if_due(previous)
        with transaction.atomic():
            previous = _locked(previous)
            if previous.status == Order.Status.CREATED:
                _withdraw(previous, now)
    order.attached = True
    order.save(update_fields=["attached"])


def shown_by(pos: PointOfSale) -> Order | None:
    """The created order that ``pos``'s static QR shows now, if any."""
    expire_due(pos.account)
    now = timezone.now()
    shown = pos.orders.filter(attached=True, status=Order.Status.CREATED).order_by("-pk").first()
    if shown is not None and shown.attached_until is not None and shown.attached_until <= now:
        return None
    return shown


def pay(order: Order, buyer: Account | None, method: PaymentMethod) -> Payment:
    """The buyer pays ``order`` in full; ``NotAllowed`` unless it is created and unexpired."""
    expire_if_due(order)
    now = timezone.now()
    with transaction.atomic():
        order = _open(order, now)
        if order.status != Order.Status.CREATED:
            raise NotAllowed(f"the order is {order.status}")
        v1 = order.api == Order.Api.V1
        if v1:
            payment = order.payments.get()
        else:
            payment = _legacy_payment(order.account, order.pos, order, order.total_amount, now)
        _approve(payment, buyer, method, now)
        if not v1:
            _close(payment.merchant_order, payment.amount, now)
        order.attached = False
        _changed(order, now, Order.Status.PROCESSED, "accredited")
        if v1:
            _notify_order(order, "order.processed")
        else:
            _notify_legacy_payment(payment)
    return payment


def pay_amount(
    pos: PointOfSale,
    amount: Decimal,
    buyer: Account | None,
    method: PaymentMethod,
    *,
    approved: bool = True,
) -> Payment:
    """The buyer pays an amount of their choice at a POS with no fixed amount (its payment
    rejected unless ``approved``: its merchant order stays opened)."""
    now = timezone.now()
    with transaction.atomic():
        payment = _legacy_payment(pos.account, pos, None, amount, now)
        if approved:
            _approve(payment, buyer, method, now)
            _close(payment.merchant_order, amount, now)
        else:
            _decline(payment, buyer, method, now).save()
    return payment


def reject(order: Order, buyer: Account | None, method: PaymentMethod) -> Payment:
    """The buyer's payment of ``order`` is rejected (a declined card, not enough funds): the
    order stays created, and payable again. A legacy order's rejected payment is saved on its
    merchant order (``opened``, nothing paid) and notified like any payment; a v1 order's
    attempt is no transaction of the order: nothing changes, and the payment answered is not
    saved. ``NotAllowed`` unless the order is created and unexpired."""
    expire_if_due(order)
    now = timezone.now()
    with transaction.atomic():
        order = _open(order, now)
        if order.status != Order.Status.CREATED:
            raise NotAllowed(f"the order is {order.status}")
        if order.api == Order.Api.V1:
            attempt = Payment(
                account=order.account,
                order=order,
                pos=order.pos,
                external_reference=order.external_reference,
                currency=site(order.account.site_id).currency,
                amount=order.total_amount,
                date_created=now,
            )
            return _decline(attempt, buyer, method, now)
        payment = _legacy_payment(order.account, order.pos, order, order.total_amount, now)
        _decline(payment, buyer, method, now).save()
        payment.merchant_order.last_updated = now
        payment.merchant_order.save(update_fields=["last_updated"])
        _notify_legacy_payment(payment)
    return payment


def _legacy_payment(
    account: Account, pos: PointOfSale | None, order: Order | None, amount: Decimal, now: datetime
) -> Payment:
    """A new payment (unsaved) on the order's merchant order, opened by a rejected payment
    earlier, or on a new one (``opened``, nothing paid)."""
    merchant_order = order.merchant_orders.filter(status="opened").first() if order else None
    if merchant_order is None:
        merchant_order = MerchantOrder.objects.create(
            account=account,
            order=order,
            external_reference=order.external_reference if order else "",
            total_amount=amount,
            notification_url=order.notification_url if order else "",
            sponsor_id=order.sponsor_id if order else None,
            date_created=now,
            last_updated=now,
        )
    return Payment(
        account=account,
        order=order,
        merchant_order=merchant_order,
        pos=pos,
        external_reference=merchant_order.external_reference,
        currency=site(account.site_id).currency,
        amount=amount,
        date_created=now,
    )


def _approve(payment: Payment, buyer: Account | None, method: PaymentMethod, now: datetime) -> None:
    payment.status = Payment.Status.APPROVED
    payment.buyer = buyer
    payment.payment_method_id, payment.payment_type_id = method.id, method.type
    payment.date_approved = payment.last_updated = now
    payment.save()


def _decline(
    payment: Payment, buyer: Account | None, method: PaymentMethod, now: datetime
) -> Payment:
    """``payment`` rejected (not saved)."""
    payment.status = Payment.Status.REJECTED
    payment.buyer = buyer
    payment.payment_method_id, payment.payment_type_id = method.id, method.type
    payment.last_updated = now
    return payment


def _close(merchant_order: MerchantOrder, amount: Decimal, now: datetime) -> None:
    """``merchant_order`` paid in full by an approved payment of ``amount``."""
    merchant_order.status, merchant_order.order_status = "closed", "paid"
    merchant_order.paid_amount = amount
    merchant_order.last_updated = now
    merchant_order.save()


def refund_payment(payment: Payment, amount: Decimal | None) -> Refund:
    """Make a refund of ``amount`` of ``payment`` (everything still refundable when None),
    ``in_process`` until ``settle_due`` completes it."""
    now = timezone.now()
    with transaction.atomic():
        if payment.order is not None:
            _locked(payment.order)  # refunds of one order, one at a time
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        return _refund(payment, amount, now)


def refund_order(order: Order, amounts: dict[str, Decimal] | None) -> Order:
    """Make refunds of a processed v1 order: everything (``amounts`` None) or ``{PAY id:
    amount}``; the order stays ``processed`` with its refunds ``processing`` until
    ``settle_due`` completes them."""
    now = timezone.now()
    with transaction.atomic():
        order = _open(order, now)
        if order.status != Order.Status.PROCESSED:
            raise NotAllowed(f"the order is {order.status}; only processed orders can be refunded")
        payments = {p.transaction_id: p for p in order.payments.select_for_update()}
        if amounts is None:
            amounts = dict.fromkeys(payments)
        unknown = set(amounts) - set(payments)
        if unknown:
            raise UnknownTransaction(", ".join(sorted(unknown)))
        for pay_id, amount in amounts.items():
            _refund(payments[pay_id], amount, now)
    return order


def _refund(payment: Payment, amount: Decimal | None, now: datetime) -> Refund:
    if payment.status != Payment.Status.APPROVED:
        raise NotAllowed(f"the payment is {payment.status}")
    in_process = payment.refunds.filter(status=Refund.Status.IN_PROCESS).aggregate(
        total=Sum("amount")
    )["total"] or Decimal(0)
    refundable = payment.amount - payment.refunded_amount - in_process
    if refundable <= 0:
        raise NotAllowed("what is left of the payment is being refunded")
    amount = refundable if amount is None else amount
    if amount > refundable:
        raise AmountExceeds(f"the refundable amount is {refundable}")
    v1 = payment.order is not None and payment.order.api == Order.Api.V1
    delay = timedelta(seconds=FaultSettings.current().refund_delay_seconds)
    refund = Refund.objects.create(
        payment=payment,
        refund_id=ids.refund_transaction_id() if v1 else None,
        amount=amount,
        status=Refund.Status.IN_PROCESS,
        date_created=now,
        settle_after=now + delay,
        last_updated=now,
    )
    payment.last_updated = now
    payment.save(update_fields=["last_updated"])
    return refund


def settle_due(
    account: Account | None = None,
    now: datetime | None = None,
    *,
    outcome: str | None = None,
    every: bool = False,
) -> list[Refund]:
    """Complete the refunds in process (of ``account``, or everyone's) whose ``settle_after``
    has come (``every``: all of them), as ``outcome`` says (the fault settings'
    ``refund_outcome`` when None): ``approved`` or ``rejected``; ``pending`` completes none.
    Each completion notifies as a refund does; the refunds completed."""
    now = now or timezone.now()
    due = Refund.objects.filter(status=Refund.Status.IN_PROCESS)
    if not every:
        due = due.filter(settle_after__lte=now)
    if account is not None:
        due = due.filter(payment__account=account)
    due = list(due.select_related("payment__order").order_by("pk"))
    outcome = outcome or (FaultSettings.current().refund_outcome if due else None)
    if not due or outcome == RefundOutcome.PENDING:
        return []
    settled = []
    for refund in due:
        with transaction.atomic():
            order = _locked(refund.payment.order) if refund.payment.order else None
            payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
            refund = Refund.objects.select_for_update().get(pk=refund.pk)
            if refund.status == Refund.Status.IN_PROCESS:
                _settle(refund, payment, order, outcome == RefundOutcome.APPROVED, now)
                settled.append(refund)
    return settled


def _settle(
    refund: Refund, payment: Payment, order: Order | None, approved: bool, now: datetime
) -> None:
    refund.status = Refund.Status.APPROVED if approved else Refund.Status.REJECTED
    refund.last_updated = now
    refund.save(update_fields=["status", "last_updated"])
    if approved:
        payment.refunded_amount += refund.amount
        if payment.refunded_amount == payment.amount:
            payment.status = Payment.Status.REFUNDED
    payment.last_updated = now
    payment.save()
    if payment.merchant_order is not None:
        if approved:
            _revert_merchant_order(payment, refund.amount, now)
        else:
            _notify_legacy_payment(payment)
    if order is None:
        return
    if approved:
        _after_refund(order, now)
    else:
        _changed(order, now, order.status, order.status_detail)
        if order.api == Order.Api.V1:
            _notify_order(order, "order.processed")  # the order stays processed


def _revert_merchant_order(payment: Payment, amount: Decimal, now: datetime) -> None:
    merchant_order = payment.merchant_order
    merchant_order.refunded_amount += amount
    fully = merchant_order.refunded_amount >= merchant_order.paid_amount
    merchant_order.order_status = "reverted" if fully else "partially_reverted"
    merchant_order.last_updated = now
    merchant_order.save()
    _notify_legacy_payment(payment)


def _after_refund(order: Order, now: datetime) -> None:
    refunded = not order.payments.exclude(status=Payment.Status.REFUNDED).exists()
    if refunded:
        _changed(order, now, Order.Status.REFUNDED, "refunded")
    else:
        _changed(order, now, Order.Status.PROCESSED, "partially_refunded")
    if order.api == Order.Api.V1:
        _notify_order(order, "order.refunded")
