"""Error answers become exceptions carrying the status, Mercado Pago's codes and the raw body."""

import pytest

from mpapi import (
    APIError,
    BadRequest,
    Conflict,
    Forbidden,
    MercadoPagoError,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
    UnexpectedResponse,
)
from mpapi.stores import PosCreate
from tests.mpapi.conftest import SELLER_TOKEN

ORDER_ID = "ORD01JQ4S4KY8HWQ6NA5PXB65B3D3"


def test_legacy_envelope(client, server):
    server.answer(
        400,
        {
            "message": "user_id must be a number",
            "error": "invalid_collectorId",
            "status": 400,
            "cause": [],
        },
    )
    with pytest.raises(BadRequest) as caught:
        client.delete_pos_order(SELLER_TOKEN, user_id=1, external_pos_id="POS1")

    error = caught.value
    assert (error.status, error.code, error.codes) == (
        400,
        "invalid_collectorId",
        ("invalid_collectorId",),
    )
    assert error.message == "user_id must be a number"
    assert error.body["error"] == "invalid_collectorId"
    assert str(error) == (
        "DELETE /instore/qr/seller/collectors/1/pos/POS1/orders -> 400 (invalid_collectorId): "
        "user_id must be a number"
    )


def test_legacy_envelope_codes_from_error_key_and_causes(client, server):
    server.answer(
        400,
        {
            "message": "invalid store",
            "error": "bad_request",
            "errorKey": "validation_error",
            "status": 400,
            "cause": [
                {"code": "INVALID_NAME", "description": "name is required"},
                {"code": 2063, "description": "numeric codes become text"},
            ],
        },
    )
    with pytest.raises(BadRequest) as caught:
        client.get_store(SELLER_TOKEN, 1)

    assert caught.value.codes == ("validation_error", "bad_request", "INVALID_NAME", "2063")
    assert "INVALID_NAME" in caught.value.codes
    assert caught.value.details == ("name is required", "numeric codes become text")


def test_orders_envelope(client, server):
    server.answer(
        404,
        {
            "errors": [
                {
                    "code": "order_not_found",
                    "message": "order not found",
                    "details": ["no order ORD01JQ4S4KY8HWQ6NA5PXB65B3D3"],
                }
            ]
        },
    )
    with pytest.raises(NotFound) as caught:
        client.get_order(SELLER_TOKEN, ORDER_ID)

    error = caught.value
    assert (error.status, error.code, error.message) == (404, "order_not_found", "order not found")
    assert error.details == ("no order ORD01JQ4S4KY8HWQ6NA5PXB65B3D3",)


def test_orders_envelope_with_several_errors(client, server):
    server.answer(
        400,
        {
            "errors": [
                {"code": "required_properties", "message": "type is required", "details": []},
                {"code": "property_value", "message": "mode is invalid"},
            ]
        },
    )
    with pytest.raises(BadRequest) as caught:
        client.get_order(SELLER_TOKEN, ORDER_ID)

    assert caught.value.codes == ("required_properties", "property_value")
    assert caught.value.message == "type is required; mode is invalid"


def test_a_body_that_is_not_json_is_kept_as_text(client, server):
    server.answer(502, text="<html>Bad gateway</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(ServerError) as caught:
        client.create_pos(SELLER_TOKEN, pos=_pos())

    error = caught.value
    assert error.body == "<html>Bad gateway</html>"
    assert (error.codes, error.code, error.message) == ((), None, "Bad Gateway")


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (429, RateLimited),
        (500, ServerError),
        (503, ServerError),
    ],
)
def test_the_exception_class_follows_the_status(client, server, status, error_class):
    server.answer(status, {"message": "no", "error": "some_code", "status": status, "cause": []})
    with pytest.raises(error_class) as caught:
        client.create_pos(SELLER_TOKEN, pos=_pos())
    assert isinstance(caught.value, MercadoPagoError)
    assert caught.value.status == status


def test_an_unlisted_status_is_a_plain_api_error(client, server):
    server.answer(422, {"message": "unprocessable", "error": "x", "status": 422, "cause": []})
    with pytest.raises(APIError) as caught:
        client.create_pos(SELLER_TOKEN, pos=_pos())
    assert type(caught.value) is APIError


def test_rate_limited_carries_retry_after(client, server):
    server.answer(
        429, {"message": "slow down", "error": "local_rate_limited"}, headers={"Retry-After": "7"}
    )
    with pytest.raises(RateLimited) as caught:
        client.create_pos(SELLER_TOKEN, pos=_pos())
    assert caught.value.retry_after == 7.0


def test_secrets_echoed_by_the_server_never_reach_the_message(client, server):
    server.answer(
        401,
        {
            "message": f"invalid token {SELLER_TOKEN}",
            "error": "unauthorized",
            "status": 401,
            "cause": [{"code": "x", "description": f"Bearer {SELLER_TOKEN}"}],
        },
    )
    with pytest.raises(Unauthorized) as caught:
        client.get_store(SELLER_TOKEN, 1)

    assert SELLER_TOKEN not in str(caught.value)
    assert SELLER_TOKEN not in repr(caught.value)
    assert all(SELLER_TOKEN not in detail for detail in caught.value.details)


def test_oauth_errors_hide_the_client_secret_and_code(client, server):
    server.answer(
        400,
        {
            "message": "code TG-abc123secretcode is invalid for secret shh-very-secret",
            "error": "invalid_grant",
            "status": 400,
            "cause": [],
        },
    )
    with pytest.raises(BadRequest) as caught:
        client.exchange_code(
            client_id="1",
            client_secret="shh-very-secret",
            code="TG-abc123secretcode",
            redirect_uri="https://platform.test/cb",
        )

    assert caught.value.code == "invalid_grant"
    assert "shh-very-secret" not in str(caught.value)
    assert "TG-abc123secretcode" not in str(caught.value)


def test_a_success_without_the_documented_shape_is_unexpected(client, server):
    server.answer(200, {"status": "created"})
    with pytest.raises(UnexpectedResponse) as caught:
        client.get_order(SELLER_TOKEN, ORDER_ID)
    assert caught.value.body == {"status": "created"}
    assert caught.value.status == 200


def _pos():
    return PosCreate(name="Caja 1", external_id="POS1", store_id=1, external_store_id="STORE1")
