"""``mpapi`` reads every error body shape Mercado Pago's APIs document, and the codes end up in
the exception's ``code``/``codes``: the legacy in-store QR API's ``{"errorKey": ...}`` (its
OpenAPI, ``qr-dynamic.yaml`` and ``instore_orders_v2.yaml``), the other legacy endpoints'
``{"message", "error", "status", "cause"}`` and the Orders API's ``{"errors": [...]}``."""

import pytest

from mpapi import BadRequest, NotFound, ServerError
from mpapi.instore import InstoreOrderRequest
from mpapi.orders import OrderCreate
from tests.mpapi.conftest import SELLER_TOKEN

ORDER = InstoreOrderRequest(
    external_reference="sale-1", title="Sale", total_amount=10, currency="ARS"
)


def create_dynamic(client):
    return client.create_dynamic_qr(SELLER_TOKEN, user_id=1, external_pos_id="POS1", order=ORDER)


def test_the_in_store_error_key_alone_is_the_code(client, server):
    server.answer(400, {"errorKey": "invalid_expiration_date"})

    with pytest.raises(BadRequest) as caught:
        create_dynamic(client)

    assert (caught.value.code, caught.value.codes) == (
        "invalid_expiration_date",
        ("invalid_expiration_date",),
    )
    assert caught.value.message == "Bad Request"  # the HTTP reason, when the body has none
    assert caught.value.body == {"errorKey": "invalid_expiration_date"}
    assert str(caught.value).endswith("-> 400 (invalid_expiration_date): Bad Request")


def test_an_error_key_written_as_the_openapi_lists_it_gives_its_text(client, server):
    server.answer(
        404, {"errorKey": "point_of_sale_in_store_order_not_found--No associated order found."}
    )

    with pytest.raises(NotFound) as caught:
        client.get_pos_orders(SELLER_TOKEN, user_id=1, external_pos_id="POS1")

    assert caught.value.codes == ("point_of_sale_in_store_order_not_found",)
    assert caught.value.message == "No associated order found."


def test_the_in_store_500_is_read_by_its_key(client, server):
    server.answer(500, {"errorKey": "in_store_order_creation_error"})

    with pytest.raises(ServerError) as caught:
        create_dynamic(client)  # a POST without an idempotency key: not retried

    assert caught.value.code == "in_store_order_creation_error"


def test_the_message_error_status_cause_shape_is_still_read(client, server):
    server.answer(
        400,
        {
            "message": "user_id must be a number.",
            "error": "invalid_collectorId",
            "status": 400,
            "cause": [{"code": "invalid_collectorId", "description": "not a number"}],
        },
    )

    with pytest.raises(BadRequest) as caught:
        create_dynamic(client)

    assert caught.value.codes == ("invalid_collectorId",)
    assert caught.value.message == "user_id must be a number."
    assert caught.value.details == ("not a number",)


def test_the_orders_api_shape_is_still_read(client, server):
    server.answer(
        400,
        {
            "errors": [
                {
                    "code": "property_value",
                    "message": "total_amount: two decimals or none",
                    "details": ["total_amount"],
                }
            ]
        },
    )

    with pytest.raises(BadRequest) as caught:
        client.create_order(
            SELLER_TOKEN,
            OrderCreate(
                external_reference="sale-1",
                external_pos_id="POS1",
                total_amount=10,
                currency="ARS",
            ),
            idempotency_key="key-1",
        )

    assert caught.value.codes == ("property_value",)
    assert caught.value.message == "total_amount: two decimals or none"
    assert caught.value.details == ("total_amount",)
