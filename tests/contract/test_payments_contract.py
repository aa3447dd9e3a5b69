"""Contract: merchant orders and payments (api.md §7, §8) through ``mpapi`` against the sandbox.

A legacy order is paid in the sandbox wallet; its merchant order is then found by
``external_reference``, read, and its payment read and refunded (partially, then totally), with
the payments API's numeric error codes parsed into ``APIError.codes``.
"""

import json
from decimal import Decimal

import pytest

from mpapi import BadRequest, Conflict, MercadoPagoClient, NotFound, Unauthorized
from mpapi.instore import InstoreItem, InstoreOrderRequest
from mpapi.orders import OrderCreate
from mpapi.payments import MerchantOrder, Payment
from mpapi.stores import Location, PosCreate, StoreRequest
from sandbox import models as sandbox_models
from tests.contract.conftest import (
    BR_SELLER_ID,
    BR_SELLER_TOKEN,
    SELLER_ID,
    SELLER_TOKEN,
)
from tests.sandbox.api_helpers import BUYER_IDS, COORDINATES

BAD_TOKEN = "APP_USR-0000000000000000-000000-not-a-real-token-1"
UNKNOWN_ID = 999999999


def make_pos(mp: MercadoPagoClient, token: str = SELLER_TOKEN, user_id: int = SELLER_ID) -> int:
    """Store ``STORE1`` with POS ``POS1`` of an Argentine or Brazilian seller; the POS id."""
    site = "MLA" if user_id == SELLER_ID else "MLB"
    latitude, longitude = COORDINATES[site]
    location = Location(
        street_name="Main street",
        street_number="123",
        city_name="Capital",
        state_name="Capital",
        latitude=Decimal(str(latitude)),
        longitude=Decimal(str(longitude)),
    )
    store = mp.create_store(token, user_id, StoreRequest("Main store", "STORE1", location))
    return mp.create_pos(token, PosCreate("Checkout 1", "POS1", store.id, "STORE1")).id


def legacy_order(reference: str, currency: str = "ARS") -> InstoreOrderRequest:
    return InstoreOrderRequest(
        external_reference=reference,
        title="Purchase",
        total_amount=Decimal("20"),
        currency=currency,
        items=(InstoreItem("Tea", Decimal("10"), 2),),
        notification_url="https://platform.example/ipn",
    )


def pay(client, qr_data: str, **purchase) -> dict:
    response = client.post(
        "/sandbox/wallet/pay",
        json.dumps({"qr_data": qr_data} | purchase),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def paid_legacy(mp, client, reference: str = "sale-1", **purchase) -> dict:
    """A dynamic legacy order of 20, paid in the wallet; the wallet's receipt."""
    qr = mp.create_dynamic_qr(
        SELLER_TOKEN, user_id=SELLER_ID, external_pos_id="POS1", order=legacy_order(reference)
    )
    return pay(client, qr.qr_data, **purchase)


@pytest.fixture
def pos_id(mp) -> int:
    return make_pos(mp)


@pytest.fixture
def receipt(mp, client, pos_id) -> dict:
    return paid_legacy(mp, client, payment_method_id="visa")


_KEYS = iter(range(10**9))


def key() -> str:
    return f"refund-key-{next(_KEYS)}"


# Merchant orders -------------------------------------------------------------------------------


def test_search_merchant_orders_by_external_reference(mp, client, pos_id, receipt):
    paid_legacy(mp, client, "sale-2")
    found = mp.search_merchant_orders(SELLER_TOKEN, external_reference="sale-1")
    assert (found.total, found.next_offset) == (1, None)
    [merchant_order] = found.results
    assert isinstance(merchant_order, MerchantOrder)
    assert merchant_order.id == receipt["merchant_order_id"]
    assert (merchant_order.status, merchant_order.order_status) == ("closed", "paid")
    assert merchant_order.external_reference == "sale-1"
    assert merchant_order.total_amount == merchant_order.paid_amount == Decimal("20")
    assert merchant_order.refunded_amount == Decimal("0")
    [payment] = merchant_order.payments
    assert (payment.id, payment.status) == (receipt["payment_id"], "approved")
    assert payment.status_detail == "accredited"
    assert payment.transaction_amount == payment.total_paid_amount == Decimal("20")
    assert payment.date_approved is not None
    assert payment.date_approved.tzinfo is not None
    assert merchant_order.raw["collector"]["id"] == SELLER_ID
    assert merchant_order.raw["notification_url"] == "https://platform.example/ipn"
    assert merchant_order.date_created is not None

    assert mp.search_merchant_orders(SELLER_TOKEN, external_reference="nothing").results == ()


def test_search_merchant_orders_pages(mp, client, pos_id):
    ids = [paid_legacy(mp, client, "same")["merchant_order_id"] for _ in range(3)]
    first = mp.search_merchant_orders(SELLER_TOKEN, external_reference="same", limit=2)
    assert ([row.id for row in first.results], first.total, first.next_offset) == (ids[:2], 3, 2)
    rest = mp.search_merchant_orders(
        SELLER_TOKEN, external_reference="same", limit=2, offset=first.next_offset
    )
    assert ([row.id for row in rest.results], rest.next_offset) == (ids[2:], None)
    with pytest.raises(BadRequest) as caught:
        mp.search_merchant_orders(SELLER_TOKEN, external_reference="same", limit=0)
    assert (caught.value.status, caught.value.code) == (400, "invalid_format")


def test_get_merchant_order(mp, receipt):
    merchant_order = mp.get_merchant_order(SELLER_TOKEN, receipt["merchant_order_id"])
    found = mp.search_merchant_orders(SELLER_TOKEN, external_reference="sale-1")
    assert found.results == (merchant_order,)
    assert merchant_order.raw["items"][0]["title"] == "Tea"
    assert merchant_order.raw["payer"]["id"] == BUYER_IDS["MLA"]


def test_merchant_order_errors(mp, pos_id, receipt):
    mo_id = receipt["merchant_order_id"]
    for token, merchant_order_id in ((SELLER_TOKEN, UNKNOWN_ID), (BR_SELLER_TOKEN, mo_id)):
        with pytest.raises(NotFound) as caught:
            mp.get_merchant_order(token, merchant_order_id)
        assert (caught.value.status, caught.value.code) == (404, "not_found")
        assert str(merchant_order_id) in caught.value.message
    assert mp.search_merchant_orders(BR_SELLER_TOKEN, external_reference="sale-1").total == 0
    for call in (
        lambda: mp.get_merchant_order(BAD_TOKEN, mo_id),
        lambda: mp.search_merchant_orders(BAD_TOKEN, external_reference="sale-1"),
    ):
        with pytest.raises(Unauthorized) as caught:
            call()
        assert (caught.value.status, caught.value.code) == (401, "invalid_token")


# Payments --------------------------------------------------------------------------------------


def test_get_payment(mp, pos_id, receipt):
    payment = mp.get_payment(SELLER_TOKEN, receipt["payment_id"])
    assert isinstance(payment, Payment)
    assert payment.id == receipt["payment_id"]
    assert (payment.status, payment.status_detail) == ("approved", "accredited")
    assert payment.external_reference == "sale-1"
    assert payment.transaction_amount == Decimal("20")
    assert payment.transaction_amount_refunded == Decimal("0")
    assert payment.currency_id == "ARS"
    assert (payment.payment_method_id, payment.payment_type_id) == ("visa", "credit_card")
    assert payment.merchant_order_id == receipt["merchant_order_id"]
    assert payment.collector_id == SELLER_ID
    assert payment.pos_id == str(pos_id)
    assert payment.store_id is not None
    assert payment.store_id.isdigit()
    assert payment.date_approved is not None
    assert payment.date_created is not None


def test_payment_errors(mp, pos_id, receipt):
    for token, payment_id in ((SELLER_TOKEN, UNKNOWN_ID), (BR_SELLER_TOKEN, receipt["payment_id"])):
        with pytest.raises(NotFound) as caught:
            mp.get_payment(token, payment_id)
        assert (caught.value.status, caught.value.codes) == (404, ("not_found", "2000"))
        assert caught.value.message == "Payment not found"
        assert caught.value.details == ("Payment not found",)
    with pytest.raises(Unauthorized) as caught:
        mp.get_payment(BAD_TOKEN, receipt["payment_id"])
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")


def test_an_unpaid_orders_api_payment_is_not_found(mp, pos_id):
    mp.create_order(
        SELLER_TOKEN,
        OrderCreate("v1-sale", "POS1", Decimal("20.00"), "ARS", mode="dynamic"),
        idempotency_key=key(),
    )
    unpaid = sandbox_models.Payment.objects.get()
    with pytest.raises(NotFound) as caught:
        mp.get_payment(SELLER_TOKEN, unpaid.pk)
    assert "2000" in caught.value.codes
    with pytest.raises(NotFound) as caught:
        mp.refund_payment(SELLER_TOKEN, unpaid.pk, idempotency_key=key())
    assert "2000" in caught.value.codes


# Refunds ---------------------------------------------------------------------------------------


def test_partial_then_total_refund(mp, receipt):
    payment_id = receipt["payment_id"]
    partial = mp.refund_payment_partially(
        SELLER_TOKEN, payment_id, Decimal("5"), currency="ARS", idempotency_key=key()
    )
    assert (partial.payment_id, partial.amount, partial.status) == (
        payment_id,
        Decimal("5"),
        "in_process",
    )
    assert partial.date_created is not None
    # The next read settles it (the default refund_delay_seconds, 0).
    payment = mp.get_payment(SELLER_TOKEN, payment_id)
    assert (payment.status, payment.status_detail) == ("approved", "partially_refunded")
    assert payment.transaction_amount_refunded == Decimal("5")
    merchant_order = mp.get_merchant_order(SELLER_TOKEN, receipt["merchant_order_id"])
    assert (merchant_order.order_status, merchant_order.refunded_amount) == (
        "partially_reverted",
        Decimal("5"),
    )
    assert merchant_order.payments[0].amount_refunded == Decimal("5")

    second = mp.refund_payment_partially(
        SELLER_TOKEN, payment_id, Decimal("2.50"), currency="ARS", idempotency_key=key()
    )
    assert second.amount == Decimal("2.5")
    rest = mp.refund_payment(SELLER_TOKEN, payment_id, idempotency_key=key())
    assert rest.amount == Decimal("12.5")
    assert len({partial.id, second.id, rest.id}) == 3
    payment = mp.get_payment(SELLER_TOKEN, payment_id)
    assert (payment.status, payment.status_detail) == ("refunded", "refunded")
    assert payment.transaction_amount_refunded == Decimal("20")
    assert [refund["amount"] for refund in payment.raw["refunds"]] == [
        5,
        Decimal("2.5"),
        Decimal("12.5"),
    ]
    merchant_order = mp.get_merchant_order(SELLER_TOKEN, receipt["merchant_order_id"])
    assert (merchant_order.order_status, merchant_order.status) == ("reverted", "closed")


def test_over_refund(mp, receipt):
    payment_id = receipt["payment_id"]
    mp.refund_payment_partially(
        SELLER_TOKEN, payment_id, Decimal("15"), currency="ARS", idempotency_key=key()
    )
    with pytest.raises(BadRequest) as caught:
        mp.refund_payment_partially(
            SELLER_TOKEN, payment_id, Decimal("5.01"), currency="ARS", idempotency_key=key()
        )
    error = caught.value
    assert (error.status, error.codes) == (400, ("bad_request", "2085"))
    assert "5" in error.message
    assert mp.get_payment(SELLER_TOKEN, payment_id).transaction_amount_refunded == Decimal("15")


def test_refund_in_the_wrong_state(mp, receipt):
    payment_id = receipt["payment_id"]
    mp.refund_payment(SELLER_TOKEN, payment_id, idempotency_key=key())
    for call in (
        lambda: mp.refund_payment(SELLER_TOKEN, payment_id, idempotency_key=key()),
        lambda: mp.refund_payment_partially(
            SELLER_TOKEN, payment_id, Decimal("1"), currency="ARS", idempotency_key=key()
        ),
    ):
        with pytest.raises(BadRequest) as caught:
            call()
        assert (caught.value.status, caught.value.codes) == (400, ("bad_request", "2063"))
        assert "refund not allowed" in caught.value.message


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1")])
def test_refund_amount_must_be_positive(mp, receipt, amount):
    with pytest.raises(BadRequest) as caught:
        mp.refund_payment_partially(
            SELLER_TOKEN, receipt["payment_id"], amount, currency="ARS", idempotency_key=key()
        )
    assert (caught.value.status, caught.value.codes) == (400, ("bad_request", "4040"))
    assert caught.value.message == "amount must be positive"


def test_refund_of_an_unknown_or_someone_elses_payment(mp, pos_id, receipt):
    for token, payment_id in ((SELLER_TOKEN, UNKNOWN_ID), (BR_SELLER_TOKEN, receipt["payment_id"])):
        with pytest.raises(NotFound) as caught:
            mp.refund_payment(token, payment_id, idempotency_key=key())
        assert (caught.value.status, caught.value.codes) == (404, ("not_found", "2000"))
    with pytest.raises(Unauthorized) as caught:
        mp.refund_payment(BAD_TOKEN, receipt["payment_id"], idempotency_key=key())
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    assert mp.get_payment(SELLER_TOKEN, receipt["payment_id"]).status == "approved"


def test_mpapi_refuses_refunds_it_cannot_send(mp, calls, receipt):
    """4041 (amount not numeric) and 4292 (no X-Idempotency-Key) cannot be reached through
    ``mpapi``: it takes Decimal amounts only and requires a valid key."""
    calls.clear()
    payment_id = receipt["payment_id"]
    with pytest.raises(ValueError, match="1 to 128 characters"):
        mp.refund_payment(SELLER_TOKEN, payment_id, idempotency_key="")
    with pytest.raises(ValueError, match="more decimals than ARS allows"):
        mp.refund_payment_partially(
            SELLER_TOKEN, payment_id, Decimal("1.005"), currency="ARS", idempotency_key=key()
        )
    with pytest.raises(TypeError, match="must be Decimal"):
        mp.refund_payment_partially(
            SELLER_TOKEN, payment_id, "5", currency="ARS", idempotency_key=key()
        )
    assert calls == []


# Idempotency of refunds ------------------------------------------------------------------------


def test_same_key_same_refund_answers_the_first_refund(mp, receipt):
    payment_id = receipt["payment_id"]
    same = key()
    first = mp.refund_payment_partially(
        SELLER_TOKEN, payment_id, Decimal("5"), currency="ARS", idempotency_key=same
    )
    again = mp.refund_payment_partially(
        SELLER_TOKEN, payment_id, Decimal("5"), currency="ARS", idempotency_key=same
    )
    assert again == first
    payment = mp.get_payment(SELLER_TOKEN, payment_id)
    assert payment.transaction_amount_refunded == Decimal("5")
    assert len(payment.raw["refunds"]) == 1


def test_same_key_other_refund_is_a_conflict(mp, receipt):
    payment_id = receipt["payment_id"]
    same = key()
    mp.refund_payment_partially(
        SELLER_TOKEN, payment_id, Decimal("5"), currency="ARS", idempotency_key=same
    )
    for call in (
        lambda: mp.refund_payment_partially(
            SELLER_TOKEN, payment_id, Decimal("6"), currency="ARS", idempotency_key=same
        ),
        lambda: mp.refund_payment(SELLER_TOKEN, payment_id, idempotency_key=same),
    ):
        with pytest.raises(Conflict) as caught:
            call()
        assert (caught.value.status, caught.value.code) == (409, "idempotency_key_already_used")
    assert mp.get_payment(SELLER_TOKEN, payment_id).transaction_amount_refunded == Decimal("5")


def test_a_failed_refund_does_not_use_up_its_key(mp, receipt):
    payment_id = receipt["payment_id"]
    same = key()
    with pytest.raises(BadRequest):
        mp.refund_payment_partially(
            SELLER_TOKEN, payment_id, Decimal("21"), currency="ARS", idempotency_key=same
        )
    refund = mp.refund_payment_partially(
        SELLER_TOKEN, payment_id, Decimal("20"), currency="ARS", idempotency_key=same
    )
    assert refund.amount == Decimal("20")


# Orders API payments ---------------------------------------------------------------------------


def test_refunding_an_orders_api_payment_refunds_its_order(mp, client, pos_id):
    order = mp.create_order(
        SELLER_TOKEN,
        OrderCreate("v1-sale", "POS1", Decimal("20.00"), "ARS", mode="dynamic"),
        idempotency_key=key(),
    )
    pay(client, order.qr_data)
    paid = mp.get_order(SELLER_TOKEN, order.id)
    payment = mp.get_payment(SELLER_TOKEN, int(paid.payments[0].reference_id))
    assert payment.raw["order"] == {"id": order.id, "type": "mp_order"}
    assert payment.merchant_order_id is None
    assert (payment.status, payment.transaction_amount) == ("approved", Decimal("20"))
    mp.refund_payment_partially(
        SELLER_TOKEN, payment.id, Decimal("8"), currency="ARS", idempotency_key=key()
    )
    assert mp.get_order(SELLER_TOKEN, order.id).status_detail == "partially_refunded"
    mp.refund_payment(SELLER_TOKEN, payment.id, idempotency_key=key())
    refunded = mp.get_order(SELLER_TOKEN, order.id)
    assert (refunded.status, refunded.payments[0].refunded_amount) == ("refunded", Decimal("20.00"))
    assert [refund.amount for refund in refunded.refunds] == [Decimal("8.00"), Decimal("12.00")]


def test_a_brazilian_payment_in_reais(mp, client):
    make_pos(mp, BR_SELLER_TOKEN, BR_SELLER_ID)
    qr = mp.create_dynamic_qr(
        BR_SELLER_TOKEN,
        user_id=BR_SELLER_ID,
        external_pos_id="POS1",
        order=legacy_order("br-1", "BRL"),
    )
    receipt = pay(client, qr.qr_data, payment_method_id="pix")
    payment = mp.get_payment(BR_SELLER_TOKEN, receipt["payment_id"])
    assert (payment.currency_id, payment.payment_method_id) == ("BRL", "pix")
    assert payment.payment_type_id == "bank_transfer"
    refund = mp.refund_payment_partially(
        BR_SELLER_TOKEN, payment.id, Decimal("0.50"), currency="BRL", idempotency_key=key()
    )
    assert refund.amount == Decimal("0.5")
