"""Contract: refunds are made in process and completed later, as Mercado Pago does, through
``mpapi`` against the sandbox (in-process).

A payments API refund answers ``in_process`` and becomes ``approved`` or ``rejected``; an Orders
API refund transaction answers ``processing`` and becomes ``processed`` or ``failed``. Only a
completed refund counts in the refunded totals; a rejected one leaves its amount refundable.
``GET /v1/payments/{id}/refunds`` lists a payment's refunds and ``…/refunds/{refund_id}`` reads
one (404 with code 2032 for a refund the payment does not have). The fault settings
``refund_outcome`` and ``refund_delay_seconds`` drive each path; ``POST
/sandbox/_control/refunds/settle`` settles every refund in process now.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mpapi import BadRequest, NotFound
from mpapi.orders import Order, RefundTransaction
from sandbox.models import Event
from tests.contract import test_orders_contract as orders_contract
from tests.contract.conftest import SELLER_ID, SELLER_TOKEN
from tests.contract.test_payments_contract import key, make_pos, paid_legacy
from tests.faults import set_faults

pytestmark = pytest.mark.django_db


@pytest.fixture
def pos_id(mp) -> int:
    return make_pos(mp)


@pytest.fixture
def paid(mp, client) -> Order:
    """A dynamic Orders API order of 50.00, paid."""
    orders_contract.make_pos(mp, SELLER_TOKEN, SELLER_ID, "MLA")
    order = mp.create_order(SELLER_TOKEN, orders_contract.new_order(), idempotency_key=key())
    orders_contract.pay(client, qr_data=order.qr_data)
    return mp.get_order(SELLER_TOKEN, order.id)


def settle(client, **body) -> dict:
    """Settle every refund in process now, as the sandbox's control API does."""
    answer = client.post("/sandbox/_control/refunds/settle", body, content_type="application/json")
    assert answer.status_code == 200, answer.content
    return answer.json()


def ipn_topics() -> list[str]:
    return list(Event.objects.filter(kind=Event.Kind.IPN).values_list("topic", flat=True))


def order_actions(order_id: str) -> list[str]:
    rows = Event.objects.filter(kind=Event.Kind.WEBHOOK, resource_id=order_id).order_by("pk")
    return list(rows.values_list("action", flat=True))


# Payments API (legacy in-store) ----------------------------------------------------------------


def test_a_payment_refund_is_in_process_until_settled_and_counted_only_then(mp, client, pos_id):
    receipt = paid_legacy(mp, client)
    payment_id = receipt["payment_id"]
    set_faults(client, refund_outcome="pending")

    made = mp.refund_payment_partially(
        SELLER_TOKEN, payment_id, Decimal("5"), currency="ARS", idempotency_key=key()
    )

    assert (made.payment_id, made.amount, made.status) == (payment_id, Decimal("5"), "in_process")
    assert [(r.id, r.status) for r in mp.list_payment_refunds(SELLER_TOKEN, payment_id)] == [
        (made.id, "in_process")
    ]
    assert mp.get_payment_refund(SELLER_TOKEN, payment_id, made.id).status == "in_process"
    payment = mp.get_payment(SELLER_TOKEN, payment_id)
    assert (payment.status_detail, payment.transaction_amount_refunded) == ("accredited", 0)
    merchant_order = mp.get_merchant_order(SELLER_TOKEN, receipt["merchant_order_id"])
    assert (merchant_order.order_status, merchant_order.refunded_amount) == ("paid", 0)
    assert ipn_topics() == ["merchant_order", "payment"]  # the payment only

    assert settle(client) == {"settled": [made.id], "outcome": "approved"}

    read = mp.get_payment_refund(SELLER_TOKEN, payment_id, made.id)
    assert (read.id, read.payment_id, read.amount, read.status) == (
        made.id,
        payment_id,
        Decimal("5"),
        "approved",
    )
    assert read.date_created == made.date_created
    assert read.raw["refund_mode"] == "standard"
    assert read.raw["source"][0]["type"] == "collector"
    payment = mp.get_payment(SELLER_TOKEN, payment_id)
    assert (payment.status_detail, payment.transaction_amount_refunded) == (
        "partially_refunded",
        Decimal("5"),
    )
    merchant_order = mp.get_merchant_order(SELLER_TOKEN, receipt["merchant_order_id"])
    assert (merchant_order.order_status, merchant_order.refunded_amount) == (
        "partially_reverted",
        Decimal("5"),
    )
    assert ipn_topics() == ["merchant_order", "payment"] * 2  # paid, then refunded


def test_a_rejected_payment_refund_leaves_its_amount_refundable(mp, client, pos_id):
    receipt = paid_legacy(mp, client)
    payment_id = receipt["payment_id"]
    set_faults(client, refund_outcome="rejected")

    made = mp.refund_payment(SELLER_TOKEN, payment_id, idempotency_key=key())
    assert (made.amount, made.status) == (Decimal("20"), "in_process")

    assert mp.get_payment_refund(SELLER_TOKEN, payment_id, made.id).status == "rejected"
    assert mp.get_payment(SELLER_TOKEN, payment_id).transaction_amount_refunded == 0
    set_faults(client)  # refunds approved again
    again = mp.refund_payment(SELLER_TOKEN, payment_id, idempotency_key=key())
    assert again.amount == Decimal("20")
    listed = mp.list_payment_refunds(SELLER_TOKEN, payment_id)
    assert [(r.id, r.status) for r in listed] == [(made.id, "rejected"), (again.id, "approved")]
    assert mp.get_payment(SELLER_TOKEN, payment_id).status == "refunded"


def test_what_is_in_process_cannot_be_refunded_twice(mp, client, pos_id):
    receipt = paid_legacy(mp, client)
    payment_id = receipt["payment_id"]
    set_faults(client, refund_outcome="pending")
    mp.refund_payment_partially(
        SELLER_TOKEN, payment_id, Decimal("15"), currency="ARS", idempotency_key=key()
    )

    with pytest.raises(BadRequest) as refused:
        mp.refund_payment_partially(
            SELLER_TOKEN, payment_id, Decimal("6"), currency="ARS", idempotency_key=key()
        )
    assert "2085" in refused.value.codes
    rest = mp.refund_payment(SELLER_TOKEN, payment_id, idempotency_key=key())
    assert (rest.amount, rest.status) == (Decimal("5"), "in_process")


def test_a_refund_delay_keeps_it_in_process_until_a_delivery_run_after_it(mp, client, pos_id):
    receipt = paid_legacy(mp, client)
    payment_id = receipt["payment_id"]
    set_faults(client, refund_delay_seconds=60)
    made = mp.refund_payment(SELLER_TOKEN, payment_id, idempotency_key=key())

    assert mp.get_payment_refund(SELLER_TOKEN, payment_id, made.id).status == "in_process"
    later = (timezone.now() + timedelta(seconds=61)).isoformat()
    ran = client.post(
        "/sandbox/_control/deliveries/run", {"now": later}, content_type="application/json"
    )
    assert ran.status_code == 200, ran.content

    assert mp.get_payment_refund(SELLER_TOKEN, payment_id, made.id).status == "approved"
    assert mp.get_payment(SELLER_TOKEN, payment_id).status == "refunded"


def test_an_unknown_refund_is_a_json_404_with_code_2032(mp, client, pos_id):
    receipt = paid_legacy(mp, client)
    other = paid_legacy(mp, client, "sale-2")
    made = mp.refund_payment(SELLER_TOKEN, other["payment_id"], idempotency_key=key())

    for refund_id in (999999999, made.id):  # none, or another payment's
        with pytest.raises(NotFound) as missing:
            mp.get_payment_refund(SELLER_TOKEN, receipt["payment_id"], refund_id)
        assert missing.value.codes == ("not_found", "2032")
        assert missing.value.body["message"] == "Refund not found"
    with pytest.raises(NotFound) as no_payment:
        mp.list_payment_refunds(SELLER_TOKEN, 999999999)
    assert no_payment.value.codes == ("not_found", "2000")
    assert mp.list_payment_refunds(SELLER_TOKEN, receipt["payment_id"]) == ()


# Orders API ------------------------------------------------------------------------------------


def test_an_order_refund_is_processing_until_settled_then_the_order_is_refunded(
    mp,
    client,
    paid,
):
    set_faults(client, refund_outcome="pending")

    answer = mp.refund_order(SELLER_TOKEN, paid.id, idempotency_key=key())

    assert (answer.status, answer.status_detail) == ("processed", "accredited")
    [refund] = answer.refunds
    assert (refund.status, refund.amount) == ("processing", Decimal("50.00"))
    assert answer.payments[0].refunded_amount == Decimal("0.00")
    assert mp.get_order(SELLER_TOKEN, paid.id).refunds[0].status == "processing"
    assert order_actions(paid.id) == ["order.processed"]
    # The refund transaction's reference_id is its refund of the payment (payments API).
    payment_id = int(answer.payments[0].reference_id)
    listed = mp.list_payment_refunds(SELLER_TOKEN, payment_id)
    assert [(str(r.id), r.status) for r in listed] == [(refund.reference_id, "in_process")]

    settle(client)

    order = mp.get_order(SELLER_TOKEN, paid.id)
    assert (order.status, order.status_detail) == ("refunded", "refunded")
    assert [(r.id, r.status) for r in order.refunds] == [(refund.id, "processed")]
    assert order.payments[0].refunded_amount == Decimal("50.00")
    assert order_actions(paid.id) == ["order.processed", "order.refunded"]


def test_a_failed_order_refund_leaves_the_order_processed_and_refundable(
    mp,
    client,
    paid,
):
    pay_id = paid.payments[0].id
    set_faults(client, refund_outcome="pending")
    mp.refund_order_partially(
        SELLER_TOKEN,
        paid.id,
        [RefundTransaction(pay_id, Decimal("20.00"))],
        currency="ARS",
        idempotency_key=key(),
    )

    assert settle(client, outcome="rejected")["outcome"] == "rejected"

    order = mp.get_order(SELLER_TOKEN, paid.id)
    assert (order.status, order.status_detail) == ("processed", "accredited")
    assert [(r.amount, r.status) for r in order.refunds] == [(Decimal("20.00"), "failed")]
    assert order.payments[0].refunded_amount == Decimal("0.00")
    set_faults(client)
    mp.refund_order(SELLER_TOKEN, paid.id, idempotency_key=key())  # all 50.00 again
    order = mp.get_order(SELLER_TOKEN, paid.id)
    assert (order.status, [r.status for r in order.refunds]) == (
        "refunded",
        ["failed", "processed"],
    )


def test_the_settle_endpoint_refuses_an_unknown_outcome(client, db):
    answer = client.post(
        "/sandbox/_control/refunds/settle", {"outcome": "maybe"}, content_type="application/json"
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "bad_request"
