"""One method per endpoint: method, path, headers and body on the wire; typed answers."""

import json
from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from mpapi import UnexpectedResponse
from mpapi.instore import InstoreItem, InstoreOrderRequest, Tax
from mpapi.orders import OrderCreate, OrderItem, RefundTransaction, iso_duration
from mpapi.stores import Location, OpeningHours, PosCreate, PosUpdate, StoreRequest
from tests.mpapi.conftest import SELLER_TOKEN

ORDER_ID = "ORD01JQ4S4KY8HWQ6NA5PXB65B3D3"
PAYMENT_ID = "PAY01JQ4S4KY8HWQ6NA5PXB65B3D4"
ORDER = {
    "id": ORDER_ID,
    "type": "qr",
    "user_id": "100000002",
    "external_reference": "sale-1",
    "total_amount": "50.00",
    "total_paid_amount": "50.00",
    "currency": "BRL",
    "country_code": "BRA",
    "status": "processed",
    "status_detail": "accredited",
    "expiration_time": "PT10M",
    "created_date": "2025-05-12T22:46:59.635090485Z",
    "last_updated_date": "2025-05-12T22:47:10Z",
    "config": {"qr": {"external_pos_id": "POS1", "mode": "dynamic"}},
    "type_response": {"qr_data": "00020101021226940014BR.GOV.BCB.PIX"},
    "transactions": {
        "payments": [
            {
                "id": PAYMENT_ID,
                "amount": "50.00",
                "paid_amount": "50.00",
                "refunded_amount": "10.00",
                "status": "processed",
                "status_detail": "accredited",
                "reference": {"id": "92937960454"},
                "payment_method": {"id": "account_money", "type": "account_money"},
            }
        ],
        "refunds": [
            {
                "id": "REF01JQ4S4KY8HWQ6NA5PXB65B3D5",
                "transaction_id": PAYMENT_ID,
                "amount": "10.00",
                "status": "processing",
            }
        ],
    },
    "some_future_field": {"tolerated": True},
}
STORE = {"id": 1234567, "name": "Loja", "external_id": "STORE1", "location": {"latitude": -23.5}}
POS = {"id": 7654321, "name": "Caja 1", "external_id": "POS1", "store_id": "1234567"}
INSTORE = InstoreOrderRequest(
    external_reference="sale-1",
    title="Sale",
    total_amount=Decimal("100"),
    currency="ARS",
    items=(InstoreItem(title="Pasta", unit_price=Decimal("20"), quantity=5),),
)
INSTORE_JSON = {
    "external_reference": "sale-1",
    "title": "Sale",
    "total_amount": 100,
    "items": [
        {
            "title": "Pasta",
            "unit_price": 20,
            "quantity": 5,
            "unit_measure": "unit",
            "total_amount": 100,
        }
    ],
}
LOCATION = Location("Rua A", "1", "Sao Paulo", "SP", Decimal("-23.5505"), Decimal("-46.6333"))
STORE_REQUEST = StoreRequest(name="Loja", external_id="STORE1", location=LOCATION)
STORE_JSON = {
    "name": "Loja",
    "external_id": "STORE1",
    "location": {
        "street_name": "Rua A",
        "street_number": "1",
        "city_name": "Sao Paulo",
        "state_name": "SP",
        "latitude": -23.5505,
        "longitude": -46.6333,
    },
}
LEGACY = "/instore/qr/seller/collectors/100000001"
DYNAMIC = "/instore/orders/qr/seller/collectors/100000001/pos/POS1/qrs"

USER = 100000001
TOKEN = SELLER_TOKEN


def endpoint(invoke, method, path, *, query=None, sent=None, status=200, answer=None):
    """A case of the endpoint table: what to call, what goes on the wire, what comes back."""
    return pytest.param(invoke, method, path, query or {}, sent, status, answer, id=method + path)


ENDPOINTS = [
    endpoint(
        lambda c: c.create_dynamic_qr(TOKEN, user_id=USER, external_pos_id="POS1", order=INSTORE),
        "POST",
        DYNAMIC,
        sent=INSTORE_JSON,
        answer={"qr_data": "000201", "in_store_order_id": "x"},
    ),
    endpoint(
        lambda c: c.create_hybrid_qr(TOKEN, user_id=USER, external_pos_id="POS1", order=INSTORE),
        "PUT",
        DYNAMIC,
        sent=INSTORE_JSON,
        status=201,
    ),
    endpoint(
        lambda c: c.put_pos_order(
            TOKEN, user_id=USER, external_store_id="STORE1", external_pos_id="POS1", order=INSTORE
        ),
        "PUT",
        f"{LEGACY}/stores/STORE1/pos/POS1/orders",
        sent=INSTORE_JSON,
        status=204,
    ),
    endpoint(
        lambda c: c.get_pos_orders(TOKEN, user_id=USER, external_pos_id="POS1"),
        "GET",
        f"{LEGACY}/pos/POS1/orders",
        answer=[{"external_reference": "sale-1"}],
    ),
    endpoint(
        lambda c: c.delete_pos_order(TOKEN, user_id=USER, external_pos_id="POS1"),
        "DELETE",
        f"{LEGACY}/pos/POS1/orders",
        status=204,
    ),
    endpoint(lambda c: c.get_order(TOKEN, ORDER_ID), "GET", f"/v1/orders/{ORDER_ID}", answer=ORDER),
    endpoint(
        lambda c: c.cancel_order(TOKEN, ORDER_ID, idempotency_key="k"),
        "POST",
        f"/v1/orders/{ORDER_ID}/cancel",
        answer=ORDER,
    ),
    endpoint(
        lambda c: c.refund_order(TOKEN, ORDER_ID, idempotency_key="k"),
        "POST",
        f"/v1/orders/{ORDER_ID}/refund",
        status=201,
        answer=ORDER,
    ),
    endpoint(
        lambda c: c.refund_order_partially(
            TOKEN,
            ORDER_ID,
            [RefundTransaction(PAYMENT_ID, Decimal("10"))],
            currency="BRL",
            idempotency_key="k",
        ),
        "POST",
        f"/v1/orders/{ORDER_ID}/refund",
        sent={"transactions": [{"id": PAYMENT_ID, "amount": "10.00"}]},
        status=201,
        answer=ORDER,
    ),
    endpoint(
        lambda c: c.search_orders(
            TOKEN,
            begin_date=datetime(2025, 5, 1, tzinfo=UTC),
            end_date=datetime(2025, 5, 2, 3, tzinfo=timezone(timedelta(hours=-3))),
            external_reference="sale-1",
            page_size=50,
        ),
        "GET",
        "/v1/orders",
        query={
            "begin_date": "2025-05-01T00:00:00Z",
            "end_date": "2025-05-02T06:00:00Z",
            "external_reference": "sale-1",
            "page_size": "50",
        },
        answer={"data": [ORDER], "paging": {"total": 1, "offset": 0, "limit": 50}},
    ),
    endpoint(
        lambda c: c.create_store(TOKEN, USER, STORE_REQUEST),
        "POST",
        f"/users/{USER}/stores",
        sent=STORE_JSON,
        answer=STORE,
    ),
    endpoint(
        lambda c: c.search_stores(TOKEN, USER, external_id="STORE1"),
        "GET",
        f"/users/{USER}/stores/search",
        query={"external_id": "STORE1"},
        answer={"paging": {"total": 1, "offset": 0, "limit": 50}, "results": [STORE]},
    ),
    endpoint(lambda c: c.get_store(TOKEN, 1234567), "GET", "/stores/1234567", answer=STORE),
    endpoint(
        lambda c: c.update_store(TOKEN, USER, 1234567, STORE_REQUEST),
        "PUT",
        f"/users/{USER}/stores/1234567",
        sent=STORE_JSON,
        answer=STORE,
    ),
    endpoint(
        lambda c: c.delete_store(TOKEN, USER, 1234567),
        "DELETE",
        f"/users/{USER}/stores/1234567",
        answer={"store": 1234567, "user": USER},
    ),
    endpoint(
        lambda c: c.create_pos(
            TOKEN, PosCreate("Caja 1", "POS1", 1234567, "STORE1", category=5611)
        ),
        "POST",
        "/pos",
        sent={
            "name": "Caja 1",
            "external_id": "POS1",
            "store_id": 1234567,
            "external_store_id": "STORE1",
            "fixed_amount": True,
            "category": 5611,
        },
        answer=POS,
    ),
    endpoint(
        lambda c: c.search_pos(TOKEN, external_store_id="STORE1", limit=10, offset=20),
        "GET",
        "/pos",
        query={"external_store_id": "STORE1", "limit": "10", "offset": "20"},
        answer={"paging": {"total": 21, "offset": 20, "limit": 10}, "results": [POS]},
    ),
    endpoint(lambda c: c.get_pos(TOKEN, 7654321), "GET", "/pos/7654321", answer=POS),
    endpoint(
        lambda c: c.update_pos(TOKEN, 7654321, PosUpdate(name="Caja 2", fixed_amount=False)),
        "PUT",
        "/pos/7654321",
        sent={"name": "Caja 2", "fixed_amount": False},
        answer=POS,
    ),
    endpoint(lambda c: c.delete_pos(TOKEN, 7654321), "DELETE", "/pos/7654321", status=204),
    endpoint(
        lambda c: c.get_me(TOKEN),
        "GET",
        "/users/me",
        answer={"id": 100000001, "nickname": "SELLER", "site_id": "MLA", "country_id": "AR"},
    ),
    endpoint(
        lambda c: c.get_merchant_order(TOKEN, 123),
        "GET",
        "/merchant_orders/123",
        answer={"id": 123, "status": "closed"},
    ),
    endpoint(
        lambda c: c.search_merchant_orders(TOKEN, external_reference="sale-1"),
        "GET",
        "/merchant_orders/search",
        query={"external_reference": "sale-1"},
        answer={"elements": [{"id": 123}], "next_offset": 1, "total": 1},
    ),
    endpoint(
        lambda c: c.get_payment(TOKEN, 92937960454),
        "GET",
        "/v1/payments/92937960454",
        answer={"id": 92937960454, "status": "approved"},
    ),
    endpoint(
        lambda c: c.refund_payment(TOKEN, 92937960454, idempotency_key="k"),
        "POST",
        "/v1/payments/92937960454/refunds",
        sent={},
        status=201,
        answer={"id": 1, "amount": 50},
    ),
    endpoint(
        lambda c: c.refund_payment_partially(
            TOKEN, 92937960454, Decimal("5"), currency="CLP", idempotency_key="k"
        ),
        "POST",
        "/v1/payments/92937960454/refunds",
        sent={"amount": 5},
        status=201,
        answer={"id": 2, "amount": 5},
    ),
]


@pytest.mark.parametrize(
    ("invoke", "method", "path", "query", "sent", "status", "answer"), ENDPOINTS
)
def test_each_endpoint_goes_to_its_method_and_path(
    client, server, invoke, method, path, query, sent, status, answer
):
    server.answer(status, answer)
    invoke(client)

    request = server.last
    assert request.method == method
    assert request.url.path == f"/sandbox{path}"
    assert dict(request.url.params) == query
    assert (json.loads(request.content) if request.content else None) == sent
    assert request.headers["Authorization"] == f"Bearer {SELLER_TOKEN}"


def test_common_headers(client, server):
    server.answer(201, ORDER)
    client.refund_order(SELLER_TOKEN, ORDER_ID, idempotency_key="order-1-refund-0")

    headers = server.last.headers
    assert headers["X-Idempotency-Key"] == "order-1-refund-0"
    assert headers["X-Platform-Id"] == "dev_platform"
    assert headers["X-Integrator-Id"] == "dev_integrator"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("merchant-platform/")


def test_attribution_headers_are_left_out_when_not_configured(make_client, server):
    client = make_client(platform_id="", integrator_id="")
    server.answer(200, ORDER)
    client.get_order(SELLER_TOKEN, ORDER_ID)
    assert "X-Platform-Id" not in server.last.headers
    assert "X-Integrator-Id" not in server.last.headers
    assert "X-Idempotency-Key" not in server.last.headers


def test_the_token_belongs_to_the_call_not_the_client(client, server):
    server.answer(200, ORDER)
    server.answer(200, ORDER)
    client.get_order("APP_USR-seller-a-token", ORDER_ID)
    client.get_order("APP_USR-seller-b-token", ORDER_ID)
    assert [request.headers["Authorization"] for request in server.requests] == [
        "Bearer APP_USR-seller-a-token",
        "Bearer APP_USR-seller-b-token",
    ]


def test_path_parameters_stay_one_segment(client, server):
    server.answer(200, ORDER)
    client.get_order(SELLER_TOKEN, "ORD1/../../users")
    assert server.last.url.raw_path == b"/sandbox/v1/orders/ORD1%2F..%2F..%2Fusers"


def test_create_order_body_and_answer(client, server):
    server.answer(201, ORDER)
    order = client.create_order(
        SELLER_TOKEN,
        OrderCreate(
            external_reference="sale-1",
            external_pos_id="POS1",
            total_amount=Decimal("50"),
            currency="BRL",
            mode="dynamic",
            description="Two coffees",
            expiration_time=timedelta(minutes=10),
            items=(OrderItem(title="Coffee", unit_price=Decimal("25"), quantity=2),),
            sponsor_id="900000001",
        ),
        idempotency_key="order-1-create",
    )

    assert server.last.url.path == "/sandbox/v1/orders"
    assert server.last_json() == {
        "type": "qr",
        "external_reference": "sale-1",
        "total_amount": "50.00",
        "config": {"qr": {"external_pos_id": "POS1", "mode": "dynamic"}},
        "transactions": {"payments": [{"amount": "50.00"}]},
        "description": "Two coffees",
        "expiration_time": "PT10M",
        "items": [
            {"title": "Coffee", "unit_price": "25.00", "quantity": 2, "unit_measure": "unit"}
        ],
        "integration_data": {"sponsor": {"id": "900000001"}},
    }
    assert (order.id, order.status, order.status_detail) == (ORDER_ID, "processed", "accredited")
    assert (order.external_pos_id, order.mode) == ("POS1", "dynamic")
    assert order.qr_data == "00020101021226940014BR.GOV.BCB.PIX"
    assert order.total_paid_amount == Decimal("50.00")
    assert order.created_date == datetime(2025, 5, 12, 22, 46, 59, 635090, tzinfo=UTC)
    (payment,) = order.payments
    assert (payment.id, payment.reference_id, payment.payment_method_id) == (
        PAYMENT_ID,
        "92937960454",
        "account_money",
    )
    assert payment.refunded_amount == Decimal("10.00")
    (refund,) = order.refunds
    assert (refund.transaction_id, refund.amount, refund.status) == (
        PAYMENT_ID,
        Decimal("10.00"),
        "processing",
    )
    assert order.raw["some_future_field"] == {"tolerated": True}


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(seconds=30), "PT30S"),
        (timedelta(hours=1, minutes=30), "PT1H30M"),
        (timedelta(hours=3600), "PT3600H"),
    ],
)
def test_expiration_time_is_an_iso_duration(duration, text):
    assert iso_duration(duration) == text


def test_hybrid_qr_accepts_an_answer_with_qr_data(client, server):
    server.answer(201, {"qr_data": "000201010212"})
    qr = client.create_hybrid_qr(SELLER_TOKEN, user_id=1, external_pos_id="POS1", order=INSTORE)
    assert qr.qr_data == "000201010212"


def test_hybrid_qr_accepts_an_empty_answer(client, server):
    server.answer(201)
    qr = client.create_hybrid_qr(SELLER_TOKEN, user_id=1, external_pos_id="POS1", order=INSTORE)
    assert (qr.qr_data, qr.in_store_order_id) == (None, None)


def test_legacy_body_with_every_optional_field(client, server):
    server.answer(200, {"qr_data": "000201"})
    order = InstoreOrderRequest(
        external_reference="sale-1",
        title="Sale",
        total_amount=Decimal("1190"),
        currency="COP",
        items=(InstoreItem("Item1", Decimal("238"), 5, sku_number="KS955RUR", category="FOOD"),),
        description="Mercado Pago",
        notification_url="https://platform.test/mp",
        expiration_date=datetime(
            2023, 8, 22, 16, 34, 56, 559000, tzinfo=timezone(timedelta(hours=-4))
        ),
        sponsor_id=900000001,
        taxes=(Tax(Decimal("190")),),
    )
    client.create_dynamic_qr(SELLER_TOKEN, user_id=1, external_pos_id="POS1", order=order)

    body = server.last_json()
    assert body["expiration_date"] == "2023-08-22T16:34:56.559-04:00"
    assert body["sponsor"] == {"id": 900000001}
    assert body["taxes"] == [{"value": 190, "type": "IVA"}]
    assert body["items"][0]["sku_number"] == "KS955RUR"
    assert body["notification_url"] == "https://platform.test/mp"


def test_store_body_with_business_hours(client, server):
    server.answer(200, STORE)
    hours = (OpeningHours(time(8), time(12)), OpeningHours(time(14), time(18, 30)))
    store = StoreRequest("Loja", "STORE1", LOCATION, business_hours={"monday": hours})
    client.create_store(SELLER_TOKEN, 100000001, store)

    assert server.last_json()["business_hours"] == {
        "monday": [{"open": "08:00", "close": "12:00"}, {"open": "14:00", "close": "18:30"}]
    }


def test_store_answer(client, server):
    server.answer(200, {**STORE, "location": {"latitude": -23.5505, "address_line": "Rua A 1"}})
    store = client.get_store(SELLER_TOKEN, 1234567)
    assert (store.id, store.address_line, store.latitude) == (
        1234567,
        "Rua A 1",
        Decimal("-23.5505"),
    )


def test_pos_answer(client, server):
    server.answer(
        200,
        {
            **POS,
            "qr_code": "000201",
            "qr": {"image": "https://x/qr.png", "template_document": "https://x/t.pdf"},
            "fixed_amount": True,
            "category": 621102,
        },
    )
    pos = client.get_pos(SELLER_TOKEN, 7654321)
    assert (pos.id, pos.store_id, pos.qr_code, pos.qr_image) == (
        7654321,
        1234567,
        "000201",
        "https://x/qr.png",
    )
    assert (pos.fixed_amount, pos.category) == (True, 621102)


def test_merchant_order_search_answer(client, server):
    server.answer(
        200,
        {
            "elements": [
                {
                    "id": 123,
                    "status": "closed",
                    "order_status": "paid",
                    "total_amount": 100.5,
                    "paid_amount": 100.5,
                    "payments": [
                        {"id": 92937960454, "status": "approved", "transaction_amount": 100.5}
                    ],
                }
            ],
            "next_offset": 1,
            "total": 1,
        },
    )
    page = client.search_merchant_orders(SELLER_TOKEN, external_reference="sale-1")
    (merchant_order,) = page.results
    assert (page.total, page.next_offset) == (1, 1)
    assert (merchant_order.status, merchant_order.order_status) == ("closed", "paid")
    assert merchant_order.paid_amount == Decimal("100.5")
    assert merchant_order.payments[0].transaction_amount == Decimal("100.5")


def test_payment_answer(client, server):
    server.answer(
        200,
        {
            "id": 92937960454,
            "status": "approved",
            "transaction_amount": 100.5,
            "order": {"id": 123},
        },
    )
    payment = client.get_payment(SELLER_TOKEN, 92937960454)
    assert (payment.status, payment.transaction_amount, payment.merchant_order_id) == (
        "approved",
        Decimal("100.5"),
        123,
    )


def test_payment_of_an_orders_api_order_has_no_merchant_order(client, server):
    order = {"id": ORDER_ID, "type": "mp_order"}
    server.answer(200, {"id": 92937960454, "status": "approved", "order": order})
    payment = client.get_payment(SELLER_TOKEN, 92937960454)
    assert (payment.status, payment.merchant_order_id) == ("approved", None)
    assert payment.raw["order"] == order


def test_pos_orders_answer(client, server):
    item = {"title": "Pasta", "unit_price": 20.5, "quantity": 5}
    server.answer(200, [{"external_reference": "sale-1", "total_amount": 100, "items": [item]}])
    (current,) = client.get_pos_orders(SELLER_TOKEN, user_id=1, external_pos_id="POS1")
    assert current.items[0].unit_price == Decimal("20.5")


def test_search_pages(client, server):
    server.answer(200, {"data": [ORDER], "paging": {"total": 1, "offset": 0, "limit": 50}})
    page = client.search_orders(
        SELLER_TOKEN,
        begin_date=datetime(2025, 5, 1, tzinfo=UTC),
        end_date=datetime(2025, 5, 2, tzinfo=UTC),
    )
    assert [order.id for order in page.results] == [ORDER_ID]
    assert (page.total, page.offset, page.limit) == (1, 0, 50)


def test_search_dates_must_be_aware(client, server):
    with pytest.raises(ValueError, match="timezone-aware"):
        client.search_orders(
            SELLER_TOKEN, begin_date=datetime(2025, 5, 1), end_date=datetime(2025, 5, 2)
        )
    assert server.requests == []


def test_a_partial_refund_needs_lines(client):
    with pytest.raises(ValueError, match="at least one"):
        client.refund_order_partially(
            SELLER_TOKEN, ORDER_ID, [], currency="BRL", idempotency_key="k"
        )


def test_a_list_where_an_object_is_expected_is_unexpected(client, server):
    server.answer(200, [ORDER])
    with pytest.raises(UnexpectedResponse):
        client.get_order(SELLER_TOKEN, ORDER_ID)
