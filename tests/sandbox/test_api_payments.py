"""Merchant orders and payments (api.md §7, §8): reads, search, and payment refunds with their
numeric error codes."""

import pytest

from sandbox.models import Event, Payment
from sandbox.seed import seller_access_token
from tests.sandbox.api_helpers import Api

pytestmark = pytest.mark.django_db
BODY = {
    "external_reference": "sale-1",
    "notification_url": "https://platform.example/ipn",
    "total_amount": 20,
    "items": [
        {
            "title": "Tea",
            "unit_price": 10,
            "quantity": 2,
            "unit_measure": "unit",
            "total_amount": 20,
        }
    ],
}


@pytest.fixture
def api(client):
    api = Api(client)
    api.pos("POS1")
    return api


def paid_legacy(api: Api, reference: str = "sale-1") -> dict:
    path = f"/instore/orders/qr/seller/collectors/{api.user_id}/pos/POS1/qrs"
    qr_data = api.call("POST", path, BODY | {"external_reference": reference}).json()["qr_data"]
    return api.pay(qr_data=qr_data).json()


def causes(response) -> list[int]:
    return [cause["code"] for cause in response.json()["cause"]]


def test_merchant_order_get_and_search(api):
    paid = paid_legacy(api)
    paid_legacy(api, "sale-2")
    merchant_order = api.call("GET", f"/merchant_orders/{paid['merchant_order_id']}").json()
    assert merchant_order["id"] == paid["merchant_order_id"]
    assert merchant_order["collector"]["id"] == api.user_id
    assert merchant_order["total_amount"] == 20
    assert merchant_order["items"][0]["title"] == "Tea"
    found = api.call("GET", "/merchant_orders/search?external_reference=sale-1").json()
    assert found["total"] == 1
    assert found["next_offset"] is None
    assert [row["id"] for row in found["elements"]] == [paid["merchant_order_id"]]
    first_page = api.call("GET", "/merchant_orders/search?limit=1").json()
    assert (first_page["total"], first_page["next_offset"]) == (2, 1)


def test_merchant_order_errors(api):
    paid = paid_legacy(api)
    path = f"/merchant_orders/{paid['merchant_order_id']}"
    assert api.call("GET", path, token=seller_access_token("MLB")).status_code == 404
    unauthorized = api.call("GET", path, token=False)
    assert (unauthorized.status_code, unauthorized.json()["error"]) == (401, "invalid_token")
    assert api.call("GET", "/merchant_orders/nope").status_code == 404


def test_payment_get_and_unknown(api):
    paid = paid_legacy(api)
    payment = api.call("GET", f"/v1/payments/{paid['payment_id']}").json()
    assert payment["id"] == paid["payment_id"]
    assert payment["transaction_amount"] == 20
    assert payment["external_reference"] == "sale-1"
    assert payment["collector_id"] == api.user_id
    assert payment["currency_id"] == "ARS"
    missing = api.call("GET", "/v1/payments/999999")
    assert (missing.status_code, causes(missing)) == (404, [2000])


def test_a_v1_payment_is_readable_by_its_reference_id(api):
    order = api.order("POS1")
    api.pay(qr_data=order["type_response"]["qr_data"])
    paid = api.call("GET", f"/v1/orders/{order['id']}").json()
    reference_id = paid["transactions"]["payments"][0]["reference_id"]
    payment = api.call("GET", f"/v1/payments/{reference_id}").json()
    assert payment["status"] == "approved"
    assert payment["order"] == {"id": order["id"], "type": "mp_order"}


def test_an_unpaid_v1_payment_is_not_visible(api):
    api.order("POS1")
    unpaid = Payment.objects.get()
    assert api.call("GET", f"/v1/payments/{unpaid.pk}").status_code == 404


def test_partial_then_total_refund_of_a_legacy_payment(api):
    paid = paid_legacy(api)
    path = f"/v1/payments/{paid['payment_id']}/refunds"
    missing_key = api.call("POST", path, {})
    assert (missing_key.status_code, causes(missing_key)) == (400, [4292])
    partial = api.call("POST", path, {"amount": 5}, key="r1")
    assert partial.status_code == 201
    assert (partial.json()["amount"], partial.json()["status"]) == (5, "in_process")
    assert api.call("POST", path, {"amount": 5}, key="r1").json() == partial.json()
    # In process until settled: the next read settles it (refund_delay_seconds 0).
    payment = api.call("GET", f"/v1/payments/{paid['payment_id']}").json()
    assert (payment["status"], payment["transaction_amount_refunded"]) == ("approved", 5)
    merchant_order = api.call("GET", f"/merchant_orders/{paid['merchant_order_id']}").json()
    assert (merchant_order["refunded_amount"], merchant_order["order_status"]) == (
        5,
        "partially_reverted",
    )
    assert causes(api.call("POST", path, {"amount": 16}, key="r2")) == [2085]
    rest = api.call("POST", path, {}, key="r3")
    assert rest.json()["amount"] == 15
    payment = api.call("GET", f"/v1/payments/{paid['payment_id']}").json()
    assert payment["status"] == "refunded"
    assert [refund["amount"] for refund in payment["refunds"]] == [5, 15]
    assert causes(api.call("POST", path, {}, key="r4")) == [2063]
    topics = list(Event.objects.filter(kind=Event.Kind.IPN).values_list("topic", flat=True))
    assert topics == ["merchant_order", "payment"] * 3  # paid, refunded 5, refunded 15


@pytest.mark.parametrize(("amount", "code"), [("five", 4041), (0, 4040), (-1, 4040)])
def test_refund_amount_errors(api, amount, code):
    paid = paid_legacy(api)
    response = api.call(
        "POST", f"/v1/payments/{paid['payment_id']}/refunds", {"amount": amount}, key="r"
    )
    assert (response.status_code, causes(response)) == (400, [code])


def test_refunding_a_v1_payment_refunds_its_order(api):
    order = api.order("POS1")
    api.pay(qr_data=order["type_response"]["qr_data"])
    payment_id = Payment.objects.get().pk
    assert api.call("POST", f"/v1/payments/{payment_id}/refunds", {}, key="r").status_code == 201
    refunded = api.call("GET", f"/v1/orders/{order['id']}").json()
    assert refunded["status"] == "refunded"
    actions = Event.objects.filter(resource_id=order["id"]).values_list("action", flat=True)
    assert list(actions) == ["order.processed", "order.refunded"]
