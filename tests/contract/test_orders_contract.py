"""Contract: the Orders API (``/v1/orders``, api.md §3) through ``mpapi`` against the sandbox.

Orders are paid as a buyer would, through the sandbox wallet (``POST /sandbox/wallet/pay``). Every
error is asserted as ``mpapi`` parses it: exception class, HTTP status, code and message.
"""

import json
import re
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mpapi import BadRequest, Conflict, MercadoPagoClient, NotFound, Unauthorized, emvco
from mpapi.orders import Order, OrderCreate, OrderItem, RefundTransaction
from mpapi.stores import Location, PosCreate, StoreRequest
from sandbox import models as sandbox_models
from sandbox.seed import INTEGRATOR_USER_ID, seller_access_token
from tests.contract.conftest import (
    BR_SELLER_ID,
    BR_SELLER_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    SELLER_ID,
    SELLER_TOKEN,
)
from tests.sandbox.api_helpers import COORDINATES

CL_SELLER_ID = 100000004
CL_SELLER_TOKEN = seller_access_token("MLC")
REDIRECT_URI = "https://platform.example/mercadopago/callback"
BAD_TOKEN = "APP_USR-0000000000000000-000000-not-a-real-token-1"
UNKNOWN_ORDER_ID = "ORD" + "0" * 26
_KEYS = iter(range(10**9))


def key() -> str:
    """A fresh idempotency key."""
    return f"contract-key-{next(_KEYS)}"


def is_id(prefix: str, value: str | None) -> bool:
    return value is not None and re.fullmatch(f"{prefix}[0-9A-Z]{{26}}", value) is not None


def make_pos(
    mp: MercadoPagoClient, token: str, user_id: int, site: str, external_id: str = "POS1"
) -> str:
    """A store and a POS of the seller, created through ``mpapi``; the POS's external id."""
    latitude, longitude = COORDINATES[site]
    store = mp.create_store(
        token,
        user_id,
        StoreRequest(
            name="Main store",
            external_id=f"S{external_id}",
            location=Location(
                street_name="Main street",
                street_number="123",
                city_name="Capital",
                state_name="Capital",
                latitude=Decimal(str(latitude)),
                longitude=Decimal(str(longitude)),
            ),
        ),
    )
    pos = PosCreate(
        name="Checkout 1",
        external_id=external_id,
        store_id=store.id,
        external_store_id=store.external_id,
    )
    return mp.create_pos(token, pos).external_id


def new_order(**fields) -> OrderCreate:
    values = {
        "external_reference": "sale-1",
        "external_pos_id": "POS1",
        "total_amount": Decimal("50.00"),
        "currency": "ARS",
        "mode": "dynamic",
    }
    return OrderCreate(**(values | fields))


def pay(client, **purchase) -> dict:
    """Pay as the test buyer in the sandbox wallet."""
    response = client.post(
        "/sandbox/wallet/pay", json.dumps(purchase), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def oauth_token(mp: MercadoPagoClient, client, user_id: int = SELLER_ID) -> str:
    """A seller access token obtained through OAuth (the consent given without the page)."""
    response = client.post(
        "/sandbox/_control/oauth/authorize",
        {"client_id": CLIENT_ID, "user_id": user_id, "redirect_uri": REDIRECT_URI},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    token = mp.exchange_code(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        code=response.json()["code"],
        redirect_uri=REDIRECT_URI,
    )
    return token.access_token


@pytest.fixture
def pos(mp) -> str:
    return make_pos(mp, SELLER_TOKEN, SELLER_ID, "MLA")


@pytest.fixture
def paid(mp, client, pos) -> Order:
    """A dynamic order of 50.00, paid."""
    order = mp.create_order(SELLER_TOKEN, new_order(), idempotency_key=key())
    pay(client, qr_data=order.qr_data)
    return mp.get_order(SELLER_TOKEN, order.id)


# Create, read --------------------------------------------------------------------------------


def test_create_dynamic_order(mp, pos):
    sponsor = str(INTEGRATOR_USER_ID)
    request = new_order(
        description="Two coffees",
        expiration_time=timedelta(minutes=20),
        items=(OrderItem("Coffee", Decimal("25.00"), 2),),
        sponsor_id=sponsor,
    )
    order = mp.create_order(SELLER_TOKEN, request, idempotency_key=key())
    assert is_id("ORD", order.id)
    assert (order.status, order.status_detail) == ("created", "created")
    assert order.total_amount == Decimal("50.00")
    assert isinstance(order.total_amount, Decimal)
    assert order.total_paid_amount is None
    assert (order.currency, order.country_code, order.user_id) == ("ARS", "ARG", str(SELLER_ID))
    assert (order.external_reference, order.description) == ("sale-1", "Two coffees")
    assert order.expiration_time == "PT20M"
    assert (order.external_pos_id, order.mode) == ("POS1", "dynamic")
    assert order.marketplace_fee is None
    assert order.raw["integration_data"]["sponsor"] == {"id": sponsor}
    assert order.raw["integration_data"]["application_id"] == CLIENT_ID
    assert order.created_date is not None
    assert order.created_date.tzinfo is not None
    assert order.last_updated_date == order.created_date
    [payment] = order.payments
    assert is_id("PAY", payment.id)
    assert payment.amount == Decimal("50.00")
    assert (payment.status, payment.status_detail) == ("created", "ready_to_process")
    assert payment.paid_amount is None
    assert order.refunds == ()
    objects = {obj.tag: obj for obj in emvco.verify(order.qr_data)}
    assert objects["53"].value == "032"  # ARS
    assert objects["58"].value == "AR"


def test_create_hybrid_order_with_qr_data(mp, pos):
    request = new_order(mode="hybrid", expiration_time=timedelta(minutes=30))
    order = mp.create_order(SELLER_TOKEN, request, idempotency_key=key())
    assert order.mode == "hybrid"
    assert order.expiration_time == "PT30M"  # the dynamic part honours the value
    assert emvco.is_valid(order.qr_data)
    assert order.status == "created"


def test_create_static_order_without_qr_data_capped_at_ten_minutes(mp, pos):
    request = new_order(mode="static", expiration_time=timedelta(minutes=30))
    order = mp.create_order(SELLER_TOKEN, request, idempotency_key=key())
    assert order.mode == "static"
    assert order.qr_data is None
    assert "type_response" not in order.raw
    assert order.expiration_time == "PT10M"


def test_create_static_order_defaults_to_ten_minutes_and_dynamic_to_fifteen(mp, pos):
    static = mp.create_order(SELLER_TOKEN, new_order(mode="static"), idempotency_key=key())
    dynamic = mp.create_order(SELLER_TOKEN, new_order(), idempotency_key=key())
    assert (static.expiration_time, dynamic.expiration_time) == ("PT10M", "PT15M")


def test_get_order_answers_what_create_answered(mp, pos):
    created = mp.create_order(SELLER_TOKEN, new_order(), idempotency_key=key())
    fetched = mp.get_order(SELLER_TOKEN, created.id)
    assert fetched == created


def test_a_paid_order_is_processed(mp, client, pos):
    order = mp.create_order(SELLER_TOKEN, new_order(), idempotency_key=key())
    receipt = pay(client, qr_data=order.qr_data, payment_method_id="visa")
    assert receipt["order_id"] == order.id
    paid = mp.get_order(SELLER_TOKEN, order.id)
    assert (paid.status, paid.status_detail) == ("processed", "accredited")
    assert paid.total_paid_amount == Decimal("50.00")
    [payment] = paid.payments
    assert (payment.status, payment.status_detail) == ("processed", "accredited")
    assert payment.paid_amount == Decimal("50.00")
    assert payment.refunded_amount == Decimal("0.00")
    assert (payment.payment_method_id, payment.payment_method_type) == ("visa", "credit_card")
    assert payment.reference_id == str(receipt["payment_id"])
    assert paid.last_updated_date >= paid.created_date


def test_a_static_order_is_paid_at_the_pos(mp, client, pos):
    order = mp.create_order(SELLER_TOKEN, new_order(mode="static"), idempotency_key=key())
    pay(client, user_id=SELLER_ID, external_pos_id=pos)
    assert mp.get_order(SELLER_TOKEN, order.id).status == "processed"


def test_whole_amounts_for_clp(mp, client):
    make_pos(mp, CL_SELLER_TOKEN, CL_SELLER_ID, "MLC")
    request = new_order(total_amount=Decimal("5000"), currency="CLP")
    assert request.to_json()["total_amount"] == "5000"
    order = mp.create_order(CL_SELLER_TOKEN, request, idempotency_key=key())
    assert (order.currency, order.country_code) == ("CLP", "CHL")
    assert order.raw["total_amount"] == "5000"
    assert order.total_amount == Decimal("5000")
    assert {obj.tag: obj.value for obj in emvco.verify(order.qr_data)}["53"] == "152"
    with pytest.raises(ValueError, match="more decimals than CLP allows"):
        mp.create_order(
            CL_SELLER_TOKEN,
            new_order(total_amount=Decimal("5000.50"), currency="CLP"),
            idempotency_key=key(),
        )
    pay(client, qr_data=order.qr_data)
    refunded = mp.refund_order_partially(
        CL_SELLER_TOKEN,
        order.id,
        [RefundTransaction(order.payments[0].id, Decimal("1200"))],
        currency="CLP",
        idempotency_key=key(),
    )
    assert refunded.refunds[0].raw["amount"] == "1200"
    settled = mp.get_order(CL_SELLER_TOKEN, order.id)  # a read settles the refund
    assert settled.payments[0].refunded_amount == Decimal("1200")


def test_clp_amount_with_decimals_sent_as_a_string_is_refused_by_the_sandbox(mp):
    """A seller of Chile sending a decimal amount (as ``mpapi`` with ``currency="ARS"`` would)."""
    make_pos(mp, CL_SELLER_TOKEN, CL_SELLER_ID, "MLC", external_id="POSCL")
    request = new_order(external_pos_id="POSCL", total_amount=Decimal("5000.00"))
    with pytest.raises(BadRequest) as caught:
        mp.create_order(CL_SELLER_TOKEN, request, idempotency_key=key())
    assert (caught.value.status, caught.value.code) == (400, "property_value")
    assert "two decimals or none" in caught.value.message


# Marketplace, sponsor --------------------------------------------------------------------------


def test_marketplace_fee_needs_an_oauth_token(mp, client, pos):
    request = new_order(marketplace_fee=Decimal("5.00"))
    with pytest.raises(BadRequest) as caught:
        mp.create_order(SELLER_TOKEN, request, idempotency_key=key())
    assert (caught.value.status, caught.value.code) == (400, "marketplace_not_valid")
    assert caught.value.message == "marketplace_fee needs an OAuth token"
    order = mp.create_order(oauth_token(mp, client), request, idempotency_key=key())
    assert order.marketplace_fee == Decimal("5.00")
    assert order.raw["marketplace_fee"] == "5.00"


@pytest.mark.parametrize("sponsor_id", ["123", str(SELLER_ID), "dev_1234"])
def test_sponsor_must_be_an_integrator(mp, pos, sponsor_id):
    with pytest.raises(BadRequest) as caught:
        mp.create_order(SELLER_TOKEN, new_order(sponsor_id=sponsor_id), idempotency_key=key())
    assert (caught.value.status, caught.value.codes) == (400, ("sponsor_id_not_valid",))
    assert sponsor_id in caught.value.message


# Idempotency -----------------------------------------------------------------------------------


def test_same_key_same_body_answers_the_same_order_once(mp, pos):
    same = key()
    first = mp.create_order(
        SELLER_TOKEN, new_order(external_reference="once"), idempotency_key=same
    )
    again = mp.create_order(
        SELLER_TOKEN, new_order(external_reference="once"), idempotency_key=same
    )
    assert again == first
    found = mp.search_orders(
        SELLER_TOKEN,
        begin_date=timezone.now() - timedelta(hours=1),
        end_date=timezone.now() + timedelta(hours=1),
        external_reference="once",
    )
    assert [order.id for order in found.results] == [first.id]
    assert sandbox_models.Order.objects.filter(external_reference="once").count() == 1


def test_same_key_other_body_is_a_conflict(mp, pos):
    same = key()
    mp.create_order(SELLER_TOKEN, new_order(), idempotency_key=same)
    with pytest.raises(Conflict) as caught:
        mp.create_order(
            SELLER_TOKEN, new_order(total_amount=Decimal("51.00")), idempotency_key=same
        )
    error = caught.value
    assert (error.status, error.codes) == (409, ("idempotency_key_already_used",))
    assert "different request" in error.message
    assert sandbox_models.Order.objects.count() == 1


def test_a_key_is_per_seller(mp, pos):
    make_pos(mp, BR_SELLER_TOKEN, BR_SELLER_ID, "MLB")
    same = key()
    ar = mp.create_order(SELLER_TOKEN, new_order(), idempotency_key=same)
    br = mp.create_order(BR_SELLER_TOKEN, new_order(currency="BRL"), idempotency_key=same)
    assert ar.id != br.id
    assert (ar.currency, br.currency) == ("ARS", "BRL")


@pytest.mark.parametrize("bad_key", ["k" * 129, ""])
def test_mpapi_refuses_an_idempotency_key_mercado_pago_would_refuse(mp, calls, pos, bad_key):
    """``empty_required_header`` and ``invalid_idempotency_key_length`` cannot be reached
    through ``mpapi``: it refuses such a key before sending anything."""
    calls.clear()
    with pytest.raises(ValueError, match="1 to 128 characters"):
        mp.create_order(SELLER_TOKEN, new_order(), idempotency_key=bad_key)
    with pytest.raises(ValueError, match="1 to 128 characters"):
        mp.cancel_order(SELLER_TOKEN, UNKNOWN_ORDER_ID, idempotency_key=bad_key)
    with pytest.raises(ValueError, match="1 to 128 characters"):
        mp.refund_order(SELLER_TOKEN, UNKNOWN_ORDER_ID, idempotency_key=bad_key)
    assert calls == []
    assert sandbox_models.Order.objects.count() == 0


def test_a_key_of_128_characters_is_accepted(mp, pos):
    order = mp.create_order(SELLER_TOKEN, new_order(), idempotency_key="k" * 128)
    assert order.status == "created"


# Cancel ----------------------------------------------------------------------------------------


def test_cancel_a_created_order(mp, pos):
    order = mp.create_order(SELLER_TOKEN, new_order(), idempotency_key=key())
    canceled = mp.cancel_order(SELLER_TOKEN, order.id, idempotency_key=key())
    assert canceled.id == order.id
    assert (canceled.status, canceled.status_detail) == ("canceled", "canceled")
    assert (canceled.payments[0].status, canceled.payments[0].status_detail) == (
        "canceled",
        "canceled_by_api",
    )
    assert mp.get_order(SELLER_TOKEN, order.id).status == "canceled"


def test_cancel_is_idempotent_per_key(mp, pos):
    order = mp.create_order(SELLER_TOKEN, new_order(), idempotency_key=key())
    same = key()
    first = mp.cancel_order(SELLER_TOKEN, order.id, idempotency_key=same)
    assert mp.cancel_order(SELLER_TOKEN, order.id, idempotency_key=same) == first


def test_cancel_in_the_wrong_state_is_a_conflict(mp, client, pos, paid):
    canceled = mp.create_order(SELLER_TOKEN, new_order(), idempotency_key=key())
    mp.cancel_order(SELLER_TOKEN, canceled.id, idempotency_key=key())
    for order_id, status in ((canceled.id, "canceled"), (paid.id, "processed")):
        with pytest.raises(Conflict) as caught:
            mp.cancel_order(SELLER_TOKEN, order_id, idempotency_key=key())
        assert (caught.value.status, caught.value.code) == (409, "cannot_cancel_order")
        assert f"the order is {status}" in caught.value.message


def test_a_canceled_order_cannot_be_paid(mp, client, pos):
    order = mp.create_order(SELLER_TOKEN, new_order(), idempotency_key=key())
    mp.cancel_order(SELLER_TOKEN, order.id, idempotency_key=key())
    response = client.post(
        "/sandbox/wallet/pay",
        json.dumps({"qr_data": order.qr_data}),
        content_type="application/json",
    )
    assert (response.status_code, response.json()["error"]) == (409, "order_not_payable")


# Refund ----------------------------------------------------------------------------------------


def test_total_refund(mp, paid):
    answer = mp.refund_order(SELLER_TOKEN, paid.id, idempotency_key=key())
    assert (answer.status, answer.status_detail) == ("processed", "accredited")
    assert [(r.status, r.amount) for r in answer.refunds] == [("processing", Decimal("50.00"))]
    assert answer.payments[0].refunded_amount == Decimal("0.00")
    refunded = mp.get_order(SELLER_TOKEN, paid.id)  # a read settles the refund
    assert (refunded.status, refunded.status_detail) == ("refunded", "refunded")
    [refund] = refunded.refunds
    assert is_id("REF", refund.id)
    assert refund.transaction_id == paid.payments[0].id
    assert refund.amount == Decimal("50.00")
    assert refund.status == "processed"
    assert refund.reference_id is not None
    assert refund.reference_id.isdigit()
    [payment] = refunded.payments
    assert (payment.status, payment.refunded_amount) == ("refunded", Decimal("50.00"))
    assert mp.get_order(SELLER_TOKEN, paid.id) == refunded


def test_partial_refunds_accumulate_then_exceed(mp, paid):
    pay_id = paid.payments[0].id

    def refund(amount: str) -> Order:
        """The order once the refund is settled (the read after it settles it)."""
        mp.refund_order_partially(
            SELLER_TOKEN,
            paid.id,
            [RefundTransaction(pay_id, Decimal(amount))],
            currency="ARS",
            idempotency_key=key(),
        )
        return mp.get_order(SELLER_TOKEN, paid.id)

    first = refund("10.00")
    assert (first.status, first.status_detail) == ("processed", "partially_refunded")
    assert first.payments[0].refunded_amount == Decimal("10.00")
    assert first.payments[0].status_detail == "partially_refunded"
    second = refund("15.50")
    assert second.status == "processed"
    assert [r.amount for r in second.refunds] == [Decimal("10.00"), Decimal("15.50")]
    assert {r.transaction_id for r in second.refunds} == {pay_id}
    assert len({r.id for r in second.refunds}) == 2
    assert all(is_id("REF", r.id) for r in second.refunds)
    assert second.payments[0].refunded_amount == Decimal("25.50")
    with pytest.raises(BadRequest) as caught:
        refund("24.51")
    assert (caught.value.status, caught.value.codes) == (400, ("refund_amount_exceeds",))
    assert "24.50" in caught.value.message
    assert mp.get_order(SELLER_TOKEN, paid.id) == second
    rest = refund("24.50")
    assert (rest.status, rest.status_detail) == ("refunded", "refunded")
    assert rest.payments[0].refunded_amount == Decimal("50.00")


def test_a_partial_refund_of_an_unknown_transaction(mp, paid):
    with pytest.raises(NotFound) as caught:
        mp.refund_order_partially(
            SELLER_TOKEN,
            paid.id,
            [RefundTransaction("PAY" + "0" * 26, Decimal("1.00"))],
            currency="ARS",
            idempotency_key=key(),
        )
    assert (caught.value.status, caught.value.code) == (404, "transaction_not_found")


def test_a_partial_refund_needs_a_pay_id_and_a_positive_amount(mp, paid):
    for line in (
        RefundTransaction("not-a-pay-id", Decimal("1.00")),
        RefundTransaction(paid.payments[0].id, Decimal("0.00")),
    ):
        with pytest.raises(BadRequest) as caught:
            mp.refund_order_partially(
                SELLER_TOKEN, paid.id, [line], currency="ARS", idempotency_key=key()
            )
        assert (caught.value.status, caught.value.code) == (400, "property_value")
    with pytest.raises(ValueError, match="at least one transaction"):
        mp.refund_order_partially(SELLER_TOKEN, paid.id, [], currency="ARS", idempotency_key=key())


def test_refund_is_idempotent_per_key(mp, paid):
    same = key()
    first = mp.refund_order(SELLER_TOKEN, paid.id, idempotency_key=same)
    assert mp.refund_order(SELLER_TOKEN, paid.id, idempotency_key=same) == first
    assert len(first.refunds) == 1


def test_refund_in_the_wrong_state_is_a_conflict(mp, pos, paid):
    created = mp.create_order(SELLER_TOKEN, new_order(), idempotency_key=key())
    mp.refund_order(SELLER_TOKEN, paid.id, idempotency_key=key())
    for order_id, status in ((created.id, "created"), (paid.id, "refunded")):
        with pytest.raises(Conflict) as caught:
            mp.refund_order(SELLER_TOKEN, order_id, idempotency_key=key())
        assert (caught.value.status, caught.value.code) == (409, "cannot_refund_order")
        assert f"the order is {status}" in caught.value.message
    with pytest.raises(Conflict) as caught:
        mp.refund_order_partially(
            SELLER_TOKEN,
            created.id,
            [RefundTransaction(created.payments[0].id, Decimal("1.00"))],
            currency="ARS",
            idempotency_key=key(),
        )
    assert caught.value.code == "cannot_refund_order"


# Search ----------------------------------------------------------------------------------------


def test_search_filters_and_pages(mp, client, pos):
    now = timezone.now()
    window = {"begin_date": now - timedelta(minutes=5), "end_date": now + timedelta(minutes=5)}
    orders = [
        mp.create_order(SELLER_TOKEN, new_order(external_reference=f"s-{n}"), idempotency_key=key())
        for n in range(3)
    ]
    pay(client, qr_data=orders[1].qr_data)

    everything = mp.search_orders(SELLER_TOKEN, **window)
    assert [order.id for order in everything.results] == [order.id for order in orders]
    assert (everything.total, everything.offset, everything.limit) == (3, 0, 50)
    assert everything.raw["paging"]["total_pages"] == 1

    by_reference = mp.search_orders(SELLER_TOKEN, external_reference="s-2", **window)
    assert [order.id for order in by_reference.results] == [orders[2].id]
    assert by_reference.total == 1

    processed = mp.search_orders(SELLER_TOKEN, status="processed", **window)
    assert [(o.id, o.status) for o in processed.results] == [(orders[1].id, "processed")]
    created = mp.search_orders(SELLER_TOKEN, status="created", **window)
    assert created.total == 2

    first = mp.search_orders(SELLER_TOKEN, page=1, page_size=2, **window)
    second = mp.search_orders(SELLER_TOKEN, page=2, page_size=2, **window)
    assert [o.id for o in first.results + second.results] == [o.id for o in orders]
    assert (first.total, first.offset, first.limit) == (3, 0, 2)
    assert (second.total, second.offset, second.limit) == (3, 2, 2)
    assert first.raw["paging"]["total_pages"] == 2

    before = mp.search_orders(
        SELLER_TOKEN, begin_date=now - timedelta(days=2), end_date=now - timedelta(days=1)
    )
    assert (before.results, before.total) == ((), 0)


def test_search_sees_only_the_sellers_orders(mp, pos):
    make_pos(mp, BR_SELLER_TOKEN, BR_SELLER_ID, "MLB")
    mp.create_order(BR_SELLER_TOKEN, new_order(currency="BRL"), idempotency_key=key())
    now = timezone.now()
    found = mp.search_orders(
        SELLER_TOKEN, begin_date=now - timedelta(hours=1), end_date=now + timedelta(hours=1)
    )
    assert found.total == 0


def test_search_page_size_out_of_range(mp):
    now = timezone.now()
    with pytest.raises(BadRequest) as caught:
        mp.search_orders(SELLER_TOKEN, begin_date=now, end_date=now, page=1, page_size=101)
    assert (caught.value.status, caught.value.code) == (400, "invalid_query_param")
    with pytest.raises(ValueError, match="timezone-aware"):
        mp.search_orders(SELLER_TOKEN, begin_date=datetime(2025, 1, 1), end_date=now)


# Errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("order_id", ["ORD123", "ord" + "0" * 26, "PAY" + "0" * 26, "x"])
def test_invalid_path_param(mp, order_id):
    calls = (
        lambda: mp.get_order(SELLER_TOKEN, order_id),
        lambda: mp.cancel_order(SELLER_TOKEN, order_id, idempotency_key=key()),
        lambda: mp.refund_order(SELLER_TOKEN, order_id, idempotency_key=key()),
    )
    for call in calls:
        with pytest.raises(BadRequest) as caught:
            call()
        assert (caught.value.status, caught.value.codes) == (400, ("invalid_path_param",))
        assert caught.value.message == "order_id must start with ORD followed by 26 characters"


def test_order_not_found(mp):
    calls = (
        lambda: mp.get_order(SELLER_TOKEN, UNKNOWN_ORDER_ID),
        lambda: mp.cancel_order(SELLER_TOKEN, UNKNOWN_ORDER_ID, idempotency_key=key()),
        lambda: mp.refund_order(SELLER_TOKEN, UNKNOWN_ORDER_ID, idempotency_key=key()),
    )
    for call in calls:
        with pytest.raises(NotFound) as caught:
            call()
        assert (caught.value.status, caught.value.codes) == (404, ("order_not_found",))
        assert UNKNOWN_ORDER_ID in caught.value.message


def test_another_sellers_order_is_not_found(mp, pos):
    order = mp.create_order(SELLER_TOKEN, new_order(), idempotency_key=key())
    with pytest.raises(NotFound) as caught:
        mp.get_order(BR_SELLER_TOKEN, order.id)
    assert (caught.value.status, caught.value.code) == (404, "order_not_found")
    with pytest.raises(NotFound):
        mp.cancel_order(BR_SELLER_TOKEN, order.id, idempotency_key=key())
    assert mp.get_order(SELLER_TOKEN, order.id).status == "created"


def test_pos_not_found(mp, pos):
    with pytest.raises(NotFound) as caught:
        mp.create_order(SELLER_TOKEN, new_order(external_pos_id="NOPE"), idempotency_key=key())
    assert (caught.value.status, caught.value.codes) == (404, ("pos_not_found",))
    assert "NOPE" in caught.value.message
    # Another seller's POS is unknown too.
    with pytest.raises(NotFound) as caught:
        mp.create_order(BR_SELLER_TOKEN, new_order(currency="BRL"), idempotency_key=key())
    assert caught.value.code == "pos_not_found"


def test_unauthorized(mp, pos):
    order = mp.create_order(SELLER_TOKEN, new_order(), idempotency_key=key())
    now = timezone.now()
    calls = (
        lambda: mp.create_order(BAD_TOKEN, new_order(), idempotency_key=key()),
        lambda: mp.get_order(BAD_TOKEN, order.id),
        lambda: mp.cancel_order(BAD_TOKEN, order.id, idempotency_key=key()),
        lambda: mp.refund_order(BAD_TOKEN, order.id, idempotency_key=key()),
        lambda: mp.search_orders(BAD_TOKEN, begin_date=now, end_date=now),
    )
    for call in calls:
        with pytest.raises(Unauthorized) as caught:
            call()
        assert (caught.value.status, caught.value.codes) == (401, ("unauthorized",))
        assert caught.value.message == "invalid access token"
        assert BAD_TOKEN not in str(caught.value)
    assert mp.get_order(SELLER_TOKEN, order.id).status == "created"


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        ({"total_amount": Decimal("-5.00")}, "property_value", "two decimals or none"),
        ({"total_amount": Decimal("0")}, "property_value", "positive amount"),
        ({"total_amount": Decimal("1000000000000")}, "property_value", "two decimals or none"),
        (
            {"items": (OrderItem("Coffee", Decimal("20.00"), 2),)},
            "invalid_total_amount",
            "sum of the payments and of the items",
        ),
        ({"expiration_time": timedelta(seconds=29)}, "property_value", "PT30S to PT3600H"),
        ({"expiration_time": timedelta(hours=3601)}, "property_value", "PT30S to PT3600H"),
        ({"external_reference": "bad ref!"}, "property_value", "external_reference"),
        ({"external_reference": "x" * 65}, "property_value", "external_reference"),
        ({"description": "d" * 151}, "property_value", "150 characters"),
    ],
)
def test_validation_errors(mp, pos, fields, code, message):
    with pytest.raises(BadRequest) as caught:
        mp.create_order(SELLER_TOKEN, new_order(**fields), idempotency_key=key())
    error = caught.value
    assert (error.status, error.codes) == (400, (code,))
    assert message in error.message
    assert error.details  # the sandbox explains in errors[].details
    assert sandbox_models.Order.objects.count() == 0


def test_expiration_bounds_are_accepted(mp, pos):
    shortest = mp.create_order(
        SELLER_TOKEN, new_order(expiration_time=timedelta(seconds=30)), idempotency_key=key()
    )
    longest = mp.create_order(
        SELLER_TOKEN, new_order(expiration_time=timedelta(hours=3600)), idempotency_key=key()
    )
    assert (shortest.expiration_time, longest.expiration_time) == ("PT30S", "PT3600H")


def test_mpapi_refuses_amounts_and_durations_it_cannot_write(mp, calls, pos):
    calls.clear()
    with pytest.raises(ValueError, match="more decimals than ARS allows"):
        mp.create_order(
            SELLER_TOKEN, new_order(total_amount=Decimal("10.555")), idempotency_key=key()
        )
    with pytest.raises(ValueError, match="positive whole number of seconds"):
        mp.create_order(
            SELLER_TOKEN, new_order(expiration_time=timedelta(0)), idempotency_key=key()
        )
    with pytest.raises(TypeError, match="must be Decimal"):
        mp.create_order(SELLER_TOKEN, new_order(total_amount=50.0), idempotency_key=key())
    assert calls == []


# Observer --------------------------------------------------------------------------------------


def test_observer_records_calls_without_tokens(mp, client, calls, pos):
    calls.clear()
    order = mp.create_order(SELLER_TOKEN, new_order(), idempotency_key="observed-key")
    [record] = calls
    assert (record.method, record.path, record.status) == ("POST", "/v1/orders", 201)
    assert (record.attempt, record.idempotency_key, record.error) == (1, "observed-key", None)
    assert isinstance(record.duration_ms, float)
    assert record.duration_ms >= 0
    assert record.request_body["external_reference"] == "sale-1"
    assert record.response_body["id"] == order.id

    oauth = oauth_token(mp, client)
    mp.get_order(oauth, order.id)
    with pytest.raises(NotFound):
        mp.get_order(SELLER_TOKEN, UNKNOWN_ORDER_ID)
    with pytest.raises(Unauthorized):
        mp.get_order(BAD_TOKEN, order.id)
    assert [(r.method, r.status) for r in calls[1:]] == [
        ("POST", 200),  # /oauth/token
        ("GET", 200),
        ("GET", 404),
        ("GET", 401),
    ]
    assert calls[-1].path == f"/v1/orders/{order.id}"
    text = repr(calls) + json.dumps([asdict(r) for r in calls], default=str)
    for secret in (SELLER_TOKEN, oauth, BAD_TOKEN, CLIENT_SECRET):
        assert secret not in text
