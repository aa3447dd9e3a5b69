"""The Orders API for QR (api.md §3): create, read, search, cancel, refund, idempotency, the life
cycle with expiry, and the ``order`` webhooks each change writes."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.models import Account, Event, Order, Token
from sandbox.seed import CLIENT_ID, INTEGRATOR_USER_ID, seller_access_token
from tests.sandbox.api_helpers import Api, later

pytestmark = pytest.mark.django_db


def is_id(prefix: str, value: str) -> bool:
    """Whether ``value`` is an Orders API id: ``prefix`` and 26 of ``[0-9A-Z]``."""
    return re.fullmatch(f"{prefix}[0-9A-Z]{{26}}", value) is not None


@pytest.fixture
def api(client):
    api = Api(client)
    api.pos("POS1")
    return api


def paid_order(api: Api, **fields) -> dict:
    order = api.order("POS1", **fields)
    assert api.pay(qr_data=order["type_response"]["qr_data"]).status_code == 200
    return api.call("GET", f"/v1/orders/{order['id']}").json()


def webhooks(order_id: str) -> list[Event]:
    return list(Event.objects.filter(kind=Event.Kind.WEBHOOK, resource_id=order_id))


def test_create_dynamic_order(api):
    order = api.order("POS1", description="Two coffees", expiration_time="PT20M")
    assert is_id("ORD", order["id"])
    assert order["status"] == order["status_detail"] == "created"
    assert order["type"] == "qr"
    assert order["user_id"] == str(api.user_id)
    assert (order["country_code"], order["currency"]) == ("ARG", "ARS")
    assert order["total_amount"] == "50.00"
    assert order["expiration_time"] == "PT20M"
    assert order["config"]["qr"] == {"external_pos_id": "POS1", "mode": "dynamic"}
    assert order["integration_data"]["application_id"] == CLIENT_ID
    [payment] = order["transactions"]["payments"]
    assert is_id("PAY", payment["id"])
    assert (payment["amount"], payment["status_detail"]) == ("50.00", "ready_to_process")
    assert order["type_response"]["qr_data"].startswith("000201")
    assert api.call("GET", f"/v1/orders/{order['id']}").json() == order


def test_static_order_has_no_qr_data_and_is_capped_at_ten_minutes(api):
    order = api.order("POS1", expiration_time="PT30M", config={"qr": {"external_pos_id": "POS1"}})
    assert order["config"]["qr"]["mode"] == "static"
    assert "type_response" not in order
    assert order["expiration_time"] == "PT10M"
    with later(timedelta(minutes=10, seconds=1)):
        assert api.call("GET", f"/v1/orders/{order['id']}").json()["status"] == "expired"


def test_dynamic_order_defaults_to_fifteen_minutes_then_expires(api):
    order = api.order("POS1")
    assert order["expiration_time"] == "PT15M"
    with later(timedelta(minutes=14)):
        assert api.call("GET", f"/v1/orders/{order['id']}").json()["status"] == "created"
    with later(timedelta(minutes=15, seconds=1)):
        expired = api.call("GET", f"/v1/orders/{order['id']}").json()
    assert (expired["status"], expired["status_detail"]) == ("expired", "expired")
    assert expired["transactions"]["payments"][0]["status"] == "expired"
    [event] = webhooks(order["id"])
    assert event.action == "order.expired"
    assert event.body["data"]["version"] == 2


def test_hybrid_order_leaves_the_pos_after_ten_minutes_but_its_qr_data_lives_on(api):
    order = api.order(
        "POS1",
        config={"qr": {"external_pos_id": "POS1", "mode": "hybrid"}},
        expiration_time="PT30M",
    )
    with later(timedelta(minutes=11)):
        by_pos = api.pay(user_id=str(api.user_id), external_pos_id="POS1")
        assert by_pos.status_code == 404
        assert api.pay(qr_data=order["type_response"]["qr_data"]).status_code == 200


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"type": "point"}, 400, "property_value"),
        ({"external_reference": "has space"}, 400, "property_value"),
        ({"config": {"qr": {"external_pos_id": "NOPE", "mode": "dynamic"}}}, 404, "pos_not_found"),
        ({"config": {"qr": {"external_pos_id": "POS1", "mode": "fancy"}}}, 400, "property_value"),
        ({"total_amount": "50.0"}, 400, "invalid_total_amount"),
        ({"total_amount": 50}, 400, "invalid_total_amount"),
        ({"total_amount": "40.00"}, 400, "invalid_total_amount"),
        ({"transactions": {"payments": [{"amount": "50.001"}]}}, 400, "property_value"),
        ({"transactions": {"payments": []}}, 400, "minimum_items"),
        (
            {"transactions": {"payments": [{"amount": "25.00"}, {"amount": "25.00"}]}},
            400,
            "maximum_items",
        ),
        (
            {"items": [{"title": "Coffee", "unit_price": "20.00", "quantity": 2}]},
            400,
            "invalid_total_amount",
        ),
        ({"expiration_time": "PT10S"}, 400, "property_value"),
        ({"expiration_time": "PT3601H"}, 400, "property_value"),
        ({"expiration_time": "15 minutes"}, 400, "property_value"),
        ({"marketplace_fee": "1.00"}, 400, "marketplace_not_valid"),
        ({"integration_data": {"sponsor": {"id": "123"}}}, 400, "sponsor_id_not_valid"),
        ({"processing_mode": "manual"}, 400, "property_value"),
        ({"notification_url": "https://example.com"}, 400, "unsupported_properties"),
    ],
)
def test_create_validation(api, fields, status, code):
    response = api.create_order("POS1", **fields)
    assert response.status_code == status, response.content
    assert response.json()["errors"][0]["code"] == code
    assert not Order.objects.exists()


def test_create_requires_the_listed_properties(api):
    response = api.call("POST", "/v1/orders", {"type": "qr"}, key="k")
    [error] = response.json()["errors"]
    assert error["code"] == "required_properties"
    assert error["details"] == ["external_reference", "config", "transactions"]


def test_items_must_add_up_and_amounts_are_whole_in_chile(client):
    api = Api(client)
    api.pos("POS1")
    items = [{"title": "Coffee", "unit_price": "25.00", "quantity": 2, "unit_measure": "unit"}]
    assert api.order("POS1", items=items)["items"] == items
    chile = Api(client, "MLC")
    chile.pos("POS1")
    assert chile.order("POS1")["total_amount"] == "50"
    response = chile.create_order("POS1", key="cents", total_amount="50.00")
    assert response.json()["errors"][0]["code"] == "invalid_total_amount"


def test_marketplace_fee_needs_an_oauth_token_and_sponsor_a_known_integrator(api):
    seller = Account.objects.get(user_id=api.user_id)
    oauth = Token.objects.create(access_token="APP_USR-oauth-token", account=seller, via_oauth=True)
    body = {
        "type": "qr",
        "external_reference": "fee-1",
        "marketplace_fee": "5.00",
        "integration_data": {"sponsor": {"id": str(INTEGRATOR_USER_ID)}, "platform_id": "dev_1"},
        "config": {"qr": {"external_pos_id": "POS1", "mode": "dynamic"}},
        "transactions": {"payments": [{"amount": "50.00"}]},
    }
    response = api.call("POST", "/v1/orders", body, key="fee", token=oauth.access_token)
    assert response.status_code == 201, response.content
    assert response.json()["marketplace_fee"] == "5.00"
    assert response.json()["integration_data"]["sponsor"] == {"id": str(INTEGRATOR_USER_ID)}


def test_idempotency_key_is_required_and_bounded(api):
    missing = api.call("POST", "/v1/orders", {"type": "qr"})
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["code"] == "empty_required_header"
    too_long = api.create_order("POS1", key="k" * 129)
    assert too_long.json()["errors"][0]["code"] == "invalid_idempotency_key_length"
    assert api.create_order("POS1", key="k" * 128).status_code == 201


def test_same_key_and_request_returns_the_first_response_and_creates_once(api):
    first = api.create_order("POS1", key="same")
    again = api.create_order("POS1", key="same")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert Order.objects.count() == 1
    other = api.create_order("POS1", key="same", external_reference="sale-2")
    assert other.status_code == 409
    assert other.json()["errors"][0]["code"] == "idempotency_key_already_used"
    assert Order.objects.count() == 1


def test_idempotency_keys_are_per_seller_last_a_day_and_failures_store_nothing(api, client):
    brazil = Api(client, "MLB")
    brazil.pos("POS1")
    assert api.create_order("POS1", key="shared").status_code == 201
    assert brazil.create_order("POS1", key="shared").status_code == 201
    assert api.create_order("NOPE", key="retry").status_code == 404
    assert api.create_order("POS1", key="retry").status_code == 201
    with later(timedelta(hours=24, seconds=1)):
        reused = api.create_order("POS1", key="shared", external_reference="sale-9")
    assert reused.status_code == 201
    assert Order.objects.count() == 4


def test_get_errors(api, client):
    order = api.order("POS1")
    bad = api.call("GET", "/v1/orders/ord123")
    assert (bad.status_code, bad.json()["errors"][0]["code"]) == (400, "invalid_path_param")
    missing = api.call("GET", "/v1/orders/ORD" + "0" * 26)
    assert (missing.status_code, missing.json()["errors"][0]["code"]) == (404, "order_not_found")
    other = api.call("GET", f"/v1/orders/{order['id']}", token=seller_access_token("MLB"))
    assert other.status_code == 404
    unauthorized = api.call("GET", f"/v1/orders/{order['id']}", token="APP_USR-nope")
    assert unauthorized.status_code == 401
    assert unauthorized.json()["errors"][0]["code"] == "unauthorized"


def test_cancel_only_a_created_order(api):
    order = api.order("POS1")
    path = f"/v1/orders/{order['id']}/cancel"
    assert api.call("POST", path).json()["errors"][0]["code"] == "empty_required_header"
    canceled = api.call("POST", path, key="cancel-1")
    assert canceled.status_code == 200
    assert (canceled.json()["status"], canceled.json()["status_detail"]) == ("canceled",) * 2
    assert canceled.json()["transactions"]["payments"][0]["status_detail"] == "canceled_by_api"
    assert api.call("POST", path, key="cancel-1").json() == canceled.json()
    assert api.call("POST", path, key="cancel-2").status_code == 409
    [event] = webhooks(order["id"])
    assert (event.action, event.topic, event.kind) == ("order.canceled", "order", "webhook")
    assert event.query == {"data.id": order["id"], "type": "order"}
    assert event.application.client_id == CLIENT_ID


def test_paying_processes_the_order_and_writes_the_documented_webhook(api):
    order = paid_order(api)
    assert (order["status"], order["status_detail"]) == ("processed", "accredited")
    assert order["total_paid_amount"] == "50.00"
    [payment] = order["transactions"]["payments"]
    assert payment["reference_id"].isdigit()
    assert payment["payment_method"] == {
        "id": "account_money",
        "type": "account_money",
        "installments": 1,
    }
    [event] = webhooks(order["id"])
    assert event.body == {
        "action": "order.processed",
        "api_version": "v1",
        "application_id": CLIENT_ID,
        "data": {
            "id": order["id"],
            "external_reference": "sale-1",
            "status": "processed",
            "status_detail": "accredited",
            "total_amount": "50.00",
            "total_paid_amount": "50.00",
            "transactions": {
                "payments": [
                    {
                        "id": payment["id"],
                        "amount": "50.00",
                        "paid_amount": "50.00",
                        "payment_method": payment["payment_method"],
                        "reference": {"id": payment["reference_id"]},
                        "status": "processed",
                        "status_detail": "accredited",
                    }
                ]
            },
            "type": "qr",
            "version": 2,
        },
        "date_created": order["last_updated_date"],
        "live_mode": False,
        "type": "order",
        "user_id": str(api.user_id),
    }
    assert api.call("POST", f"/v1/orders/{order['id']}/cancel", key="c").status_code == 409


def test_total_refund(api):
    order = api.order("POS1")
    path = f"/v1/orders/{order['id']}/refund"
    assert api.call("POST", path, key="early").status_code == 409
    paid_order(api, key="key-2")
    order = api.order("POS1", key="key-3")
    api.pay(qr_data=order["type_response"]["qr_data"])
    path = f"/v1/orders/{order['id']}/refund"
    assert api.call("POST", path).json()["errors"][0]["code"] == "empty_required_header"
    refunded = api.call("POST", path, key="refund-1")
    assert refunded.status_code == 201
    body = refunded.json()
    assert (body["status"], body["status_detail"]) == ("processed", "accredited")
    [refund] = body["transactions"]["refunds"]
    assert is_id("REF", refund["id"])
    assert refund["transaction_id"] == body["transactions"]["payments"][0]["id"]
    assert (refund["amount"], refund["status"]) == ("50.00", "processing")
    body = api.call("GET", f"/v1/orders/{order['id']}").json()  # a read settles it
    assert (body["status"], body["status_detail"]) == ("refunded", "refunded")
    assert body["transactions"]["refunds"][0]["status"] == "processed"
    assert api.call("POST", path, key="refund-2").status_code == 409
    assert [e.action for e in webhooks(order["id"])] == ["order.processed", "order.refunded"]
    assert webhooks(order["id"])[-1].body["data"]["version"] == 3


def test_partial_refunds_accumulate_until_refunded(api):
    order = paid_order(api)
    pay_id = order["transactions"]["payments"][0]["id"]
    path = f"/v1/orders/{order['id']}/refund"

    def refund(amount: str, key: str):
        return api.call("POST", path, {"transactions": [{"id": pay_id, "amount": amount}]}, key=key)

    first = refund("20.00", "r1").json()
    assert first["transactions"]["refunds"][0]["status"] == "processing"
    assert first["transactions"]["payments"][0]["refunded_amount"] == "0.00"
    first = api.call("GET", f"/v1/orders/{order['id']}").json()  # a read settles it
    assert (first["status"], first["status_detail"]) == ("processed", "partially_refunded")
    assert first["transactions"]["payments"][0]["refunded_amount"] == "20.00"
    exceeds = refund("30.01", "r2")
    assert (exceeds.status_code, exceeds.json()["errors"][0]["code"]) == (
        400,
        "refund_amount_exceeds",
    )
    unknown = api.call(
        "POST", path, {"transactions": [{"id": "PAY" + "0" * 26, "amount": "1.00"}]}, key="r3"
    )
    assert (unknown.status_code, unknown.json()["errors"][0]["code"]) == (
        404,
        "transaction_not_found",
    )
    refund("30.00", "r4")
    last = api.call("GET", f"/v1/orders/{order['id']}").json()
    assert last["status"] == "refunded"
    assert [r["amount"] for r in last["transactions"]["refunds"]] == ["20.00", "30.00"]
    versions = [event.body["data"]["version"] for event in webhooks(order["id"])]
    assert versions == [2, 3, 4]


def test_search(api):
    first = api.order("POS1", key="a", external_reference="alpha")
    api.order("POS1", key="b", external_reference="beta")
    today = timezone.now().date().isoformat()
    missing = api.call("GET", "/v1/orders")
    assert missing.status_code == 400
    found = api.call(
        "GET", f"/v1/orders?begin_date={today}&end_date={today}&external_reference=alpha"
    ).json()
    assert [row["id"] for row in found["data"]] == [first["id"]]
    assert found["paging"] == {"total": 1, "total_pages": 1, "offset": 0, "limit": 50}
    paged = api.call("GET", f"/v1/orders?begin_date={today}&end_date={today}&limit=1&offset=1")
    assert paged.json()["paging"] == {"total": 2, "total_pages": 2, "offset": 1, "limit": 1}
    assert [row["external_reference"] for row in paged.json()["data"]] == ["beta"]
    api.call("POST", f"/v1/orders/{first['id']}/cancel", key="c")
    canceled = api.call(
        "GET", f"/v1/orders?begin_date={today}&end_date={today}&status=canceled"
    ).json()
    assert [row["id"] for row in canceled["data"]] == [first["id"]]


def test_listing_expires_due_orders(api):
    order = api.order("POS1")
    today = timezone.now().date().isoformat()
    with later(timedelta(minutes=16)):
        found = api.call("GET", f"/v1/orders?begin_date={today}&end_date={today}").json()
    assert found["data"][0]["status"] == "expired"
    assert [event.action for event in webhooks(order["id"])] == ["order.expired"]


def test_a_new_static_order_replaces_the_one_the_pos_shows(api):
    static = {"qr": {"external_pos_id": "POS1", "mode": "static"}}
    first = api.order("POS1", key="first", config=static)
    second = api.order("POS1", key="second", config=static)
    assert api.call("GET", f"/v1/orders/{first['id']}").json()["status"] == "canceled"
    assert [event.action for event in webhooks(first["id"])] == ["order.canceled"]
    paid = api.pay(user_id=str(api.user_id), external_pos_id="POS1").json()
    assert paid["order_id"] == second["id"]
