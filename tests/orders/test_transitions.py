"""The one module that changes an order's status: late, repeated or reordered states never move an
order backwards, and paid and refunded amounts never go down."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import transitions
from orders.models import Refund
from orders.transitions import OrderState, PaymentState, RefundState
from tenants.scope import tenant_scope
from tests.factories import make_order, make_tenant

pytestmark = pytest.mark.django_db

NOW = timezone.now()
PAID = PaymentState(
    mp_payment_id="PAY01JV3AW3NFSTSTB669F41NACDX",
    amount=Decimal("100.00"),
    paid_amount=Decimal("100.00"),
    status="processed",
)


@pytest.fixture
def tenant():
    return make_tenant(site="MLA")


def apply(order, status: str, *, at=NOW, **fields):
    with tenant_scope(order.tenant):
        return transitions.apply(order, OrderState(status=status, last_updated=at, **fields))


@pytest.mark.parametrize(
    ("current", "late"),
    [
        ("created", "pending"),
        ("processed", "created"),
        ("refunded", "processed"),
        ("canceled", "created"),
        ("expired", "created"),
    ],
)
def test_a_late_state_never_moves_an_order_backwards(tenant, current, late):
    order = make_order(tenant, status=current)

    assert apply(order, late).status == current


def test_canceled_and_expired_never_replace_each_other(tenant):
    canceled = make_order(tenant, status="canceled")
    expired = make_order(tenant, status="expired")

    assert apply(canceled, "expired").status == "canceled"
    assert apply(expired, "canceled").status == "expired"


def test_a_payment_outranks_an_earlier_expiry(tenant):
    """Money that reached the seller is never hidden by an expiry seen first."""
    order = make_order(tenant, status="expired")

    order = apply(order, "processed", payments=(PAID,))

    assert order.status == "processed"
    assert order.paid_at is not None
    with tenant_scope(tenant):
        assert order.payments.get().paid_amount == Decimal("100.00")


def test_an_older_picture_of_the_same_status_changes_nothing(tenant):
    order = make_order(tenant, status="created")
    order = apply(order, "processed", status_detail="partially_refunded", payments=(PAID,))

    order = apply(order, "processed", at=NOW - timedelta(seconds=5), status_detail="accredited")

    assert order.status_detail == "partially_refunded"
    assert order.mp_last_updated == NOW


def test_paid_and_refunded_amounts_never_go_down(tenant):
    order = make_order(tenant, status="created")
    refunded = PaymentState(**{**PAID.__dict__, "refunded_amount": Decimal("30.00")})
    apply(order, "processed", status_detail="partially_refunded", payments=(refunded,))

    apply(order, "processed", at=NOW + timedelta(seconds=1), payments=(PAID,))

    with tenant_scope(tenant):
        payment = order.payments.get()
    assert (payment.paid_amount, payment.refunded_amount) == (Decimal("100.00"), Decimal("30.00"))
    assert payment.amount_available_for_refund == Decimal("70.00")


def test_a_reported_refund_completes_the_pending_one_asked_for_here(tenant):
    order = apply(make_order(tenant, status="created"), "processed", payments=(PAID,))
    with tenant_scope(tenant):
        payment = order.payments.get()
        pending = Refund.objects.create(
            order=order, payment=payment, amount=Decimal("40.00"), idempotency_key="k1"
        )
    made = RefundState(
        mp_refund_id="REF01", mp_payment_id=PAID.mp_payment_id, amount=Decimal("40.00")
    )

    apply(order, "processed", at=NOW + timedelta(seconds=1), refunds=(made,))
    apply(order, "processed", at=NOW + timedelta(seconds=2), refunds=(made,))  # reported again

    with tenant_scope(tenant):
        [refund] = Refund.objects.filter(order=order)
    assert (refund.pk, refund.mp_refund_id, refund.status) == (pending.pk, "REF01", "processed")


def test_a_refund_made_elsewhere_is_recorded(tenant):
    order = apply(make_order(tenant, status="created"), "processed", payments=(PAID,))
    made = RefundState(
        mp_refund_id="REF02", mp_payment_id=PAID.mp_payment_id, amount=Decimal("100.00")
    )

    apply(order, "refunded", at=NOW + timedelta(seconds=1), refunds=(made,))

    with tenant_scope(tenant):
        refund = Refund.objects.get(order=order)
    assert (refund.amount, refund.status, refund.idempotency_key) == (100, "processed", "")


def test_a_status_change_is_signalled_once_committed(tenant, django_capture_on_commit_callbacks):
    order = make_order(tenant, status="created")
    changes = []

    def record(sender, order, previous, **kwargs):
        changes.append((order.pk, previous, order.status))

    transitions.status_changed.connect(record)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            apply(order, "processed", payments=(PAID,))
        assert changes == [(order.pk, "created", "processed")]
        with django_capture_on_commit_callbacks(execute=True):
            apply(order, "created")  # stale: no change, no signal
        assert changes == [(order.pk, "created", "processed")]
    finally:
        transitions.status_changed.disconnect(record)


def accept(order, state: OrderState):
    with tenant_scope(order.tenant):
        return transitions.accept(order, state, items=[])


def test_the_answer_to_a_create_applies_without_a_lock_and_leaves_the_lists_in_memory(tenant):
    order = make_order(tenant)  # pending, as the create saved it
    created = OrderState(status="created", mp_order_id="ORD01", qr_data="000201", payments=(PAID,))

    accepted = accept(order, created)

    assert accepted.listed_payments[0].mp_payment_id == PAID.mp_payment_id
    assert accepted.listed_items == []
    assert accepted.listed_refunds == []
    with tenant_scope(tenant):
        order.refresh_from_db()
        assert (order.status, order.mp_order_id, order.qr_data) == ("created", "ORD01", "000201")
        assert [p.mp_payment_id for p in order.payments.all()] == [PAID.mp_payment_id]


def test_an_answer_to_a_create_that_a_notification_overtook_goes_through_the_lock(tenant):
    """The webhook of the payment was applied before the create's own answer: the answer neither
    moves the order back nor records its payment twice."""
    order = make_order(tenant)
    apply(order, "processed", payments=(PAID,))  # the notification, on another process
    created = OrderState(status="created", mp_order_id="ORD01", payments=(PAID,))

    accepted = accept(order, created)  # ``order``, in memory, is still pending

    assert accepted.status == "processed"
    with tenant_scope(tenant):
        assert accepted.payments.count() == 1
