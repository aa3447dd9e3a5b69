"""``POST /api/v1/sandbox/orders/{uid}/pay`` with ``{"outcome": "rejected"}``: the test buyer's
payment is declined, as Mercado Pago does for a card without funds. The order stays waiting for
payment (a legacy order lists the rejected payment, nothing paid; a v1 order's attempt is no
transaction of it), no ``order.processed`` event is written, and paying again succeeds."""

import pytest

from partners.models import Event
from sandbox import models as sandbox_models
from tenants.scope import tenant_scope
from tests.api.paid_orders import create, local, post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

SANDBOX = "/api/v1/sandbox/orders"
DECLINED = "cc_rejected_insufficient_amount"


def event_types(seller) -> list[str]:
    with tenant_scope(seller):
        return list(Event.objects.order_by("pk").values_list("type", flat=True))


def reject(partner, uid: str):
    return post(partner, f"{SANDBOX}/{uid}/pay", {"outcome": "rejected"})


def test_a_rejected_payment_leaves_a_v1_order_waiting_then_it_is_paid(partner, seller, pos):
    uid = create(partner, pos)["uid"]

    response = reject(partner, uid)

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["paid_amount"]) == ("created", "0.00")
    assert all(payment["paid_amount"] == "0.00" for payment in body["payments"])
    assert sandbox_models.Order.objects.get().status == "created"
    assert sandbox_models.Payment.objects.get().status == "created"  # no transaction changed
    assert "order.processed" not in event_types(seller)

    paid = post(partner, f"{SANDBOX}/{uid}/pay", {"outcome": "approved"})

    assert paid.status_code == 202, paid.content
    assert (paid.json()["status"], paid.json()["paid_amount"]) == ("processed", "100.00")
    assert event_types(seller)[-1] == "order.processed"


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_a_rejected_payment_shows_on_a_legacy_order_that_stays_payable(partner, seller, pos, mode):
    uid = create(partner, pos, api="instore", mode=mode)["uid"]

    response = reject(partner, uid)

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["paid_amount"]) == ("created", "0.00")
    (payment,) = body["payments"]
    assert (payment["status"], payment["status_detail"]) == ("rejected", DECLINED)
    assert (payment["amount"], payment["paid_amount"]) == ("100.00", "0.00")
    assert payment["amount_available_for_refund"] == "0.00"
    order = local(seller, uid)
    with tenant_scope(seller):
        assert (order.status, order.paid_amount) == ("created", 0)
    assert "order.processed" not in event_types(seller)
    rejected = sandbox_models.Payment.objects.get()
    merchant_order = sandbox_models.MerchantOrder.objects.get()
    assert (merchant_order.status, merchant_order.paid_amount) == ("opened", 0)
    ipn = sandbox_models.Event.objects.filter(kind="ipn").values_list("topic", "resource_id")
    assert ("payment", str(rejected.pk)) in set(ipn)  # notified like any payment

    paid = post(partner, f"{SANDBOX}/{uid}/pay")

    assert paid.status_code == 202, paid.content
    body = paid.json()
    assert (body["status"], body["paid_amount"]) == ("processed", "100.00")
    statuses = sorted((p["status"], p["paid_amount"]) for p in body["payments"])
    assert statuses == [("approved", "100.00"), ("rejected", "0.00")]
    assert event_types(seller).count("order.processed") == 1
    merchant_order.refresh_from_db()  # the buyer's second payment closes the same one
    assert (merchant_order.status, merchant_order.paid_amount) == ("closed", 100)
    assert sandbox_models.MerchantOrder.objects.count() == 1


def test_a_refund_of_an_order_paid_after_a_rejection_leaves_the_rejected_payment(
    partner, seller, pos
):
    uid = create(partner, pos, api="instore")["uid"]
    reject(partner, uid)
    post(partner, f"{SANDBOX}/{uid}/pay")

    refunded = post(partner, f"/api/v1/orders/{uid}/refund")

    assert refunded.status_code == 201, refunded.content
    (refund,) = refunded.json()["refunds"]  # of the approved payment only
    assert refund["amount"] == "100.00"
    assert sandbox_models.Refund.objects.get().payment.status != "rejected"
    statuses = sorted(sandbox_models.Payment.objects.values_list("status", flat=True))
    assert statuses in (["approved", "rejected"], ["refunded", "rejected"])


def test_a_rejected_payment_stays_rejected_when_its_order_is_canceled(partner, seller, pos):
    uid = create(partner, pos, api="instore", mode="static")["uid"]
    reject(partner, uid)

    canceled = post(partner, f"/api/v1/orders/{uid}/cancel")

    assert canceled.status_code == 200, canceled.content
    assert sandbox_models.Order.objects.get().status == "canceled"
    assert sandbox_models.Payment.objects.get().status == "rejected"


def test_an_unknown_outcome_is_refused(partner, seller, pos):
    uid = create(partner, pos, api="instore")["uid"]

    for body, field in (
        ({"outcome": "declined"}, "outcome"),
        ({"outcome": "rejected", "reason": "no funds"}, "reason"),
    ):
        response = post(partner, f"{SANDBOX}/{uid}/pay", body)
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "validation_error"
        assert set(response.json()["fields"]) == {field}
    assert not sandbox_models.Payment.objects.exists()
    assert local(seller, uid).status == "created"


def test_the_sandbox_wallet_refuses_an_unknown_outcome(client, seller, pos, partner):
    create(partner, pos)
    qr_data = sandbox_models.Order.objects.get().qr_data

    response = post(client, "/sandbox/wallet/pay", {"qr_data": qr_data, "outcome": "maybe"})

    assert (response.status_code, response.json()["error"]) == (400, "invalid_outcome")
    assert sandbox_models.Order.objects.get().status == "created"
