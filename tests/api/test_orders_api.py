"""``/api/v1/orders``: create (every API and mode), list with filters and cursor pagination, read,
cancel, refund and the QR image, against the sandbox in-process with real partner tokens.

What the sandbox received (its own order tables) proves what was sent to Mercado Pago; buyers pay
with the sandbox's wallet and ``orders.services.refresh_order`` brings the payment in, as the
reconciliation would.
"""

import json
from datetime import datetime, timedelta
from decimal import Decimal
from io import BytesIO
from xml.etree import ElementTree

import pytest
import zxingcpp
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from orders import services
from orders.models import Order, OrderItem, Refund
from sandbox import models as sandbox_models
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.factories import make_member, make_order, make_payment, make_pos
from tests.faults import set_faults
from tests.orders.conftest import pay

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

ORDERS = "/api/v1/orders"
ITEMS = [
    {"title": "Milanesa", "unit_price": "25.00", "quantity": 2, "sku": "MIL-1"},
    {"title": "Flan", "unit_price": "7.50"},
]
COMBINATIONS = [
    (api, mode) for api in ("v1", "instore") for mode in ("dynamic", "hybrid", "static")
]


def post(client: Client, path: str, body: dict | None = None, **headers: str):
    return client.post(
        path, json.dumps(body or {}), content_type="application/json", headers=headers
    )


def order_body(pos, **fields) -> dict:
    return {
        "pos": pos.pk,
        "api": "v1",
        "mode": "dynamic",
        "external_reference": "sale-1",
        "title": "Lunch",
        "items": ITEMS,
    } | fields


def create(partner, pos, **fields) -> dict:
    response = post(partner, ORDERS, order_body(pos, **fields))
    assert response.status_code == 201, response.content
    return response.json()


def local(tenant, uid: str) -> Order:
    with tenant_scope(tenant):
        return Order.objects.select_related("tenant", "pos").get(uid=uid)


def paid(partner, seller, pos, client, api_name: str = "v1") -> dict:
    """An order of 100.00 created through the API and paid by the buyer."""
    body = create(
        partner, pos, api=api_name, items=[{"title": "Bife", "unit_price": "50.00", "quantity": 2}]
    )
    order = local(seller, body["uid"])
    pay(client, order)
    services.refresh_order(tenant=seller, order=order)
    return body


def decode(png: bytes) -> str:
    (barcode,) = zxingcpp.read_barcodes(
        Image.open(BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    return barcode.text


# Create ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("api_name", "mode"), COMBINATIONS)
def test_an_order_is_created_in_mercado_pago_with_every_api_and_mode(
    partner, seller, pos, api_name, mode
):
    body = create(partner, pos, api=api_name, mode=mode, expiration_time="PT15M")

    sent = sandbox_models.Order.objects.get()
    assert (body["status"], body["api"], body["mode"]) == ("created", api_name, mode)
    assert (body["pos"], body["store"]) == (pos.pk, pos.store_id)
    assert body["total_amount"] == "57.50" == f"{sent.total_amount:.2f}"
    assert body["qr_data"] == sent.qr_data
    assert bool(body["qr_data"]) == (mode != "static")  # static: the buyer scans the POS's QR
    assert [
        (i["title"], i["unit_price"], i["quantity"], i["total_amount"]) for i in body["items"]
    ] == [
        ("Milanesa", "25.00", 2, "50.00"),
        ("Flan", "7.50", 1, "7.50"),
    ]
    assert body["items"][0]["sku"] == "MIL-1"
    expires_at = datetime.fromisoformat(body["expires_at"])
    if api_name == "v1" and mode == "static":
        assert expires_at <= timezone.now() + timedelta(minutes=10)  # Mercado Pago's cap
    else:
        assert abs(expires_at - (timezone.now() + timedelta(minutes=15))) < timedelta(seconds=30)
    assert local(seller, body["uid"]).mp_order_id == body["mercadopago_order_id"]


def test_an_order_with_a_total_and_no_items(partner, pos):
    body = create(partner, pos, items=[], total_amount="12.30")
    assert (body["total_amount"], body["items"]) == ("12.30", [])
    assert sandbox_models.Order.objects.get().total_amount == Decimal("12.30")


def test_validation_errors_name_the_dotted_field_and_nothing_is_sent(partner, pos):
    items = [{"title": "Agua", "unit_price": "2.00"}, {"title": "Pan", "unit_price": "-1"}]

    response = post(partner, ORDERS, order_body(pos, items=items))

    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "validation_error"
    assert error["fields"]["items.1.unit_price"][0]["code"] == "property_value"  # Mercado Pago's
    assert sandbox_models.Order.objects.count() == 0


def test_input_of_the_wrong_shape_is_named_by_its_dotted_field(partner, pos):
    items = [{"title": "Agua", "unit_price": "2.00", "quantity": "two"}, {"unit_price": "x"}]

    response = post(partner, ORDERS, order_body(pos, items=items, expiration_time="soon"))

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {
        "items.0.quantity",
        "items.1.title",
        "items.1.unit_price",
        "expiration_time",
    }
    assert fields["items.1.title"][0]["code"] == "required"


def test_a_pos_of_another_seller_is_as_unknown_as_one_that_does_not_exist(partner, pos, tenant_b):
    foreign = make_pos(tenant_b)

    answers = [post(partner, ORDERS, order_body(pos) | {"pos": pk}) for pk in (foreign.pk, 999999)]

    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].json() | {"request_id": ""} == answers[1].json() | {"request_id": ""}
    assert (
        answers[0].json()["fields"]["pos"][0]["message"] == "Choose a point of sale of this seller."
    )
    assert sandbox_models.Order.objects.count() == 0


def test_a_retried_create_with_the_same_key_gets_the_first_order(partner, seller, pos):
    first = post(partner, ORDERS, order_body(pos), **{"Idempotency-Key": "sale-1-try"})
    again = post(partner, ORDERS, order_body(pos), **{"Idempotency-Key": "sale-1-try"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["uid"] == first.json()["uid"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert sandbox_models.Order.objects.count() == 1
    with tenant_scope(seller):
        assert Order.objects.count() == 1


def test_a_key_reused_with_another_body_is_409(partner, pos):
    post(partner, ORDERS, order_body(pos), **{"Idempotency-Key": "k1"})

    response = post(
        partner, ORDERS, order_body(pos, external_reference="sale-2"), **{"Idempotency-Key": "k1"}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert sandbox_models.Order.objects.count() == 1


def test_an_order_mercado_pago_cannot_take_now_is_201_pending(partner, pos, client):
    set_faults(client, seed=1, path_regex="/v1/orders", error_rate="1", error_statuses=[503])

    response = post(partner, ORDERS, order_body(pos))

    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert response.json()["qr_data"] == ""


# List --------------------------------------------------------------------------------------


@pytest.fixture
def listed(seller, pos):
    """Orders of several kinds, and when each was created."""
    other_pos = make_pos(seller)
    now = timezone.now()
    orders = {
        "paid": make_order(seller, pos, status="processed", external_reference="ref-paid"),
        "legacy": make_order(seller, pos, api="instore", mode="hybrid", status="created"),
        "static": make_order(seller, other_pos, mode="static", status="created"),
        "old": make_order(seller, other_pos, status="expired"),
    }
    with tenant_scope(seller):
        Order.objects.filter(pk=orders["old"].pk).update(created_at=now - timedelta(days=3))
    return orders


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "created"}, {"legacy", "static"}),
        ({"api": "instore"}, {"legacy"}),
        ({"mode": "static"}, {"static"}),
        ({"external_reference": "ref-paid"}, {"paid"}),
        ({"pos": "POS"}, {"paid", "legacy"}),
        ({"store": "OTHER_STORE"}, {"static", "old"}),
        ({"created_before": "DAY_AGO"}, {"old"}),
        ({"created_after": "DAY_AGO"}, {"paid", "legacy", "static"}),
        ({"status": "created", "pos": "POS"}, {"legacy"}),
    ],
)
def test_list_filters_select_the_right_orders(partner, pos, listed, query, expected):
    values = {
        "POS": pos.pk,
        "OTHER_STORE": listed["static"].pos.store_id,
        "DAY_AGO": (timezone.now() - timedelta(days=1)).isoformat(),
    }
    query = {name: values.get(value, value) for name, value in query.items()}

    response = partner.get(ORDERS, query)

    assert response.status_code == 200
    uids = {row["uid"] for row in response.json()["results"]}
    assert uids == {str(listed[name].uid) for name in expected}


def test_an_invalid_filter_is_400(partner, listed):
    response = partner.get(ORDERS, {"created_after": "yesterday", "pos": "1.5"})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"created_after", "pos"}


def test_the_cursor_walks_every_order_newest_first_once(partner, seller, pos):
    made = [make_order(seller, pos) for _ in range(7)]
    seen, url = [], f"{ORDERS}?limit=3"

    while url:
        page = partner.get(url).json()
        seen += [row["uid"] for row in page["results"]]
        url = page["next"]

    assert seen == [str(order.uid) for order in reversed(made)]


def test_a_page_costs_the_same_queries_whatever_its_size(
    partner, seller, pos, django_assert_max_num_queries
):
    for _ in range(6):
        order = make_order(seller, pos, status="processed")
        payment = make_payment(seller, order)
        with tenant_scope(seller):
            OrderItem.objects.create(
                tenant=seller,
                order=order,
                position=0,
                title="Bife",
                unit_price=Decimal("100.00"),
                quantity=1,
            )
            Refund.objects.create(
                tenant=seller, order=order, payment=payment, amount=Decimal("5.00")
            )
    with CaptureQueriesContext(connection) as one_row:
        assert len(partner.get(ORDERS, {"limit": 1}).json()["results"]) == 1

    with django_assert_max_num_queries(len(one_row)):
        page = partner.get(ORDERS, {"limit": 6}).json()["results"]

    assert [(len(r["items"]), len(r["payments"]), len(r["refunds"])) for r in page] == [
        (1, 1, 1)
    ] * 6
    assert page[0]["refunds"][0]["payment"] == page[0]["payments"][0]["mercadopago_payment_id"]


# Read, cancel, refund ----------------------------------------------------------------------


def test_a_paid_order_shows_its_payment(partner, seller, pos, client):
    uid = paid(partner, seller, pos, client)["uid"]

    body = partner.get(f"{ORDERS}/{uid}").json()

    assert body["status"] == "processed"
    assert body["paid_amount"] == "100.00"
    assert body["amount_available_for_refund"] == "100.00"
    (payment,) = body["payments"]
    assert (payment["paid_amount"], payment["refunded_amount"]) == ("100.00", "0.00")
    made = sandbox_models.Payment.objects.get()
    assert (payment["mercadopago_payment_id"], payment["reference_id"]) == (
        made.transaction_id,
        str(made.pk),
    )
    assert body["paid_at"] is not None


def test_an_unknown_uid_is_404(partner):
    response = partner.get(f"{ORDERS}/6f1c9a5e-93c5-4c8e-9a59-2ed6f1d4c1a0")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_an_open_order_is_canceled_in_mercado_pago(partner, pos):
    uid = create(partner, pos)["uid"]

    response = post(partner, f"{ORDERS}/{uid}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert sandbox_models.Order.objects.get().status == "canceled"
    again = post(partner, f"{ORDERS}/{uid}/cancel")
    assert (again.status_code, again.json()["code"]) == (409, "order_not_cancelable")


def test_a_legacy_dynamic_qr_cannot_be_canceled(partner, pos):
    uid = create(partner, pos, api="instore")["uid"]

    response = post(partner, f"{ORDERS}/{uid}/cancel")

    assert (response.status_code, response.json()["code"]) == (
        409,
        "legacy_dynamic_order_cannot_be_deleted",
    )


@pytest.mark.parametrize("api_name", ["v1", "instore"])
def test_a_partial_then_a_total_refund(partner, seller, pos, client, api_name):
    uid = paid(partner, seller, pos, client, api_name)["uid"]

    partial = post(
        partner, f"{ORDERS}/{uid}/refund", {"amount": "40.00"}, **{"Idempotency-Key": "r1"}
    )
    replayed = post(
        partner, f"{ORDERS}/{uid}/refund", {"amount": "40.00"}, **{"Idempotency-Key": "r1"}
    )
    total = post(partner, f"{ORDERS}/{uid}/refund")

    assert (partial.status_code, replayed.status_code, total.status_code) == (201, 201, 201)
    assert replayed.json() == partial.json()
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert partial.json()["status"] == "processed"
    assert [(r["amount"], r["status"]) for r in partial.json()["refunds"]] == [
        ("40.00", "processed")
    ]
    assert (partial.json()["refunded_amount"], partial.json()["amount_available_for_refund"]) == (
        "40.00",
        "60.00",
    )
    body = total.json()
    assert body["status"] == "refunded"
    assert [r["amount"] for r in body["refunds"]] == ["40.00", "60.00"]
    assert all(r["mercadopago_refund_id"] for r in body["refunds"])
    assert (body["refunded_amount"], body["amount_available_for_refund"]) == ("100.00", "0.00")


def test_a_refund_above_what_is_left_is_400_on_amount(partner, seller, pos, client):
    uid = paid(partner, seller, pos, client)["uid"]

    response = post(partner, f"{ORDERS}/{uid}/refund", {"amount": "100.01"})

    assert response.status_code == 400
    assert response.json()["fields"]["amount"][0]["code"] == "refund_amount_exceeds"


def test_an_unpaid_order_cannot_be_refunded(partner, pos):
    uid = create(partner, pos)["uid"]

    response = post(partner, f"{ORDERS}/{uid}/refund")

    assert (response.status_code, response.json()["code"]) == (409, "order_not_refundable")


# QR images ---------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", [None, "image/png", "application/json"])
def test_the_png_decodes_to_the_orders_qr_data(partner, pos, accept):
    body = create(partner, pos)
    headers = {"Accept": accept} if accept else {}

    response = partner.get(f"{ORDERS}/{body['uid']}/qr.png", headers=headers)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert decode(response.content) == body["qr_data"]


def test_a_static_orders_png_is_its_pos_fixed_qr(partner, pos):
    body = create(partner, pos, mode="static")

    response = partner.get(f"{ORDERS}/{body['uid']}/qr.png")

    assert decode(response.content) == pos.qr_code


def test_the_svg_is_served_as_svg(partner, pos):
    uid = create(partner, pos)["uid"]

    response = partner.get(f"{ORDERS}/{uid}/qr.svg", headers={"Accept": "image/svg+xml"})

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    root = ElementTree.fromstring(response.content)  # noqa: S314 (our own output)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_an_order_with_no_qr_yet_has_no_image(partner, seller, pos):
    order = make_order(seller, pos)  # pending: Mercado Pago has not given it a QR

    response = partner.get(f"{ORDERS}/{order.uid}/qr.png", headers={"Accept": "image/png"})

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_bad_image_options_are_400_in_the_api_format(partner, pos):
    uid = create(partner, pos)["uid"]

    response = partner.get(f"{ORDERS}/{uid}/qr.png", {"size": "99"})

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


# Who may do what ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "method", "path"),
    [
        ({"orders:read"}, "post", ORDERS),
        ({"orders:write"}, "get", ORDERS),
        ({"pos:read", "orders:write"}, "get", f"{ORDERS}/UID/qr.png"),
        ({"orders:read"}, "post", f"{ORDERS}/UID/cancel"),
        ({"orders:read"}, "post", f"{ORDERS}/UID/refund"),
    ],
)
def test_a_token_without_the_scope_is_403(seller, pos, scopes, method, path):
    order = make_order(seller, pos)
    client = api_client(issue_token(seller, frozenset(scopes)))

    json_body = {"content_type": "application/json"} if method == "post" else {}
    response = getattr(client, method)(path.replace("UID", str(order.uid)), **json_body)

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_another_sellers_token_finds_none_of_the_orders(partner, seller, pos, tenant_b):
    body = create(partner, pos)
    other = api_client(issue_token(tenant_b))
    detail = f"{ORDERS}/{body['uid']}"

    answers = [
        other.get(detail),
        other.get(f"{detail}/qr.png", headers={"Accept": "image/png"}),
        other.get(f"{detail}/qr.svg"),
        post(other, f"{detail}/cancel"),
        post(other, f"{detail}/refund", {"amount": "1.00"}),
    ]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [(404, "not_found")] * 5
    assert other.get(ORDERS).json()["results"] == []
    assert sandbox_models.Order.objects.get().status == "created"


def test_a_signed_in_viewer_can_browse_orders_but_not_create_them(client, seller, pos):
    order = make_order(seller, pos)
    client.force_login(make_member(seller, "viewer"))

    page = client.get(ORDERS, headers={"Accept": "text/html"})
    detail = client.get(f"{ORDERS}/{order.uid}", headers={"Accept": "application/json"})
    created = post(client, ORDERS, order_body(pos))
    canceled = post(client, f"{ORDERS}/{order.uid}/cancel")

    assert page.status_code == 200
    assert str(order.uid) in page.text
    assert detail.json()["uid"] == str(order.uid)
    assert (created.status_code, created.json()["code"]) == (403, "role_not_allowed")
    assert (canceled.status_code, canceled.json()["code"]) == (403, "role_not_allowed")
    assert sandbox_models.Order.objects.count() == 0


def test_a_signed_in_cashier_may_cancel_but_not_refund(client, seller, pos):
    order = make_order(seller, pos, status="processed")
    client.force_login(make_member(seller, "cashier"))

    canceled = post(client, f"{ORDERS}/{order.uid}/cancel")
    refunded = post(client, f"{ORDERS}/{order.uid}/refund")

    # The cashier's role allows the cancel, which the order's state then refuses.
    assert (canceled.status_code, canceled.json()["code"]) == (409, "order_not_cancelable")
    assert (refunded.status_code, refunded.json()["code"]) == (403, "role_not_allowed")
