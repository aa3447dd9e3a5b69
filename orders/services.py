"""Orders: every write, and every Mercado Pago call about them. Functions take the tenant.

The pattern of each write: check what Mercado Pago would refuse, save the intent locally with its
idempotency key (committed), call Mercado Pago outside any transaction, then apply what it
answered through ``orders.transitions``. When Mercado Pago cannot answer (5xx, 429, no answer)
the intent stays ``pending`` and a Celery task sends it again with the same key, so a timeout
never makes a second order or refund. The one exception is the legacy dynamic QR, which Mercado
Pago does not deduplicate: a create whose answer never came is marked failed and not re-sent.
"""

import logging
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from merchant_platform import request_context
from merchant_platform.mercadopago import get_config
from merchant_platform.money import format_money, locale_for
from mpapi import (
    APIError,
    Conflict,
    MercadoPagoError,
    NotFound,
    RateLimited,
    ServerError,
    TransportFailure,
    UnexpectedResponse,
)
from mpapi.orders import RefundTransaction
from orders import metadata as order_metadata
from orders import recovery, remote, transitions
from orders.errors import (
    InvalidOrder,
    MercadoPagoUnavailable,
    NotAllowed,
    Problem,
    RefusedByMercadoPago,
)
from orders.models import (
    HOLDS_ITS_REFERENCE,
    NO_ANSWER_CODE,
    OPEN_STATUSES,
    Api,
    Mode,
    Order,
    OrderItem,
    Payment,
    Refund,
    Status,
)
from orders.transitions import OrderState
from orders.validation import (
    ItemInput,
    OrderInput,
    TaxInput,
    ValidOrder,
    amount_problem,
    validate,
)
from pos.models import PointOfSale
from tenants.models import MercadoPagoCredential, Tenant
from tenants.scope import cross_tenant_scope, tenant_scope
from tenants.services import NotConnected, check_usable, usable_credential

logger = logging.getLogger(__name__)

UNAVAILABLE = (ServerError, RateLimited, TransportFailure, UnexpectedResponse)


# Create -------------------------------------------------------------------------------------


def create_order(
    *,
    tenant: Tenant,
    pos: PointOfSale,
    api: str,
    mode: str,
    external_reference: str,
    title: str,
    description: str = "",
    items: Sequence[ItemInput] = (),
    total_amount: Decimal | None = None,
    cash_out_amount: Decimal | None = None,
    taxes: Sequence[TaxInput] = (),
    expiration_date: datetime | None = None,
    expiration_time: timedelta | None = None,
    marketplace_fee: Decimal | None = None,
    metadata: dict[str, str] | None = None,
    uid: uuid.UUID | None = None,
    retried: bool = False,
    replace_open: bool = False,
) -> Order:
    """Create an order on ``pos`` in Mercado Pago and return it.

    Raises ``InvalidOrder`` (nothing sent), ``NotAllowed`` (seller suspended or not connected)
    or ``RefusedByMercadoPago``. When Mercado Pago cannot answer now the order comes back
    ``pending`` and is sent again in the background; a legacy dynamic QR that got no answer
    cannot be, so it is ``failed`` and ``MercadoPagoUnavailable`` says to create a new one.

    ``metadata``: the partner's keys and values, kept with the order (``orders.metadata``).
    ``uid`` names the order (a new one when None). ``retried`` says that an earlier attempt of
    this same create may have been cut off (its process died): the order it saved with ``uid``,
    if any, is resumed (``_resume_create``) instead of making a second one.

    ``replace_open`` first cancels, in Mercado Pago, the orders waiting for payment on ``pos``
    (``open_order_on``), so that the new one is the only one in front of the buyer; when one
    cannot be canceled (paid meanwhile, still pending, a legacy dynamic QR) its error is raised
    and nothing is created.
    """
    if retried and (saved := _order_named(tenant, uid)) is not None:
        return _resume_create(tenant, saved)
    order_input = OrderInput(
        api=api,
        mode=mode,
        external_reference=external_reference,
        title=title,
        description=description,
        items=tuple(items),
        total_amount=total_amount,
        cash_out_amount=cash_out_amount,
        taxes=tuple(taxes),
        expiration_date=expiration_date,
        expiration_time=expiration_time,
        marketplace_fee=marketplace_fee,
    )
    credential = _usable_credential(tenant, pos)
    valid = validate(
        order_input,
        tenant=tenant,
        pos=pos,
        allows_marketplace_fee=credential.allows_marketplace_fee,
        default_expiration=timedelta(seconds=settings.ORDERS_DEFAULT_EXPIRATION),
        now=timezone.now(),
    )
    if replace_open:
        _cancel_open_orders(tenant, pos)
    try:
        order, items = _save_new_order(
            tenant,
            pos,
            order_input,
            valid,
            uid=uid,
            metadata=order_metadata.merged({}, metadata or {}),
        )
    except (InvalidOrder, IntegrityError):
        if not retried or (saved := _order_named(tenant, uid)) is None:
            raise
        return _resume_create(tenant, saved)  # another attempt of this create saved it first
    _concerning(order)
    logger.info("order %s saved (pending): sending it to Mercado Pago", order.uid)
    try:
        return _submit(tenant, order, credential=credential, items=items)
    except MercadoPagoUnavailable as error:
        return _sent_again_later(tenant, order, error)


def open_order_on(pos: PointOfSale) -> Order | None:
    """The newest order of ``pos`` waiting for payment (pending or created, not past its
    expiry), the one in front of the buyer; call it inside the POS's tenant scope."""
    return _open_orders(pos).first()


def _open_orders(pos: PointOfSale) -> QuerySet[Order]:
    return Order.objects.filter(pos=pos, status__in=OPEN_STATUSES, expires_at__gt=timezone.now())


def _cancel_open_orders(tenant: Tenant, pos: PointOfSale) -> None:
    with tenant_scope(tenant):
        waiting = list(_open_orders(pos))
    for order in waiting:
        cancel_order(tenant=tenant, order=order)
        logger.info("order %s canceled: a new order replaces it on its POS", order.uid)


def _concerning(order: Order) -> None:
    """The log lines that follow, to the end of the request or task, name ``order``."""
    request_context.bind(order=str(order.uid))


def _order_named(tenant: Tenant, uid: uuid.UUID | None) -> Order | None:
    if uid is None:
        return None
    with tenant_scope(tenant):
        return Order.objects.filter(uid=uid).first()


def _resume_create(tenant: Tenant, order: Order) -> Order:
    """Finish the create of ``order``, saved by an attempt that was cut off, as it would have.

    Pending, it is sent with its saved key (Mercado Pago makes it once, however many times it
    was sent), except a legacy dynamic QR cut off before an answer, which Mercado Pago does not
    deduplicate: the cut-off attempt may have made it, so it fails as one that got no answer
    (``MercadoPagoUnavailable``). An order past pending is answered as it stands.
    """
    if _cut_off_before_an_answer(order):
        submit_order(tenant=tenant, order=order)  # fails it
        raise MercadoPagoUnavailable(_(_NO_ANSWER))
    try:
        return submit_order(tenant=tenant, order=order)
    except MercadoPagoUnavailable as error:
        return _sent_again_later(tenant, order, error)


def _sent_again_later(tenant: Tenant, order: Order, error: MercadoPagoUnavailable) -> Order:
    """``order``, which Mercado Pago could not take now, queued to be sent again; ``error`` if it
    is no longer pending (a legacy dynamic QR that got no answer failed)."""
    with tenant_scope(tenant):
        order = Order.objects.get(pk=order.pk)
    if order.status != Status.PENDING:
        raise error
    _enqueue("submit_order", tenant, order_id=order.pk)
    return order


def _usable_credential(tenant: Tenant, pos: PointOfSale | None) -> MercadoPagoCredential:
    """The seller's credential, read with ``pos`` if it was (``PointOfSale.seller_credential``)."""
    if not tenant.is_active:
        raise NotAllowed(
            _("%(seller)s is suspended: it cannot take orders.") % {"seller": tenant},
            code="seller_suspended",
        )
    try:
        if pos is None or pos.tenant_id != tenant.pk:
            return usable_credential(tenant)  # no POS of the seller's: validation refuses it
        try:
            credential = pos.seller_credential
        except MercadoPagoCredential.DoesNotExist:  # read now (not with the POS): there is none
            credential = None
        return check_usable(tenant, credential)
    except NotConnected as error:
        raise NotAllowed(str(error), code="seller_not_connected") from error


def _save_new_order(
    tenant: Tenant,
    pos: PointOfSale,
    data: OrderInput,
    valid: ValidOrder,
    uid: uuid.UUID | None = None,
    metadata: dict[str, str] | None = None,
) -> tuple[Order, list[OrderItem]]:
    """Save the pending order and its items (one transaction); a reference taken by a live
    order of the seller is refused by the database's unique constraint."""
    duplicate = InvalidOrder(
        [
            Problem(
                "external_reference",
                "duplicate_external_reference",
                _("This seller already has an order %(reference)s.")
                % {"reference": data.external_reference},
            )
        ]
    )
    order = Order(
        uid=uid or uuid.uuid4(),
        tenant=tenant,
        pos=pos,
        api=data.api,
        mode=data.mode,
        external_reference=data.external_reference,
        title=data.title.strip(),
        description=data.description,
        currency=tenant.currency,
        total_amount=valid.total_amount,
        cash_out_amount=data.cash_out_amount,
        marketplace_fee=valid.marketplace_fee,
        taxes=[{"type": tax.type, "value": str(tax.value)} for tax in data.taxes],
        metadata=metadata or {},
        sponsor_id=get_config().sponsor_id,
        expires_at=valid.expires_at,
        expiration_seconds=int(valid.expiration_time.total_seconds()),
    )
    order.create_idempotency_key = f"{tenant.pk}-{order.uid}-create"
    with tenant_scope(tenant):
        try:
            with transaction.atomic():
                order.save()
                items = OrderItem.objects.bulk_create(
                    OrderItem(
                        tenant=tenant,
                        order=order,
                        position=position,
                        title=item.title.strip(),
                        description=item.description,
                        sku=item.sku,
                        category=item.category,
                        unit_price=item.unit_price,
                        quantity=item.quantity,
                        unit_measure=item.unit_measure,
                    )
                    for position, item in enumerate(data.items)
                )
        except IntegrityError as error:
            # Another order took the reference; any other refusal is not a duplicate.
            reference = data.external_reference
            if Order.objects.filter(HOLDS_ITS_REFERENCE, external_reference=reference).exists():
                raise duplicate from error
            raise
    return order, items


def submit_order(*, tenant: Tenant, order: Order) -> Order:
    """Send a ``pending`` order to Mercado Pago (again), with the key saved on it; one whose
    expiry has passed meanwhile is not sent, it fails.

    An order for the POS's printed QR (hybrid, static) is not sent again once a newer one has
    taken that POS: sending it would take the POS back from the newer order. It fails
    (``replaced_before_accepted``). A legacy dynamic QR whose first send was cut off (its
    process died: no answer, not even a refusal, is noted on it) is not sent again either,
    since Mercado Pago may have made it and does not deduplicate it: it fails as one that got
    no answer.

    An Orders API order whose create got no answer is first looked for in Mercado Pago by its
    reference (``orders.recovery``): the order that create made is adopted, not sent again.

    Raises ``MercadoPagoUnavailable`` when it stays pending; ``RefusedByMercadoPago`` when
    Mercado Pago refuses it (it is then ``failed``).
    """
    _concerning(order)
    with tenant_scope(tenant):
        order = Order.objects.select_related("pos__store", "tenant").get(pk=order.pk)
        if (adopted := recovery.adopt_unanswered_create(tenant=tenant, order=order)) is not None:
            return adopted  # its unanswered create made it: found by search, never sent twice
        if _cut_off_before_an_answer(order):
            return transitions.apply(order, _failed(None, NO_ANSWER_CODE, _NO_ANSWER))
        if order.status == Status.PENDING and _replaced_on_its_pos(order):
            state = OrderState(
                status=Status.FAILED,
                status_detail="replaced_before_accepted",
                error_code="replaced_before_accepted",
                error_message="A newer order took its POS's printed QR before Mercado Pago "
                "took this one.",
            )
            return transitions.apply(order, state)
        return _submit(tenant, order)


def _cut_off_before_an_answer(order: Order) -> bool:
    """Whether ``order`` is a pending legacy dynamic QR sent by a process that died before
    Mercado Pago answered: a send that got an answer it may be sent again after (5xx, 429)
    notes it in ``error_code``, and ``create_order`` sends the first time itself."""
    unrepeatable = order.api == Api.INSTORE and order.mode == Mode.DYNAMIC
    return unrepeatable and order.status == Status.PENDING and not order.error_code


ON_PRINTED_QR = (Mode.HYBRID, Mode.STATIC)


def _replaced_on_its_pos(order: Order) -> bool:
    """Whether an order for ``order``'s POS's printed QR was made after it (and not refused)."""
    if order.mode not in ON_PRINTED_QR:
        return False
    newer = Order.objects.filter(pos_id=order.pos_id, mode__in=ON_PRINTED_QR, pk__gt=order.pk)
    return newer.exclude(status=Status.FAILED).exists()


def _submit(
    tenant: Tenant,
    order: Order,
    *,
    credential: MercadoPagoCredential | None = None,
    items: Sequence[OrderItem] | None = None,
) -> Order:
    """``submit_order`` of ``order`` as just read, or as just saved by ``create_order``, which
    passes the seller's credential and the order's items it has at hand."""
    with tenant_scope(tenant):
        if order.status != Status.PENDING:
            return order
        if order.expires_at <= timezone.now():
            state = OrderState(
                status=Status.FAILED,
                status_detail="expired_before_accepted",
                error_code="expired_before_accepted",
                error_message="Mercado Pago did not take the order before it expired.",
            )
            return transitions.apply(order, state)
        unrepeatable = order.api == Api.INSTORE and order.mode == Mode.DYNAMIC
        try:
            with remote.seller_client(tenant, order, credential=credential) as seller:
                state = _send_create(seller, order, items)
        except NotConnected as error:
            raise NotAllowed(str(error), code="seller_not_connected") from error
        except (TransportFailure, UnexpectedResponse) as error:
            if not unrepeatable:
                raise _unavailable(order, error) from error
            transitions.apply(order, _failed(error, NO_ANSWER_CODE, _NO_ANSWER))
            raise MercadoPagoUnavailable(_(_NO_ANSWER)) from error
        except (ServerError, RateLimited) as error:
            raise _unavailable(order, error) from error
        except APIError as error:
            transitions.apply(order, _failed(error, error.code or str(error.status)))
            raise _refused(error) from error
        if items is not None:  # the first send of create_order: the order is as it saved it
            return transitions.accept(order, state, list(items))
        if order.error_code or order.error_message:  # the note of an earlier attempt
            Order.objects.filter(pk=order.pk).update(error_code="", error_message="")
        return transitions.apply(order, state)


_NO_ANSWER = gettext_noop(
    "Mercado Pago did not answer, and a legacy dynamic QR cannot be sent twice safely: this "
    "order was not taken. Create a new one with another reference (this one stays taken); the "
    "unanswered one, if Mercado Pago made it, expires unseen."
)


def _send_create(
    seller: remote.Seller, order: Order, items: Sequence[OrderItem] | None
) -> OrderState:
    if order.api == Api.V1:
        expiration_time = timedelta(seconds=order.expiration_seconds)
        request = remote.v1_create_request(order, expiration_time, items)
        answer = seller.mp.create_order(
            seller.token, request, idempotency_key=order.create_idempotency_key
        )
        return remote.v1_state(answer)
    request = remote.instore_request(order, items)
    where = {"user_id": seller.user_id, "external_pos_id": order.pos.external_id}
    if order.mode == Mode.DYNAMIC:
        qr = seller.mp.create_dynamic_qr(seller.token, order=request, **where)
    elif order.mode == Mode.HYBRID:
        qr = seller.mp.create_hybrid_qr(seller.token, order=request, **where)
    else:
        seller.mp.put_pos_order(
            seller.token, external_store_id=order.pos.store.external_id, order=request, **where
        )
        return OrderState(status=Status.CREATED, status_detail="created")
    return OrderState(
        status=Status.CREATED,
        status_detail="created",
        mp_order_id=qr.in_store_order_id or "",
        qr_data=qr.qr_data or "",
    )


def _failed(error: Exception | None, code: str, message: str = "") -> OrderState:
    message = message or getattr(error, "message", "") or str(error)
    return OrderState(
        status=Status.FAILED, status_detail=code, error_code=code, error_message=message
    )


def _unavailable(order: Order, error: Exception) -> MercadoPagoUnavailable:
    """Note on the pending order why Mercado Pago could not take it now."""
    code = getattr(error, "code", None) or type(error).__name__
    Order.objects.filter(pk=order.pk).update(error_code=code[:100], error_message=str(error))
    return MercadoPagoUnavailable(
        _("Mercado Pago did not answer; the order is pending and will be sent again.")
    )


def _refused(error: APIError) -> RefusedByMercadoPago:
    code = error.code or str(error.status)
    return RefusedByMercadoPago(
        _("Mercado Pago refused it: %(message)s (%(code)s).")
        % {"message": error.message or code, "code": code},
        code=code,
        status=error.status,
    )


def update_metadata(*, tenant: Tenant, order: Order, metadata: dict[str, str]) -> Order:
    """Set the keys of ``metadata`` on ``order`` (an empty value removes its key), under the
    order's row lock; ``InvalidOrder`` when more than ``orders.metadata.MAX_KEYS`` would be
    kept."""
    with tenant_scope(tenant), transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        order.metadata = order_metadata.merged(order.metadata, metadata)
        order.save(update_fields=["metadata", "updated_at"])
        return order


# Cancel -------------------------------------------------------------------------------------


def cancel_order(*, tenant: Tenant, order: Order) -> Order:
    """Cancel an order that waits for payment, in Mercado Pago and here.

    Orders API orders are canceled by id; legacy orders on a POS's printed QR (static, hybrid)
    by taking them off the POS. A legacy dynamic QR cannot be deleted in Mercado Pago.
    """
    _concerning(order)
    with tenant_scope(tenant):
        order = Order.objects.select_related("pos__store", "tenant").get(pk=order.pk)
        if refusal := cancel_refusal(order):
            raise refusal
        if order.api == Api.V1 and not order.cancel_idempotency_key:
            order.cancel_idempotency_key = f"{tenant.pk}-{order.uid}-cancel"
            order.save(update_fields=["cancel_idempotency_key", "updated_at"])
        try:
            with remote.seller_client(tenant, order) as seller:
                state = _send_cancel(seller, order)
        except Conflict:
            order = refresh_order(tenant=tenant, order=order)
            raise NotAllowed(
                _("Mercado Pago could not cancel it: the order is %(status)s.")
                % {"status": order.get_status_display()},
                code="order_not_cancelable",
            ) from None
        except UNAVAILABLE as error:
            raise MercadoPagoUnavailable(
                _("Mercado Pago did not answer; the order was not canceled. Try again.")
            ) from error
        except APIError as error:
            raise _refused(error) from error
        order = transitions.apply(order, state)
        if order.status != Status.CANCELED:
            raise NotAllowed(
                _("The order could not be canceled: it is %(status)s.")
                % {"status": order.get_status_display()},
                code="order_not_cancelable",
            )
        return order


def cancel_refusal(order: Order) -> NotAllowed | None:
    """Why ``cancel_order`` would refuse ``order`` as it is now (None: it may be asked)."""
    if order.api == Api.INSTORE and order.mode == Mode.DYNAMIC:
        return NotAllowed(
            _(
                "A dynamic QR of the legacy in-store API cannot be deleted in Mercado Pago: it "
                "stays payable until it expires at %(expires_at)s UTC."
            )
            % {"expires_at": f"{order.expires_at:%Y-%m-%d %H:%M}"},
            code="legacy_dynamic_order_cannot_be_deleted",
        )
    if order.status != Status.CREATED:
        return NotAllowed(
            _("Only an order waiting for payment can be canceled; this one is %(status)s.")
            % {"status": order.get_status_display()},
            code="order_not_cancelable",
        )
    return None


def _send_cancel(seller: remote.Seller, order: Order) -> OrderState:
    if order.api == Api.V1:
        answer = seller.mp.cancel_order(
            seller.token, order.mp_order_id, idempotency_key=order.cancel_idempotency_key
        )
        return remote.v1_state(answer)
    if remote.shows(seller, order):
        try:
            seller.mp.delete_pos_order(
                seller.token, user_id=seller.user_id, external_pos_id=order.pos.external_id
            )
            return OrderState(status=Status.CANCELED, status_detail="canceled")
        except NotFound:
            pass  # paid or expired a moment ago
    return remote.instore_state(seller, order, timezone.now())


# Refund -------------------------------------------------------------------------------------


def refund_order(
    *,
    tenant: Tenant,
    order: Order,
    amount: Decimal | None = None,
    payment: Payment | None = None,
    seen_refundable: Decimal | None = None,
) -> list[Refund]:
    """Refund ``amount`` of a paid order (everything still refundable when None); the refunds
    made, one per payment refunded, as they are after Mercado Pago's answer.

    ``payment``: refund that payment of the order only (``amount`` at most what is left of it).
    Partial refunds may be repeated up to the paid amount. Refunds of one order are made one at a
    time: while one waits for Mercado Pago's answer, asking for another raises ``NotAllowed``
    (``refund_in_progress``). Each refund is saved ``pending`` with its idempotency key before
    Mercado Pago is called; when Mercado Pago cannot answer it stays pending (and so keeps the
    order's turn) and is sent again in the background. ``seen_refundable``: what the person who
    confirmed the refund saw as still refundable; when that is no longer so (a refund was made
    since, e.g. by a double submit of the same confirmation) it raises ``NotAllowed``
    (``refund_changed``) and refunds nothing.
    """
    _concerning(order)
    with tenant_scope(tenant):
        refunds = _reserve_refunds(tenant, order, amount, payment, seen_refundable)
        done = []
        for refund in refunds:
            try:
                done.append(submit_refund(tenant=tenant, refund=refund))
            except MercadoPagoUnavailable:
                _enqueue("submit_refund", tenant, refund_id=refund.pk)
                done.append(Refund.objects.get(pk=refund.pk))
        return done


# A refund asked for here that Mercado Pago has not answered yet: it holds its order's turn.
AWAITING_ANSWER = Q(status=Refund.Status.PENDING, mp_refund_id="")


def refund_refusal(order: Order) -> NotAllowed | None:
    """Why ``refund_order`` would refuse any refund of ``order`` as it is now: it is not paid, or
    another refund of it awaits Mercado Pago's answer (None: one may be asked, up to
    ``refundable_amount``)."""
    if order.status != Status.PROCESSED:
        return NotAllowed(
            _("Only a paid order can be refunded; this one is %(status)s.")
            % {"status": order.get_status_display()},
            code="order_not_refundable",
        )
    if Refund.objects.filter(AWAITING_ANSWER, order=order).exists():
        return NotAllowed(
            _(
                "Another refund of this order is waiting for Mercado Pago's answer; try again "
                "once it is settled."
            ),
            code="refund_in_progress",
        )
    return None


def refundable_amount(order: Order) -> Decimal:
    """What of ``order`` may still be refunded (``left_to_refund`` of its payments)."""
    payments = Payment.objects.filter(order=order)
    refunds = Refund.objects.filter(order=order, status=Refund.Status.PENDING)
    return sum(left_to_refund(payments, refunds).values(), Decimal(0))


def left_to_refund(payments: Iterable[Payment], refunds: Iterable[Refund]) -> dict[int, Decimal]:
    """What may still be refunded of each of ``payments`` (by primary key): its paid less
    refunded amount (as Mercado Pago counts them), less its refunds among ``refunds`` that are
    still pending (awaiting Mercado Pago's answer, or made and in process there)."""
    pending = _pending_by_payment(refunds)
    return {
        p.pk: max(p.paid_amount - p.refunded_amount - pending.get(p.pk, Decimal(0)), Decimal(0))
        for p in payments
    }


def _pending_by_payment(refunds: Iterable[Refund]) -> dict[int, Decimal]:
    """The amounts of the pending refunds among ``refunds``, by payment."""
    pending: dict[int, Decimal] = {}
    for refund in refunds:
        if refund.status == Refund.Status.PENDING:
            pending[refund.payment_id] = pending.get(refund.payment_id, Decimal(0)) + refund.amount
    return pending


def _reserve_refunds(
    tenant: Tenant,
    order: Order,
    amount: Decimal | None,
    only: Payment | None,
    seen_refundable: Decimal | None,
) -> list[Refund]:
    """Take the order's turn to refund: under the order's row lock (a short transaction, released
    before Mercado Pago is called), refuse while another refund awaits Mercado Pago's answer,
    check ``amount`` against what is left (of the payment ``only`` when given) and save the
    pending refunds, each announced by ``refund_changed``. Naming a payment always asks Mercado
    Pago for a partial refund, which cannot touch the order's other payments."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if refusal := refund_refusal(order):
            raise refusal
        asked = list(Refund.objects.filter(order=order))
        payments = list(Payment.objects.filter(order=order).order_by("pk"))
        if only is not None:
            payments = [p for p in payments if p.pk == only.pk]
        pending = _pending_by_payment(asked)
        left = left_to_refund(payments, asked)
        earlier = Counter(refund.payment_id for refund in asked if refund.idempotency_key)
        available = sum(left.values(), Decimal(0))
        if seen_refundable is not None and available != seen_refundable:
            raise NotAllowed(
                _(
                    "The order changed since the refund was confirmed: %(available)s is "
                    "refundable now, not %(seen)s. Nothing was refunded."
                )
                % {
                    "available": _money(available, order),
                    "seen": _money(seen_refundable, order),
                },
                code="refund_changed",
            )
        whole = amount is None and only is None
        amount = available if amount is None else amount
        _check_refund_amount(order, amount, available)
        refunds = []
        for payment in payments:
            part = min(amount, left[payment.pk])
            if part <= 0:
                continue
            before = payment.refunded_amount + pending.get(payment.pk, 0)
            number = earlier.get(payment.pk, 0) + 1
            refund = Refund.objects.create(
                tenant=tenant,
                order=order,
                payment=payment,
                amount=part,
                whole=whole and before == 0 and part == payment.paid_amount,
                idempotency_key=f"{tenant.pk}-{order.uid}-refund-{payment.mp_payment_id}"
                f"-{before}-{part}-{number}",
            )
            transitions.refund_changed.send(Refund, refund=refund, order=order, previous=None)
            refunds.append(refund)
            amount -= part
        return refunds


def _money(amount: Decimal, order: Order) -> str:
    """``amount`` of ``order``'s currency as the active language writes it at its seller."""
    return format_money(
        amount, order.currency, locale_for(order.tenant.site, translation.get_language())
    )


def _check_refund_amount(order: Order, amount: object, available: Decimal) -> None:
    v1 = order.api == Api.V1
    problem = amount_problem(amount, order.tenant.site_info, field="amount")
    if problem:
        raise InvalidOrder([Problem("amount", "property_value" if v1 else "4040", problem)])
    if amount > available:
        code = "refund_amount_exceeds" if v1 else "2085"
        raise InvalidOrder(
            [
                Problem(
                    "amount",
                    code,
                    _("At most %(refundable)s can be refunded.")
                    % {"refundable": _money(available, order)},
                )
            ]
        )


def submit_refund(*, tenant: Tenant, refund: Refund) -> Refund:
    """Send a refund that awaits Mercado Pago's answer (again, with the key saved on it), then
    merge what Mercado Pago says of the order: the refund by its Mercado Pago id, and the
    payments' totals as Mercado Pago counts them (never added up here)."""
    with tenant_scope(tenant):
        rows = Refund.objects.select_related("order__tenant", "payment")
        refund = rows.get(pk=refund.pk)
        if refund.status != Refund.Status.PENDING or refund.mp_refund_id:
            return refund
        order = refund.order
        try:
            with remote.seller_client(tenant, order) as seller:
                state = _send_refund(seller, refund)
        except UNAVAILABLE as error:
            raise MercadoPagoUnavailable(
                _("Mercado Pago did not answer; the refund is pending and will be sent again.")
            ) from error
        except APIError as error:
            _fail_refund(refund, error)
            raise _refused(error) from error
        transitions.apply(order, state)
        refund.refresh_from_db()
        if refund.status == Refund.Status.PENDING:
            logger.info("refund %s not yet confirmed by Mercado Pago", refund.pk)
        return refund


def _fail_refund(refund: Refund, error: APIError) -> None:
    """Mercado Pago refused ``refund``: it fails (its amount is refundable again), announced by
    ``refund_changed`` in the same transaction, unless an answer was recorded meanwhile."""
    code = error.code or str(error.status)
    with transaction.atomic():
        failed = Refund.objects.filter(AWAITING_ANSWER, pk=refund.pk).update(
            status=Refund.Status.FAILED, error_code=code[:100], error_message=error.message
        )
        if failed:
            refund.refresh_from_db()
            transitions.refund_changed.send(
                Refund, refund=refund, order=refund.order, previous=Refund.Status.PENDING
            )


def _send_refund(seller: remote.Seller, refund: Refund) -> OrderState:
    """Make ``refund`` in Mercado Pago; the order's state afterwards, naming the refund made as
    the answer to ``refund``."""
    order, payment, key = refund.order, refund.payment, refund.idempotency_key
    if order.api == Api.V1:
        if refund.whole:
            answer = seller.mp.refund_order(seller.token, order.mp_order_id, idempotency_key=key)
        else:
            answer = seller.mp.refund_order_partially(
                seller.token,
                order.mp_order_id,
                [RefundTransaction(id=payment.mp_payment_id, amount=refund.amount)],
                currency=order.currency,
                idempotency_key=key,
            )
        state = remote.v1_state(answer)
        if any(transitions.refund_status(r.status) == Refund.Status.PENDING for r in state.refunds):
            state = _read_again(seller, order, state)
        return _naming_the_refund(state, refund)
    payment_id = int(payment.mp_payment_id)
    if refund.whole:
        made = seller.mp.refund_payment(seller.token, payment_id, idempotency_key=key)
    else:
        made = seller.mp.refund_payment_partially(
            seller.token, payment_id, refund.amount, currency=order.currency, idempotency_key=key
        )
    # Made: until Mercado Pago's totals list it, the refund stays pending with its id (the
    # order's turn is free), and a refresh or the reconciliation completes it.
    answer = replace(
        remote.legacy_refund_state(made, payment.mp_payment_id),
        status="pending",
        local_id=refund.pk,
    )
    try:
        state = _current_state(seller, order)
    except MercadoPagoError:
        return OrderState(status=order.status, refunds=(answer,))
    listed = [r for r in state.refunds if r.mp_refund_id == answer.mp_refund_id]
    others = tuple(r for r in state.refunds if r.mp_refund_id != answer.mp_refund_id)
    named = replace(listed[0], local_id=refund.pk) if listed else answer
    return replace(state, refunds=(*others, named))


def _read_again(seller: remote.Seller, order: Order, state: OrderState) -> OrderState:
    """The Orders API answers a refund ``processing`` and completes it later: ``state`` (that
    answer) read once more, so a refund Mercado Pago has completed meanwhile is recorded at once
    (one still processing is completed by its notification or a refresh)."""
    try:
        return remote.v1_state(seller.mp.get_order(seller.token, order.mp_order_id))
    except MercadoPagoError:
        return state


def _naming_the_refund(state: OrderState, refund: Refund) -> OrderState:
    """``state`` (an Orders API answer to ``refund``) with the refund that answers it named: of
    its payment and amount, the newest one not known here."""
    known = set(
        Refund.objects.filter(order=refund.order_id)
        .exclude(mp_refund_id="")
        .values_list("mp_refund_id", flat=True)
    )
    candidates = [
        r
        for r in state.refunds
        if r.mp_payment_id == refund.payment.mp_payment_id
        and r.amount == refund.amount
        and r.mp_refund_id not in known
    ]
    if not candidates:
        return state
    answer = candidates[-1]
    refunds = tuple(replace(r, local_id=refund.pk) if r is answer else r for r in state.refunds)
    return replace(state, refunds=refunds)


# Refresh, expire, reconcile ------------------------------------------------------------------


def refresh_order(*, tenant: Tenant, order: Order) -> Order:
    """Bring ``order`` up to date with what Mercado Pago says of it now.

    A pending order is sent again (same key); refunds awaiting Mercado Pago's answer are sent
    again too. Payments and refunds are merged even from a state older than the order's last
    update, so a refresh always heals local totals to Mercado Pago's.
    """
    _concerning(order)
    with tenant_scope(tenant):
        order = Order.objects.select_related("pos__store", "tenant").get(pk=order.pk)
        if order.status == Status.PENDING:
            return submit_order(tenant=tenant, order=order)
        if refresh_is_useful(order):
            with remote.seller_client(tenant, order) as seller:
                state = _current_state(seller, order)
                order = transitions.apply(order, state)
                if order.api == Api.INSTORE:
                    order = _read_made_refunds(seller, order)
        for refund in Refund.objects.filter(AWAITING_ANSWER, order=order):
            try:
                submit_refund(tenant=tenant, refund=refund)
            except MercadoPagoUnavailable:
                logger.info("refund %s still pending: Mercado Pago did not answer", refund.pk)
        return Order.objects.get(pk=order.pk)


def _read_made_refunds(seller: remote.Seller, order: Order) -> Order:
    """``order`` (legacy) with each refund that Mercado Pago made but had not completed read
    again by its id: one completed since is processed, one rejected is failed (its amount
    refundable again). The merchant orders' totals show only completed refunds, so a rejected
    one is seen only this way."""
    made = (
        Refund.objects.filter(order=order, status=Refund.Status.PENDING)
        .exclude(mp_refund_id="")
        .select_related("payment")
    )
    states = [
        remote.payment_refund(seller, refund.payment.mp_payment_id, refund.mp_refund_id)
        for refund in made
    ]
    read = tuple(state for state in states if state is not None)
    if not read:
        return order
    return transitions.apply(order, OrderState(status=order.status, refunds=read))


def refresh_is_useful(order: Order) -> bool:
    """Whether ``refresh_order`` would ask Mercado Pago anything of ``order``: not of a failed
    order, which Mercado Pago never took."""
    return order.status != Status.FAILED


def _current_state(seller: remote.Seller, order: Order) -> OrderState:
    """What Mercado Pago says of ``order`` now: for the Orders API the order, with the approval
    time of payments that have none here yet; for the legacy API the merchant orders of its
    reference, with the refunds of payments whose refunded total is not all recorded here."""
    if order.api == Api.V1:
        state = remote.v1_state(seller.mp.get_order(seller.token, order.mp_order_id))
        dated = Payment.objects.filter(order=order, approved_at__isnull=False)
        return remote.with_approval_times(
            seller, state, set(dated.values_list("mp_payment_id", flat=True))
        )
    state = remote.instore_state(seller, order, timezone.now())
    if not state.payments:
        return state
    refunds = tuple(
        refund
        for payment in state.payments
        if payment.refunded_amount > _recorded_refunds(order, payment.mp_payment_id)
        for refund in remote.payment_refunds(seller, payment.mp_payment_id)
    )
    return replace(state, refunds=refunds)


def _recorded_refunds(order: Order, mp_payment_id: str) -> Decimal:
    total = Refund.objects.filter(
        order=order, payment__mp_payment_id=mp_payment_id, status=Refund.Status.PROCESSED
    ).aggregate(total=Sum("amount"))["total"]
    return total or Decimal(0)


def orders_to_reconcile(*, now: datetime) -> list[tuple[int, int]]:
    """``(tenant_id, order_id)`` of every order to bring up to date, across tenants: open ones
    unchanged for ``ORDERS_RECONCILE_AFTER`` seconds (their notification is overdue; a pending
    one whose create answer was lost is found by search, ``orders.recovery``) and paid ones with
    a refund that Mercado Pago has not confirmed."""
    overdue = now - timedelta(seconds=settings.ORDERS_RECONCILE_AFTER)
    with cross_tenant_scope():
        stale = Order.objects.filter(
            status__in=(Status.PENDING, Status.CREATED), updated_at__lte=overdue
        )
        refunding = Order.objects.filter(
            status=Status.PROCESSED, refunds__status=Refund.Status.PENDING
        )
        rows = set(stale.values_list("tenant_id", "pk")) | set(
            refunding.values_list("tenant_id", "pk")
        )
    return sorted(rows, key=lambda row: row[1])


def orders_past_expiry(*, now: datetime) -> list[tuple[int, int]]:
    """``(tenant_id, order_id)`` of orders still waiting for payment after their expiry."""
    with cross_tenant_scope():
        due = Order.objects.filter(status=Status.CREATED, expires_at__lte=now)
        return list(due.order_by("expires_at").values_list("tenant_id", "pk"))


EXPIRE_ON_READ_EVERY = 5


def expire_if_overdue(*, tenant: Tenant, order: Order) -> bool:
    """Queue for ``order``, if it still waits for payment past its expiry, the refresh that the
    beat task ``orders.expire_orders`` queues for it; whether it was queued (then, with eager
    Celery, it has run). Reads that show an order (the display, the cashier page) call this, so
    it expires on time where no beat runs (``make run``); at most once every
    ``EXPIRE_ON_READ_EVERY`` seconds per order, so polling pages do not each ask Mercado Pago."""
    if order.status != Status.CREATED or order.expires_at > timezone.now():
        return False
    if not cache.add(f"orders:expire-on-read:{order.uid}", 1, EXPIRE_ON_READ_EVERY):
        return False
    _enqueue("refresh_order", tenant, order_id=order.pk)
    return True


def _enqueue(task_name: str, tenant: Tenant, **kwargs: int) -> None:
    """Run an order task after the current transaction commits (at once with eager Celery)."""
    from orders import tasks  # tasks call services

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.delay(tenant_id=tenant.pk, **kwargs), robust=True)


def apply_state(*, tenant: Tenant, order: Order, state: OrderState) -> Order:
    """Apply what Mercado Pago says of ``order`` (read elsewhere) through the transitions."""
    _concerning(order)
    with tenant_scope(tenant):
        return transitions.apply(order, state)
