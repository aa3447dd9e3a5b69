"""The legacy in-store QR API (api.md §2): the three ways to create an order, the POS's current
order, every ``errorKey`` of §2.4 that applies, and the ``ipn`` notifications of a payment."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.models import Account, Event, Order, Token
from sandbox.seed import seller_access_token
from tests.sandbox.api_helpers import Api, later

pytestmark = pytest.mark.django_db
ITEM = {
    "sku_number": "A1",
    "category": "food",
    "title": "Coffee",
    "description": "Espresso",
    "unit_price": 25.5,
    "quantity": 2,
    "unit_measure": "unit",
    "total_amount": 51,
}
BODY = {
    "external_reference": "sale-1",
    "title": "Purchase",
    "description": "Two coffees",
    "notification_url": "https://platform.example/ipn",
    "total_amount": 51,
    "items": [ITEM],
}


@pytest.fixture
def api(client):
    api = Api(client)
    api.pos("POS1", store=api.store("STORE1"))
    return api


def qrs(api: Api, method: str = "POST", body: dict | None = None, pos: str = "POS1", **kw):
    path = f"/instore/orders/qr/seller/collectors/{api.user_id}/pos/{pos}/qrs"
    return api.call(method, path, BODY if body is None else body, **kw)


def attended(api: Api, body: dict | None = None, store: str = "STORE1"):
    path = f"/instore/qr/seller/collectors/{api.user_id}/stores/{store}/pos/POS1/orders"
    return api.call("PUT", path, BODY if body is None else body)


def pos_orders(api: Api, method: str = "GET"):
    return api.call(method, f"/instore/qr/seller/collectors/{api.user_id}/pos/POS1/orders")


def test_dynamic_order_answers_qr_data_and_is_not_shown_by_the_pos(api):
    response = qrs(api)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"qr_data", "in_store_order_id"}
    assert body["qr_data"].startswith("000201")
    assert pos_orders(api).status_code == 404


def test_hybrid_order_answers_201_with_qr_data_and_is_shown_by_the_pos(api):
    response = qrs(api, "PUT")
    assert response.status_code == 201
    assert response.json()["qr_data"].startswith("000201")
    [shown] = pos_orders(api).json()
    assert shown["external_reference"] == "sale-1"


def test_attended_order_is_shown_replaced_and_deleted(api):
    assert attended(api).status_code == 204
    [shown] = pos_orders(api).json()
    assert shown == {
        "external_reference": "sale-1",
        "title": "Purchase",
        "description": "Two coffees",
        "total_amount": 51,
        "items": [ITEM],
        "notification_url": "https://platform.example/ipn",
        "expiration_date": None,
        "user_id": api.user_id,
        "external_pos_id": "POS1",
    }
    assert attended(api, BODY | {"external_reference": "sale-2"}).status_code == 204
    assert pos_orders(api).json()[0]["external_reference"] == "sale-2"
    assert Order.objects.get(external_reference="sale-1").status == "canceled"
    assert pos_orders(api, "DELETE").status_code == 204
    missing = pos_orders(api)
    assert missing.status_code == 404
    assert missing.json()["errorKey"] == "point_of_sale_in_store_order_not_found"
    assert pos_orders(api, "DELETE").status_code == 404


def test_attended_order_needs_the_pos_store(api):
    response = attended(api, store="OTHER")
    assert response.status_code == 404


def test_sponsor_cash_out_taxes_and_marketplace_fee_with_oauth(api):
    seller = Account.objects.get(user_id=api.user_id)
    oauth = Token.objects.create(access_token="APP_USR-oauth", account=seller, via_oauth=True)
    body = BODY | {
        "sponsor": {"id": 900000001},
        "marketplace_fee": 2.5,
        "taxes": [{"value": 3, "type": "IVA"}],
        "cash_out": {"amount": 10},
        "total_amount": 61,
    }
    assert qrs(api, "PUT", body, token=oauth.access_token).status_code == 201
    shown = pos_orders(api).json()[0]
    assert shown["sponsor"] == {"id": 900000001}
    assert shown["marketplace_fee"] == 2.5
    assert shown["cash_out"] == {"amount": 10}
    assert shown["taxes"] == [{"value": 3, "type": "IVA"}]
    without_oauth = qrs(api, body=body | {"external_reference": "x"})
    assert without_oauth.json()["errorKey"] == "marketplace_not_valid"


def in_an_hour() -> str:
    return (timezone.now() + timedelta(hours=1)).isoformat()


def with_item(**fields) -> dict:
    return BODY | {"items": [ITEM | fields]}


def without_item_field(field: str) -> dict:
    return BODY | {"items": [{k: v for k, v in ITEM.items() if k != field}]}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {k: v for k, v in BODY.items() if k != "external_reference"},
            "invalid_external_reference",
        ),
        (BODY | {"external_reference": "bad ref!"}, "invalid_external_reference"),
        ({k: v for k, v in BODY.items() if k != "total_amount"}, "invalid_total_amount"),
        (BODY | {"total_amount": "51"}, "invalid_total_amount"),
        (BODY | {"total_amount": 50}, "invalid_total_amount"),  # items add up to 51
        (with_item(sku_number=1), "invalid_items.sku_number"),
        (with_item(category=1), "invalid_items.category"),
        (with_item(title=1), "invalid_items.title"),
        (with_item(description=1), "invalid_items.description"),
        (with_item(unit_measure=1), "invalid_items.unit_measure"),
        (with_item(currency_id=1), "invalid_items.currency_id"),
        (with_item(quantity="2"), "invalid_items.quantity"),
        (with_item(unit_price="25.5"), "invalid_items.unit_price"),
        (with_item(total_amount="51"), "invalid_items.total_amount"),
        (with_item(total_amount=50), "invalid_items.total_amount"),
        (BODY | {"title": 5}, "invalid_title"),
        (without_item_field("unit_measure"), "invalid_unit_measure"),
        (with_item(unit_measure="kg"), "invalid_unit_measure"),
        (without_item_field("quantity"), "invalid_quantity"),
        (with_item(quantity=1.5, total_amount=38.25), "invalid_quantity"),
        (without_item_field("unit_price"), "invalid_unit_price"),
        (with_item(unit_price=25.555), "invalid_unit_price"),
        (BODY | {"description": 5}, "invalid_description"),
        (BODY | {"sponsor": {"id": "900000001"}}, "invalid_sponsor.id"),
        (BODY | {"sponsor": {}}, "invalid_id"),
        (BODY | {"cash_out": {"amount": "10"}}, "invalid_cash_out.amount"),
        (BODY | {"cash_out": {}}, "invalid_amount"),
        (BODY | {"items": []}, "error_creating_seller_qr_order"),
        (BODY | {"notification_url": "not a url"}, "invalid_notification_url"),
        (BODY | {"expiration_date": "tomorrow"}, "invalid_expiration_date"),
        (BODY | {"expiration_date": "2020-01-01T00:00:00.000-03:00"}, "invalid_expiration_date"),
    ],
)
def test_validation_error_keys(api, body, error):
    response = qrs(api, body=body)
    assert response.status_code == 400, response.content
    assert response.json() == {"errorKey": error}  # qr-dynamic.yaml's error body
    assert not Order.objects.exists()


def test_a_cash_out_alone_is_an_order(api):
    body = {"external_reference": "cash", "total_amount": 100, "cash_out": {"amount": 100}}
    assert qrs(api, body=body).status_code == 200


def test_path_errors(api):
    other = "/instore/orders/qr/seller/collectors/abc/pos/POS1/qrs"
    assert api.call("POST", other, BODY).json()["errorKey"] == "invalid_collectorId"
    someone_else = "/instore/orders/qr/seller/collectors/100000002/pos/POS1/qrs"
    assert api.call("POST", someone_else, BODY).status_code == 403
    no_pos = f"/instore/orders/qr/seller/collectors/{api.user_id}/pos//qrs"
    assert api.call("POST", no_pos, BODY).json()["errorKey"] == "invalid_externalPosId"
    assert qrs(api, pos="NOPE").status_code == 404
    unauthorized = qrs(api, token=seller_access_token("MLB") + "x")
    assert (unauthorized.status_code, unauthorized.json()["errorKey"]) == (401, "unauthorized")


def test_a_bad_token_on_delete_is_invalid_access_token(api):
    """api.md §2.4 lists 400 ``invalid_access_token`` for ``DELETE …/orders`` only."""
    assert attended(api).status_code == 204
    path = f"/instore/qr/seller/collectors/{api.user_id}/pos/POS1/orders"
    denied = api.call("DELETE", path, token="APP_USR-nope")
    assert (denied.status_code, denied.json()["errorKey"]) == (400, "invalid_access_token")
    assert api.call("DELETE", path, token=False).json()["errorKey"] == "invalid_access_token"
    read = api.call("GET", path, token="APP_USR-nope")
    assert (read.status_code, read.json()["errorKey"]) == (401, "unauthorized")
    assert pos_orders(api).status_code == 200  # still shown


def test_expiration_date_expires_the_shown_order(api):
    assert attended(api, BODY | {"expiration_date": in_an_hour()}).status_code == 204
    with later(timedelta(hours=2)):
        assert pos_orders(api).status_code == 404
    assert Order.objects.get().status == "expired"


def test_paying_a_legacy_order_creates_a_merchant_order_a_payment_and_ipn_events(api):
    qr_data = qrs(api).json()["qr_data"]
    paid = api.pay(qr_data=qr_data, payment_method_id="visa").json()
    merchant_order = api.call("GET", f"/merchant_orders/{paid['merchant_order_id']}").json()
    assert (merchant_order["status"], merchant_order["order_status"]) == ("closed", "paid")
    assert merchant_order["external_reference"] == "sale-1"
    assert merchant_order["paid_amount"] == 51
    [payment_row] = merchant_order["payments"]
    assert (payment_row["id"], payment_row["status"]) == (paid["payment_id"], "approved")
    payment = api.call("GET", f"/v1/payments/{paid['payment_id']}").json()
    assert (payment["status"], payment["payment_type_id"]) == ("approved", "credit_card")
    assert payment["order"] == {"id": paid["merchant_order_id"], "type": "mercadopago"}
    events = list(Event.objects.filter(kind=Event.Kind.IPN).values_list("topic", "query", "url"))
    assert events == [
        (
            "merchant_order",
            {"topic": "merchant_order", "id": str(paid["merchant_order_id"])},
            "https://platform.example/ipn",
        ),
        (
            "payment",
            {"topic": "payment", "id": str(paid["payment_id"])},
            "https://platform.example/ipn",
        ),
    ]
    assert not Event.objects.filter(kind=Event.Kind.WEBHOOK).exists()
