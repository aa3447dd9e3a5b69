"""Contract: the legacy in-store QR API (api.md §2) through ``mpapi`` against the sandbox.

Dynamic (``POST …/qrs``), hybrid (``PUT …/qrs``) and attended (``PUT …/orders``) orders, the POS's
current order (``GET``/``DELETE …/orders``), and every ``errorKey`` the sandbox emulates for
them, each asserted as ``mpapi`` parses it. Bodies that ``mpapi``'s types cannot express (a
number where a string belongs...) are sent through a duck-typed request, ``Raw``.
"""

import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mpapi import (
    APIError,
    BadRequest,
    Forbidden,
    MercadoPagoClient,
    NotFound,
    ServerError,
    Unauthorized,
    emvco,
)
from mpapi.instore import InstoreItem, InstoreOrder, InstoreOrderRequest, QRCode, Tax
from mpapi.stores import Location, PosCreate, StoreRequest
from sandbox import models as sandbox_models
from sandbox.seed import INTEGRATOR_USER_ID
from tests.contract.conftest import (
    BR_SELLER_ID,
    BR_SELLER_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    SELLER_ID,
    SELLER_TOKEN,
)
from tests.sandbox.api_helpers import COORDINATES, later

BAD_TOKEN = "APP_USR-0000000000000000-000000-not-a-real-token-1"
REDIRECT_URI = "https://platform.example/mercadopago/callback"
ITEM = InstoreItem(
    "Coffee",
    Decimal("25.50"),
    2,
    sku_number="A1",
    category="food",
    description="Espresso",
)
ORDER = InstoreOrderRequest(
    external_reference="sale-1",
    title="Purchase",
    total_amount=Decimal("51"),
    currency="ARS",
    items=(ITEM,),
    description="Two coffees",
    notification_url="https://platform.example/ipn",
)
RAW_ITEM = {
    "sku_number": "A1",
    "category": "food",
    "title": "Coffee",
    "description": "Espresso",
    "unit_price": Decimal("25.5"),
    "quantity": 2,
    "unit_measure": "unit",
    "total_amount": 51,
}
RAW_BODY = {"external_reference": "sale-1", "title": "Purchase", "total_amount": 51}


@dataclass(frozen=True)
class Raw:
    """A request body as given, for what ``InstoreOrderRequest`` cannot express."""

    body: dict

    def to_json(self) -> dict:
        return self.body


def raw(items: list | None = None, **fields) -> Raw:
    return Raw(RAW_BODY | {"items": [RAW_ITEM] if items is None else items} | fields)


def raw_item(**fields) -> Raw:
    return raw([RAW_ITEM | fields])


def raw_without_item_field(field: str) -> Raw:
    return raw([{key: value for key, value in RAW_ITEM.items() if key != field}])


def make_pos(mp: MercadoPagoClient, token: str, user_id: int, site: str) -> None:
    """Store ``STORE1`` with POS ``POS1``, through ``mpapi``."""
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
    mp.create_pos(token, PosCreate("Checkout 1", "POS1", store.id, "STORE1"))


@pytest.fixture
def pos(mp) -> None:
    make_pos(mp, SELLER_TOKEN, SELLER_ID, "MLA")


def dynamic(mp, order=ORDER, *, token=SELLER_TOKEN, user_id=SELLER_ID, pos_id="POS1") -> QRCode:
    return mp.create_dynamic_qr(token, user_id=user_id, external_pos_id=pos_id, order=order)


def hybrid(mp, order=ORDER, *, token=SELLER_TOKEN, user_id=SELLER_ID, pos_id="POS1") -> QRCode:
    return mp.create_hybrid_qr(token, user_id=user_id, external_pos_id=pos_id, order=order)


def attended(mp, order=ORDER, *, store="STORE1", pos_id="POS1", token=SELLER_TOKEN) -> None:
    mp.put_pos_order(
        token,
        user_id=SELLER_ID,
        external_store_id=store,
        external_pos_id=pos_id,
        order=order,
    )


def shown(mp, *, token=SELLER_TOKEN, pos_id="POS1") -> tuple[InstoreOrder, ...]:
    return mp.get_pos_orders(token, user_id=SELLER_ID, external_pos_id=pos_id)


def remove(mp, *, token=SELLER_TOKEN, pos_id="POS1") -> None:
    mp.delete_pos_order(token, user_id=SELLER_ID, external_pos_id=pos_id)


def pay(client, **purchase):
    return client.post("/sandbox/wallet/pay", json.dumps(purchase), content_type="application/json")


def assert_nothing_shown(mp) -> None:
    with pytest.raises(NotFound) as caught:
        shown(mp)
    assert (caught.value.status, caught.value.codes) == (
        404,
        ("point_of_sale_in_store_order_not_found",),
    )
    assert caught.value.body == {"errorKey": "point_of_sale_in_store_order_not_found"}


# Dynamic ---------------------------------------------------------------------------------------


def test_dynamic_qr_answers_a_valid_emvco_payload(mp, client, pos):
    qr = dynamic(mp)
    assert set(qr.raw) == {"qr_data", "in_store_order_id"}
    assert qr.in_store_order_id
    objects = {obj.tag: obj for obj in emvco.verify(qr.qr_data)}
    assert objects["00"].value == "01"
    assert objects["01"].value in ("11", "12")
    templates = [obj for tag, obj in objects.items() if 26 <= int(tag) <= 51]
    assert templates
    assert templates[0].children[0].tag == "00"
    assert objects["52"].value.isdigit()
    assert len(objects["52"].value) == 4
    assert (objects["53"].value, objects["58"].value) == ("032", "AR")
    assert objects["59"].value == "SANDBOX SELLER MLA"
    assert objects["60"].value == "BUENOS AIRES"
    assert "62" in objects
    assert list(objects)[-1] == "63"
    assert qr.qr_data.endswith(emvco.crc16(qr.qr_data[:-4]))
    assert_nothing_shown(mp)  # a dynamic order is not on the POS's printed QR
    receipt = pay(client, qr_data=qr.qr_data).json()
    assert (receipt["status"], receipt["in_store_order_id"]) == ("approved", qr.in_store_order_id)
    assert receipt["external_reference"] == "sale-1"


def test_every_dynamic_qr_is_its_own_order(mp, pos):
    first, second = dynamic(mp), dynamic(mp)
    assert first.in_store_order_id != second.in_store_order_id
    assert first.qr_data != second.qr_data


def test_dynamic_qr_in_a_whole_number_currency(mp):
    make_pos(mp, BR_SELLER_TOKEN, BR_SELLER_ID, "MLB")
    order = InstoreOrderRequest(
        external_reference="br-1",
        title="Compra",
        total_amount=Decimal("10.00"),
        currency="BRL",
        items=(InstoreItem("Cafe", Decimal("5"), 2),),
    )
    assert order.to_json()["total_amount"] == Decimal("10")
    qr = dynamic(mp, order, token=BR_SELLER_TOKEN, user_id=BR_SELLER_ID)
    objects = {obj.tag: obj.value for obj in emvco.verify(qr.qr_data)}
    assert (objects["53"], objects["58"]) == ("986", "BR")


# Hybrid ----------------------------------------------------------------------------------------


def test_hybrid_qr_answers_qr_data_and_is_shown_by_the_pos(mp, client, pos):
    qr = hybrid(mp)
    assert emvco.is_valid(qr.qr_data)
    assert qr.in_store_order_id
    [order] = shown(mp)
    assert (order.external_reference, order.total_amount) == ("sale-1", Decimal("51"))
    assert order.items == (ITEM,)
    assert pay(client, qr_data=qr.qr_data).status_code == 200
    assert_nothing_shown(mp)  # paid


def test_hybrid_with_sponsor_taxes_cash_out_and_an_oauth_marketplace_fee(mp, client, pos):
    order = InstoreOrderRequest(
        external_reference="sale-2",
        title="Purchase",
        total_amount=Decimal("61"),
        currency="ARS",
        items=(ITEM,),
        sponsor_id=INTEGRATOR_USER_ID,
        taxes=(Tax(Decimal("3")),),
        cash_out_amount=Decimal("10"),
    )
    hybrid(mp, order)
    [current] = shown(mp)
    assert current.raw["sponsor"] == {"id": INTEGRATOR_USER_ID}
    assert current.raw["taxes"] == [{"value": 3, "type": "IVA"}]
    assert current.raw["cash_out"] == {"amount": 10}
    assert current.total_amount == Decimal("61")

    with_fee = Raw(order.to_json() | {"external_reference": "sale-3", "marketplace_fee": 2})
    with pytest.raises(BadRequest) as caught:
        hybrid(mp, with_fee)
    assert (caught.value.status, caught.value.code) == (400, "marketplace_not_valid")
    hybrid(mp, with_fee, token=oauth_token(mp, client))
    [current] = shown(mp)
    assert (current.external_reference, current.raw["marketplace_fee"]) == ("sale-3", 2)


def oauth_token(mp: MercadoPagoClient, client) -> str:
    response = client.post(
        "/sandbox/_control/oauth/authorize",
        {"client_id": CLIENT_ID, "user_id": SELLER_ID, "redirect_uri": REDIRECT_URI},
        content_type="application/json",
    )
    return mp.exchange_code(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        code=response.json()["code"],
        redirect_uri=REDIRECT_URI,
    ).access_token


# Attended --------------------------------------------------------------------------------------


def test_attended_order_is_shown_replaced_and_deleted(mp, pos):
    expires = (timezone.now() + timedelta(hours=1)).replace(microsecond=0)
    assert attended(mp, InstoreOrderRequest(**vars(ORDER) | {"expiration_date": expires})) is None
    [order] = shown(mp)
    assert order == InstoreOrder(
        external_reference="sale-1",
        title="Purchase",
        description="Two coffees",
        total_amount=Decimal("51"),
        expiration_date=expires,
        notification_url="https://platform.example/ipn",
        user_id=SELLER_ID,
        external_pos_id="POS1",
        items=(ITEM,),
        raw=order.raw,
    )
    attended(mp, InstoreOrderRequest(**vars(ORDER) | {"external_reference": "sale-2"}))
    assert [order.external_reference for order in shown(mp)] == ["sale-2"]
    assert remove(mp) is None
    assert_nothing_shown(mp)
    with pytest.raises(NotFound) as caught:
        remove(mp)
    assert (caught.value.status, caught.value.code) == (
        404,
        "point_of_sale_in_store_order_not_found",
    )
    statuses = dict(sandbox_models.Order.objects.values_list("external_reference", "status"))
    assert statuses == {"sale-1": "canceled", "sale-2": "canceled"}


def test_an_attended_order_is_paid_at_the_pos(mp, client, pos):
    attended(mp)
    receipt = pay(client, user_id=SELLER_ID, external_pos_id="POS1").json()
    assert (receipt["status"], receipt["external_reference"]) == ("approved", "sale-1")
    assert_nothing_shown(mp)


def test_an_expired_attended_order_is_no_longer_shown(mp, pos):
    soon = timezone.now() + timedelta(minutes=5)
    attended(mp, InstoreOrderRequest(**vars(ORDER) | {"expiration_date": soon}))
    assert len(shown(mp)) == 1
    with later(timedelta(minutes=6)):
        assert_nothing_shown(mp)


def test_attended_order_needs_the_pos_store(mp, pos):
    with pytest.raises(NotFound) as caught:
        attended(mp, store="OTHER")
    assert (caught.value.status, caught.value.code) == (404, "pos_not_found")
    assert caught.value.body == {"errorKey": "pos_not_found"}


def test_attended_order_needs_a_title(mp, pos):
    untitled = Raw({key: value for key, value in ORDER.to_json().items() if key != "title"})
    with pytest.raises(BadRequest) as caught:
        attended(mp, untitled)
    assert (caught.value.status, caught.value.code) == (400, "invalid_title")
    assert dynamic(mp, untitled).qr_data  # the qrs calls do not require one


# Errors ----------------------------------------------------------------------------------------


def with_fields(**fields) -> InstoreOrderRequest:
    return InstoreOrderRequest(**vars(ORDER) | fields)


@pytest.mark.parametrize(
    ("order", "error"),
    [
        # Typed requests that Mercado Pago refuses.
        (with_fields(external_reference=""), "invalid_external_reference"),
        (with_fields(external_reference="bad ref!"), "invalid_external_reference"),
        (with_fields(external_reference="x" * 65), "invalid_external_reference"),
        (with_fields(total_amount=Decimal("0")), "invalid_total_amount"),
        (with_fields(total_amount=Decimal("50")), "invalid_total_amount"),  # items make 51
        (
            with_fields(items=(InstoreItem("Coffee", Decimal("25.50"), 2, "kg"),)),
            "invalid_unit_measure",
        ),
        (
            with_fields(items=(InstoreItem("Coffee", Decimal("0"), 2),), total_amount=Decimal("1")),
            "invalid_unit_price",
        ),
        (
            with_fields(items=(InstoreItem("Coffee", Decimal("1"), 0),), total_amount=Decimal("1")),
            "invalid_quantity",
        ),
        (with_fields(items=()), "error_creating_seller_qr_order"),
        (with_fields(notification_url="not a url"), "invalid_notification_url"),
        (
            with_fields(expiration_date=timezone.now() - timedelta(minutes=1)),
            "invalid_expiration_date",
        ),
        (with_fields(cash_out_amount=Decimal("0")), "invalid_cash_out.amount"),
        # Bodies beyond what InstoreOrderRequest can express.
        (
            Raw({"title": "x", "total_amount": 51, "items": [RAW_ITEM]}),
            "invalid_external_reference",
        ),
        (Raw({"external_reference": "x", "items": [RAW_ITEM]}), "invalid_total_amount"),
        (raw(total_amount="51"), "invalid_total_amount"),
        (raw(title=5), "invalid_title"),
        (raw(description=5), "invalid_description"),
        (raw_item(sku_number=1), "invalid_items.sku_number"),
        (raw_item(category=1), "invalid_items.category"),
        (raw_item(title=1), "invalid_items.title"),
        (raw_item(description=1), "invalid_items.description"),
        (raw_item(unit_measure=1), "invalid_items.unit_measure"),
        (raw_item(currency_id=1), "invalid_items.currency_id"),
        (raw_item(quantity="2"), "invalid_items.quantity"),
        (raw_item(unit_price="25.5"), "invalid_items.unit_price"),
        (raw_item(total_amount="51"), "invalid_items.total_amount"),
        (raw_item(total_amount=50), "invalid_items.total_amount"),
        (raw(items="coffee"), "invalid_items"),
        (raw(["coffee"]), "invalid_items"),
        (raw_without_item_field("title"), "invalid_items.title"),
        (raw_without_item_field("unit_measure"), "invalid_unit_measure"),
        (raw_without_item_field("quantity"), "invalid_quantity"),
        (raw_without_item_field("unit_price"), "invalid_unit_price"),
        (raw_item(unit_price=Decimal("25.555")), "invalid_unit_price"),
        (raw_item(quantity=Decimal("1.5"), total_amount=Decimal("38.25")), "invalid_quantity"),
        (raw(sponsor={"id": str(INTEGRATOR_USER_ID)}), "invalid_sponsor.id"),
        (raw(sponsor={}), "invalid_id"),
        (raw(cash_out={"amount": "10"}), "invalid_cash_out.amount"),
        (raw(cash_out={}), "invalid_amount"),
        (raw(expiration_date="tomorrow"), "invalid_expiration_date"),
        (raw(expiration_date="2030-01-01T00:00:00"), "invalid_expiration_date"),  # no offset
        (raw(marketplace_fee=1), "marketplace_not_valid"),
    ],
)
def test_body_error_keys(mp, pos, order, error):
    calls = (
        lambda: dynamic(mp, order),
        lambda: hybrid(mp, order),
        lambda: attended(mp, order),
    )
    for call in calls:
        with pytest.raises(BadRequest) as caught:
            call()
        assert (caught.value.status, caught.value.codes) == (400, (error,))
        assert caught.value.body == {"errorKey": error}  # qr-dynamic.yaml's error body
    assert not sandbox_models.Order.objects.exists()


def test_a_cash_out_alone_is_an_order(mp, pos):
    order = InstoreOrderRequest(
        external_reference="cash",
        title="Cash",
        total_amount=Decimal("100"),
        currency="ARS",
        cash_out_amount=Decimal("100"),
    )
    assert dynamic(mp, order).qr_data


def test_mpapi_refuses_amounts_it_cannot_write(mp, calls, pos):
    calls.clear()
    with pytest.raises(ValueError, match="more decimals than ARS allows"):
        dynamic(mp, with_fields(total_amount=Decimal("51.001")))
    with pytest.raises(ValueError, match="timezone-aware"):
        dynamic(mp, with_fields(expiration_date=timezone.now().replace(tzinfo=None)))
    assert calls == []


def test_user_id_not_numeric(mp, pos):
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
        assert (caught.value.status, caught.value.code) == (400, "invalid_collectorId")
        assert caught.value.body == {"errorKey": "invalid_collectorId"}


def test_user_id_of_another_seller(mp, pos):
    with pytest.raises(Forbidden) as caught:
        dynamic(mp, user_id=BR_SELLER_ID)
    assert (caught.value.status, caught.value.code) == (403, "invalid_collectorId")
    with pytest.raises(Forbidden):
        mp.get_pos_orders(SELLER_TOKEN, user_id=BR_SELLER_ID, external_pos_id="POS1")


def test_external_pos_id_missing(mp, pos):
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
        assert (caught.value.status, caught.value.code) == (400, "invalid_externalPosId")


def test_unknown_pos(mp, pos):
    calls = (
        lambda: dynamic(mp, pos_id="NOPE"),
        lambda: hybrid(mp, pos_id="NOPE"),
        lambda: attended(mp, pos_id="NOPE"),
        lambda: shown(mp, pos_id="NOPE"),
        lambda: remove(mp, pos_id="NOPE"),
    )
    for call in calls:
        with pytest.raises(NotFound) as caught:
            call()
        assert (caught.value.status, caught.value.code) == (404, "pos_not_found")
        assert caught.value.body == {"errorKey": "pos_not_found"}


def test_bad_token(mp, pos):
    attended(mp)
    calls = (
        lambda: dynamic(mp, token=BAD_TOKEN),
        lambda: hybrid(mp, token=BAD_TOKEN),
        lambda: attended(mp, token=BAD_TOKEN),
        lambda: shown(mp, token=BAD_TOKEN),
    )
    for call in calls:
        with pytest.raises(Unauthorized) as caught:
            call()
        assert (caught.value.status, caught.value.code) == (401, "unauthorized")
        assert BAD_TOKEN not in str(caught.value)
    # api.md §2.4: the DELETE answers 400 invalid_access_token.
    with pytest.raises(BadRequest) as caught:
        remove(mp, token=BAD_TOKEN)
    assert (caught.value.status, caught.value.code) == (400, "invalid_access_token")
    assert len(shown(mp)) == 1


def test_in_store_order_creation_error(mp, client, calls, pos):
    """The legacy API's 500 (api.md §2.4), injected by the sandbox's faults."""
    response = client.put(
        "/sandbox/_control/faults",
        {"error_rate": 1, "error_statuses": [500], "path_regex": "^/instore/"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    calls.clear()
    with pytest.raises(ServerError) as caught:
        dynamic(mp)  # a POST without idempotency key: never retried
    assert (caught.value.status, caught.value.code) == (500, "in_store_order_creation_error")
    assert len(calls) == 1
    with pytest.raises(ServerError) as caught:
        remove(mp)  # a DELETE: retried, then given up
    assert caught.value.code == "in_store_order_creation_error"
    assert [record.attempt for record in calls[1:]] == [1, 2, 3, 4]
    assert not sandbox_models.Order.objects.exists()
    assert isinstance(caught.value, APIError)
