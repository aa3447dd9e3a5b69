"""Contract: the legacy in-store QR API answers every error it documents with the body its OpenAPI
documents (``qr-dynamic.yaml``, ``instore_orders_v2.yaml`` in mercadopago/devsite-docs): an
object whose one property is ``errorKey``. Each is asserted as ``mpapi`` reads it: its class,
status and code, and the body exactly as received."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mpapi import BadRequest, NotFound
from tests.contract.conftest import SELLER_ID, SELLER_TOKEN
from tests.contract.test_instore_contract import (
    ORDER,
    Raw,
    attended,
    dynamic,
    hybrid,
    make_pos,
    raw,
    raw_item,
    raw_without_item_field,
    remove,
    shown,
    with_fields,
)


@pytest.fixture
def pos(mp) -> None:
    make_pos(mp, SELLER_TOKEN, SELLER_ID, "MLA")


# Every 400 errorKey of the three create endpoints (POST/PUT …/qrs, PUT …/orders), each with a
# body that draws it.
BODY_KEYS = {
    "invalid_external_reference": Raw({"title": "x", "total_amount": 51, "items": []}),
    "invalid_total_amount": raw(total_amount="51"),
    "invalid_items.sku_number": raw_item(sku_number=1),
    "invalid_items.category": raw_item(category=1),
    "invalid_items.title": raw_item(title=1),
    "invalid_items.description": raw_item(description=1),
    "invalid_items.unit_measure": raw_item(unit_measure=1),
    "invalid_items.quantity": raw_item(quantity="2"),
    "invalid_items.currency_id": raw_item(currency_id=1),
    "invalid_items.unit_price": raw_item(unit_price="25.5"),
    "invalid_items.total_amount": raw_item(total_amount="51"),
    "invalid_title": raw(title=5),
    "invalid_unit_measure": raw_without_item_field("unit_measure"),
    "invalid_quantity": raw_without_item_field("quantity"),
    "invalid_unit_price": raw_without_item_field("unit_price"),
    "invalid_description": raw(description=5),
    "invalid_sponsor.id": raw(sponsor={"id": "1"}),
    "invalid_id": raw(sponsor={}),
    "invalid_cash_out.amount": raw(cash_out={"amount": "10"}),
    "invalid_amount": raw(cash_out={}),
    "error_creating_seller_qr_order": with_fields(items=()),
    "invalid_expiration_date": with_fields(expiration_date=timezone.now() - timedelta(minutes=1)),
}


@pytest.mark.parametrize("key", list(BODY_KEYS))
def test_each_documented_body_error_is_its_error_key_alone(mp, pos, key):
    for create in (dynamic, hybrid, attended):
        with pytest.raises(BadRequest) as caught:
            create(mp, BODY_KEYS[key])

        assert caught.value.body == {"errorKey": key}
        assert (caught.value.status, caught.value.codes) == (400, (key,))


def test_invalid_notification_url_is_its_error_key_alone(mp, pos):
    """Documented for the dynamic QR (``POST …/qrs``) only."""
    with pytest.raises(BadRequest) as caught:
        dynamic(mp, with_fields(notification_url="not a url"))

    assert caught.value.body == {"errorKey": "invalid_notification_url"}
    assert caught.value.code == "invalid_notification_url"


def test_invalid_collector_id_is_its_error_key_alone_on_every_endpoint(mp, pos):
    calls = (
        lambda: dynamic(mp, user_id="abc"),
        lambda: hybrid(mp, user_id="abc"),
        lambda: mp.put_pos_order(
            SELLER_TOKEN,
            user_id="abc",
            external_store_id="STORE1",
            external_pos_id="POS1",
            order=ORDER,
        ),
        lambda: mp.get_pos_orders(SELLER_TOKEN, user_id="abc", external_pos_id="POS1"),
        lambda: mp.delete_pos_order(SELLER_TOKEN, user_id="abc", external_pos_id="POS1"),
    )
    for call in calls:
        with pytest.raises(BadRequest) as caught:
            call()

        assert caught.value.body == {"errorKey": "invalid_collectorId"}
        assert caught.value.code == "invalid_collectorId"


def test_invalid_external_pos_id_is_its_error_key_alone_on_every_endpoint(mp, pos):
    calls = (
        lambda: dynamic(mp, pos_id=""),
        lambda: hybrid(mp, pos_id=""),
        lambda: attended(mp, pos_id=""),
        lambda: shown(mp, pos_id=""),
        lambda: remove(mp, pos_id=""),
    )
    for call in calls:
        with pytest.raises(BadRequest) as caught:
            call()

        assert caught.value.body == {"errorKey": "invalid_externalPosId"}
        assert caught.value.code == "invalid_externalPosId"


def test_no_order_on_the_pos_is_its_error_key_alone(mp, pos):
    with pytest.raises(NotFound) as caught:
        shown(mp)

    assert caught.value.body == {"errorKey": "point_of_sale_in_store_order_not_found"}
    assert caught.value.code == "point_of_sale_in_store_order_not_found"


def test_a_delete_without_a_valid_token_is_invalid_access_token_alone(mp, pos):
    attended(mp)

    with pytest.raises(BadRequest) as caught:
        remove(mp, token="APP_USR-0000000000000000-000000-not-a-real-token-1")

    assert caught.value.body == {"errorKey": "invalid_access_token"}
    assert caught.value.code == "invalid_access_token"
    assert len(shown(mp)) == 1
