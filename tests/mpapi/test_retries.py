"""Retries: only requests safe to repeat, same idempotency key each time, backoff with jitter."""

from decimal import Decimal

import httpx
import pytest

from mpapi import (
    BadRequest,
    ClientConfig,
    Conflict,
    NotFound,
    RateLimited,
    ServerError,
    TransportFailure,
)
from mpapi.instore import InstoreOrderRequest
from mpapi.orders import OrderCreate
from mpapi.stores import Location, PosCreate, PosUpdate, StoreRequest
from tests.mpapi.conftest import SELLER_TOKEN

ORDER_ID = "ORD01JQ4S4KY8HWQ6NA5PXB65B3D3"
ORDER = {"id": ORDER_ID, "status": "created"}
NEW_ORDER = OrderCreate(
    external_reference="sale-1",
    external_pos_id="POS1",
    total_amount=Decimal("10.00"),
    currency="BRL",
)


def test_a_get_is_retried_after_a_server_error(client, server, sleeps):
    server.answer(503, text="unavailable")
    server.answer(200, ORDER)

    assert client.get_order(SELLER_TOKEN, ORDER_ID).id == ORDER_ID
    assert len(server.requests) == 2
    assert sleeps == [0.25]  # random() = 0.5 times the first ceiling, 0.5 s


@pytest.mark.parametrize("failure", [httpx.ConnectTimeout, httpx.ReadTimeout, httpx.ConnectError])
def test_a_create_with_an_idempotency_key_is_retried_with_the_same_key(client, server, failure):
    server.fail(failure)
    server.answer(500, {"errors": [{"code": "500", "message": "boom"}]})
    server.answer(201, ORDER)

    order = client.create_order(SELLER_TOKEN, NEW_ORDER, idempotency_key="order-1-create")

    assert order.id == ORDER_ID
    assert [request.headers["X-Idempotency-Key"] for request in server.requests] == [
        "order-1-create"
    ] * 3
    assert len({request.content for request in server.requests}) == 1


def test_retries_back_off_exponentially_with_full_jitter(client, server, sleeps):
    for _ in range(4):
        server.fail(httpx.ConnectError)

    with pytest.raises(TransportFailure) as caught:
        client.cancel_order(SELLER_TOKEN, ORDER_ID, idempotency_key="order-1-cancel")

    assert len(server.requests) == 4  # the first attempt and max_retries = 3
    assert sleeps == [0.25, 0.5, 1.0]  # half of 0.5, 1 and 2 seconds
    assert caught.value.attempts == 4
    assert caught.value.reason == "ConnectError"
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_the_backoff_ceiling_is_capped():
    config = ClientConfig(random=lambda: 1.0)
    assert [config.backoff(retry) for retry in (1, 2, 3, 4, 5, 6, 10)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        8.0,
        8.0,
    ]
    assert ClientConfig(random=lambda: 0.0).backoff(3) == 0.0


def test_retry_after_is_honoured(client, server, sleeps):
    server.answer(
        429, {"message": "slow down", "error": "local_rate_limited"}, headers={"Retry-After": "7"}
    )
    server.answer(200, ORDER)

    client.get_order(SELLER_TOKEN, ORDER_ID)
    assert sleeps == [7.0]


def test_a_retry_after_date_falls_back_to_the_backoff(client, server, sleeps):
    server.answer(429, text="", headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    server.answer(200, ORDER)

    client.get_order(SELLER_TOKEN, ORDER_ID)
    assert sleeps == [0.25]


def test_exhausted_retries_raise_the_last_error(client, server, sleeps):
    for _ in range(4):
        server.answer(429, {"message": "slow down", "error": "local_rate_limited"})

    with pytest.raises(RateLimited):
        client.get_order(SELLER_TOKEN, ORDER_ID)
    assert len(server.requests) == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize(
    ("status", "error_class"), [(400, BadRequest), (404, NotFound), (409, Conflict)]
)
def test_other_client_errors_are_never_retried(client, server, sleeps, status, error_class):
    server.answer(status, {"errors": [{"code": "nope", "message": "no"}]})

    with pytest.raises(error_class):
        client.refund_order(SELLER_TOKEN, ORDER_ID, idempotency_key="order-1-refund-0")
    assert len(server.requests) == 1
    assert sleeps == []


def test_a_post_without_idempotency_key_is_never_retried(client, server, sleeps):
    server.answer(500, text="boom")
    with pytest.raises(ServerError):
        client.create_pos(SELLER_TOKEN, PosCreate("Caja", "POS1", 1, "STORE1"))

    server.fail(httpx.ReadTimeout)
    with pytest.raises(TransportFailure) as caught:
        client.create_store(SELLER_TOKEN, 1, _store())

    server.fail(httpx.ConnectError)
    with pytest.raises(TransportFailure):
        client.exchange_code(client_id="1", client_secret="s", code="c", redirect_uri="https://x")

    assert len(server.requests) == 3
    assert caught.value.attempts == 1
    assert sleeps == []


def test_a_dynamic_qr_post_is_retried_only_with_a_key(client, server):
    order = InstoreOrderRequest("sale-1", "Sale", Decimal("10"), "ARS")
    server.answer(500, text="boom")
    with pytest.raises(ServerError):
        client.create_dynamic_qr(SELLER_TOKEN, user_id=1, external_pos_id="POS1", order=order)
    assert len(server.requests) == 1

    server.answer(500, text="boom")
    server.answer(200, {"qr_data": "000201"})
    qr = client.create_dynamic_qr(
        SELLER_TOKEN, user_id=1, external_pos_id="POS1", order=order, idempotency_key="qr-1"
    )
    assert qr.qr_data == "000201"
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("PUT", lambda client: client.update_pos(SELLER_TOKEN, 7, PosUpdate(name="Caja"))),
        ("DELETE", lambda client: client.delete_pos(SELLER_TOKEN, 7)),
    ],
)
def test_put_and_delete_are_retried(client, server, method, call):
    server.fail(httpx.ReadTimeout)
    server.answer(200, {"id": 7, "name": "Caja"})

    call(client)
    assert [request.method for request in server.requests] == [method, method]


def test_max_retries_zero_disables_retries(make_client, server):
    client = make_client(max_retries=0)
    server.answer(503, text="unavailable")
    with pytest.raises(ServerError):
        client.get_order(SELLER_TOKEN, ORDER_ID)
    assert len(server.requests) == 1


@pytest.mark.parametrize("key", ["", "k" * 129, "clé", "line\nbreak"])
def test_invalid_idempotency_keys_are_refused_before_sending(client, server, key):
    with pytest.raises(ValueError, match="idempotency key"):
        client.create_order(SELLER_TOKEN, NEW_ORDER, idempotency_key=key)
    assert server.requests == []


def test_a_128_character_key_is_accepted(client, server):
    server.answer(201, ORDER)
    client.create_order(SELLER_TOKEN, NEW_ORDER, idempotency_key="k" * 128)
    assert server.last.headers["X-Idempotency-Key"] == "k" * 128


def _store():
    location = Location("Rua A", "1", "Sao Paulo", "SP", Decimal("-23.5"), Decimal("-46.6"))
    return StoreRequest(name="Loja", external_id="STORE1", location=location)
