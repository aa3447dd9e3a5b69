"""The buyer wallet: the JSON endpoint and the HTML page pay what a QR shows."""

from datetime import timedelta

import pytest

from sandbox.models import Order
from tests.sandbox.api_helpers import BUYER_IDS, Api, later

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    api = Api(client)
    api.pos("POS1")
    return api


def static_order(api: Api, key: str = "static") -> dict:
    return api.order("POS1", key=key, config={"qr": {"external_pos_id": "POS1", "mode": "static"}})


def test_pay_a_dynamic_qr_data(api):
    order = api.order("POS1")
    response = api.pay(qr_data=order["type_response"]["qr_data"], payment_method_id="master")
    assert response.status_code == 200
    receipt = response.json()
    assert receipt["order_id"] == order["id"]
    assert receipt["transaction_id"] == order["transactions"]["payments"][0]["id"]
    assert (receipt["status"], receipt["amount"]) == ("approved", "50.00")
    assert receipt["buyer_user_id"] == BUYER_IDS["MLA"]
    assert receipt["payment_method_id"] == "master"


def test_pay_a_static_order_by_pos_or_by_its_pasted_qr_code(api):
    order = static_order(api)
    by_pos = api.pay(user_id=str(api.user_id), external_pos_id="POS1")
    assert by_pos.json()["order_id"] == order["id"]
    second = static_order(api, key="second")
    pos = api.call("GET", "/pos?external_id=POS1").json()["results"][0]
    assert api.pay(qr_data=pos["qr_code"]).json()["order_id"] == second["id"]


def test_paying_twice_expired_or_canceled_is_refused(api):
    paid = api.order("POS1", key="a")
    api.pay(qr_data=paid["type_response"]["qr_data"])
    again = api.pay(qr_data=paid["type_response"]["qr_data"])
    assert (again.status_code, again.json()["error"]) == (409, "order_not_payable")
    assert "processed" in again.json()["message"]

    canceled = api.order("POS1", key="b")
    api.call("POST", f"/v1/orders/{canceled['id']}/cancel", key="c")
    assert api.pay(qr_data=canceled["type_response"]["qr_data"]).status_code == 409

    expiring = api.order("POS1", key="d")
    with later(timedelta(minutes=16)):
        expired = api.pay(qr_data=expiring["type_response"]["qr_data"])
    assert (expired.status_code, expired.json()["error"]) == (409, "order_not_payable")
    assert Order.objects.get(order_id=expiring["id"]).status == "expired"


def test_a_pos_without_fixed_amount_takes_the_buyers_amount(api):
    api.pos("OPEN", fixed_amount=False)
    needs_amount = api.pay(user_id=str(api.user_id), external_pos_id="OPEN")
    assert needs_amount.json()["error"] == "invalid_amount"
    paid = api.pay(user_id=str(api.user_id), external_pos_id="OPEN", amount="12.30").json()
    assert paid["amount"] == "12.30"
    assert paid["order_id"] is None
    merchant_order = api.call("GET", f"/merchant_orders/{paid['merchant_order_id']}").json()
    assert merchant_order["order_status"] == "paid"


def test_a_pos_with_fixed_amount_and_no_order_has_nothing_to_pay(api):
    response = api.pay(user_id=str(api.user_id), external_pos_id="POS1", amount="10.00")
    assert (response.status_code, response.json()["error"]) == (404, "no_order")


@pytest.mark.parametrize(
    ("purchase", "error"),
    [
        ({"qr_data": "000201garbage"}, "invalid_qr_data"),
        ({}, "bad_request"),
        ({"payment_method_id": "pix"}, "invalid_payment_method"),  # Brazil only
        ({"buyer_user_id": str(BUYER_IDS["MLB"])}, "invalid_buyer"),
        ({"amount": "5.00"}, "fixed_amount"),  # the order sets the amount
    ],
)
def test_wallet_errors(api, purchase, error):
    order = api.order("POS1")
    if purchase and "qr_data" not in purchase:
        purchase["qr_data"] = order["type_response"]["qr_data"]
    response = api.pay(**purchase)
    assert response.status_code in (400, 404)
    assert response.json()["error"] == error


def test_pix_pays_in_brazil(client):
    brazil = Api(client, "MLB")
    brazil.pos("POS1")
    order = brazil.order("POS1")
    paid = brazil.pay(qr_data=order["type_response"]["qr_data"], payment_method_id="pix")
    assert paid.json()["payment_method_id"] == "pix"


def test_the_wallet_page_lists_the_pos_and_pays(api, client):
    page = client.get("/sandbox/wallet/")
    assert page.status_code == 200
    assert b"POS1" in page.content
    order = api.order("POS1")
    paid = client.post(
        "/sandbox/wallet/",
        {"qr_data": order["type_response"]["qr_data"], "payment_method_id": "visa"},
    )
    assert paid.status_code == 200
    assert b"Paid 50.00 ARS" in paid.content
    refused = client.post("/sandbox/wallet/", {"qr_data": order["type_response"]["qr_data"]})
    assert refused.status_code == 409
    assert b"order_not_payable" in refused.content
