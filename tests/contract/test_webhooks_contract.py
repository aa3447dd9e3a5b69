"""Contract: a webhook the sandbox sends verifies with the platform-side check (``mpapi.webhooks``,
api.md §6.1), and a tampered one does not.

The webhook goes over a real socket to a small HTTP server started by the test. The order is
created through ``mpapi`` and paid in the sandbox's wallet; the sandbox writes an
``order.processed`` event and delivers it when the transaction commits (``sandbox.signals``),
through a Celery task that ``eager_celery`` runs in-process.
"""

import json
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from mpapi import webhooks
from mpapi.orders import OrderCreate
from mpapi.stores import Location, PosCreate, StoreRequest
from sandbox.seed import WEBHOOK_SECRET
from tests.contract.conftest import SELLER_ID, SELLER_TOKEN
from tests.http_receiver import Received
from tests.sandbox.api_helpers import COORDINATES

TOLERANCE = timedelta(minutes=5)
OTHER_ORDER_ID = "ORD01JV3AW3NFSTSTB669F41NACDX"


@pytest.fixture
def webhook_url(client, receiver) -> str:
    response = client.put(
        "/sandbox/_control/application",
        {"webhook_url": f"{receiver.url}/webhooks/mercadopago"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["webhook_url"] == f"{receiver.url}/webhooks/mercadopago"
    return response.json()["webhook_url"]


@pytest.fixture
def paid_order(mp, client, webhook_url, eager_celery, django_capture_on_commit_callbacks):
    """A v1 order created through mpapi and paid in the wallet; its webhooks are delivered."""
    latitude, longitude = (Decimal(str(value)) for value in COORDINATES["MLA"])
    store = mp.create_store(
        SELLER_TOKEN,
        SELLER_ID,
        StoreRequest(
            name="Main store",
            external_id="STORE1",
            location=Location("Main street", "123", "Capital", "Capital", latitude, longitude),
        ),
    )
    mp.create_pos(
        SELLER_TOKEN,
        PosCreate(
            name="Checkout", external_id="POS1", store_id=store.id, external_store_id="STORE1"
        ),
    )
    order = mp.create_order(
        SELLER_TOKEN,
        OrderCreate(
            external_reference="sale-webhook",
            external_pos_id="POS1",
            total_amount=Decimal("30.00"),
            currency="ARS",
            mode="dynamic",
        ),
        idempotency_key=str(uuid.uuid4()),
    )
    assert order.qr_data
    with django_capture_on_commit_callbacks(execute=True):
        paid = client.post(
            "/sandbox/wallet/pay",
            json.dumps({"qr_data": order.qr_data}),
            content_type="application/json",
        )
    assert paid.status_code == 200, paid.content
    # Attempts that are due now (none left when the first attempts went out at commit).
    ran = client.post("/sandbox/_control/deliveries/run", "{}", content_type="application/json")
    assert ran.status_code == 200
    return order


@pytest.fixture
def webhook(receiver, paid_order) -> Received:
    """The ``order.processed`` webhook the receiver got for the paid order."""
    [request] = [
        request
        for request in receiver.requests
        if request.query.get("data.id") == paid_order.id
        and request.json.get("action") == "order.processed"
    ]
    return request


def verify(request: Received, secret: str = WEBHOOK_SECRET, **changes) -> webhooks.Signature:
    """The platform's check of ``request``, with some of its inputs replaced by ``changes``."""
    arguments = {
        "header": request.headers["x-signature"],
        "data_id": request.query["data.id"],
        "request_id": request.headers["x-request-id"],
        "tolerance": TOLERANCE,
    }
    return webhooks.verify(secret, **(arguments | changes))


def test_the_order_webhook_verifies_with_the_platform_side_check(webhook, paid_order):
    signature = verify(webhook)

    assert webhook.query == {"data.id": paid_order.id, "type": "order"}
    assert webhook.headers["x-request-id"]
    assert signature.ts.isdigit()
    # The sandbox stamps ts in milliseconds, as the Orders documentation shows.
    assert abs(int(signature.ts) / 1000 - time.time()) < TOLERANCE.total_seconds()


def test_the_order_webhook_body_says_the_order_was_processed(webhook, paid_order):
    body = webhook.json

    assert body["type"] == "order"
    assert body["action"] == "order.processed"
    assert body["data"]["id"] == paid_order.id == webhook.query["data.id"]
    assert body["data"]["status"] == "processed"
    assert isinstance(body["data"]["version"], int)
    assert body["data"]["version"] > 1
    assert body["data"]["external_reference"] == "sale-webhook"
    assert body["data"]["total_amount"] == "30.00"
    assert str(body["user_id"]) == str(SELLER_ID)


def test_a_tampered_data_id_does_not_verify(webhook, paid_order):
    with pytest.raises(webhooks.InvalidSignature):
        verify(webhook, data_id=OTHER_ORDER_ID)
    # The check is of the query's data.id alone: a signature moved to another order's
    # notification fails whatever that notification's body says.
    with pytest.raises(webhooks.InvalidSignature):
        verify(webhook, data_id=paid_order.id[:-1] + ("A" if paid_order.id[-1] != "A" else "B"))
    # data.id is compared lower-cased when alphanumeric, as Mercado Pago signs it.
    assert verify(webhook, data_id=paid_order.id.lower())


def test_another_request_id_does_not_verify(webhook):
    with pytest.raises(webhooks.InvalidSignature):
        verify(webhook, request_id=str(uuid.uuid4()))
    with pytest.raises(webhooks.InvalidSignature):
        verify(webhook, request_id=None)


def test_a_wrong_secret_does_not_verify(webhook):
    with pytest.raises(webhooks.InvalidSignature):
        verify(webhook, secret="not-the-webhook-secret")


def test_a_tampered_signature_or_timestamp_does_not_verify(webhook):
    signature = webhooks.parse_signature(webhook.headers["x-signature"])
    flipped = signature.v1[:-1] + ("0" if signature.v1[-1] != "0" else "1")
    with pytest.raises(webhooks.InvalidSignature):
        verify(webhook, header=f"ts={signature.ts},v1={flipped}")
    with pytest.raises(webhooks.InvalidSignature):
        verify(webhook, header=f"ts={int(signature.ts) + 1},v1={signature.v1}")
    with pytest.raises(webhooks.InvalidSignature):
        verify(webhook, header="v1=" + signature.v1)


def test_a_stale_timestamp_fails_a_tolerance_but_not_the_signature_alone(webhook):
    sent_at = int(webhooks.parse_signature(webhook.headers["x-signature"]).ts) / 1000
    an_hour_later = sent_at + 3600

    with pytest.raises(webhooks.InvalidSignature, match="away from now"):
        verify(webhook, now=an_hour_later)
    assert verify(webhook, now=sent_at + TOLERANCE.total_seconds() - 1)
    assert verify(webhook, tolerance=None, now=an_hour_later)
