"""Chargebacks in the sandbox: opened on a paid payment only (control API and control page),
read at ``GET /v1/chargebacks/{id}`` by their seller alone, decided, and notified each time with
a signed ``topic_chargebacks_wh`` webhook."""

import hashlib
import hmac
import json
from datetime import datetime, timedelta

import pytest
from django.db.models import F

from sandbox.models import Application, Chargeback, Delivery, Event, Payment
from sandbox.seed import CLIENT_ID, WEBHOOK_SECRET
from tests.sandbox.api_helpers import Api

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

CONTROL = "/sandbox/_control/chargebacks"


@pytest.fixture
def api(client) -> Api:
    return Api(client, "MLA")


@pytest.fixture
def application(receiver):
    application = Application.objects.get(client_id=CLIENT_ID)
    application.webhook_url = f"{receiver.url}/webhooks/mercadopago"
    application.save()
    return application


def paid_payment_id(api: Api, pos: dict | None = None) -> int:
    """A v1 order of 50.00 paid in the wallet: its payment's numeric id."""
    pos = pos or api.pos()
    order = api.order(pos["external_id"], key=f"key-{pos['external_id']}-paid")
    paid = api.pay(qr_data=order["type_response"]["qr_data"])
    assert paid.status_code == 200, paid.content
    return paid.json()["payment_id"]


def open_chargeback(client, **body):
    return client.post(CONTROL, json.dumps(body), content_type="application/json")


def test_a_chargeback_is_opened_on_a_paid_payment_and_read_by_its_seller(
    api, client, application, receiver, django_capture_on_commit_callbacks
):
    payment_id = paid_payment_id(api)
    with django_capture_on_commit_callbacks(execute=True):
        opened = open_chargeback(client, payment_id=payment_id, amount=20.5)
    assert opened.status_code == 201, opened.content
    body = opened.json()
    assert body["payments"] == [payment_id]
    assert (body["amount"], body["currency"], body["status"]) == (20.5, "ARS", "opened")
    assert body["documentation_required"] is True
    assert body["documentation_status"] == "pending"
    assert body["coverage_applied"] is False
    created = datetime.fromisoformat(body["date_created"])
    deadline = datetime.fromisoformat(body["date_documentation_deadline"])
    assert deadline - created == timedelta(days=10)

    read = api.call("GET", f"/v1/chargebacks/{body['id']}")
    assert read.status_code == 200
    assert read.json() == body
    other_seller = Api(client, "MLB").call("GET", f"/v1/chargebacks/{body['id']}")
    assert (other_seller.status_code, other_seller.json()["error"]) == (404, "not_found")
    assert api.call("GET", f"/v1/chargebacks/{body['id']}", token=False).status_code == 401

    # The signed webhook of the chargebacks topic reached the application's URL.
    [request] = receiver.requests
    assert request.query == {"data.id": body["id"], "type": "topic_chargebacks_wh"}
    sent = json.loads(request.body)
    assert sent["type"] == "topic_chargebacks_wh"
    assert sent["action"] == "chargeback.created"
    assert sent["data"] == {"id": body["id"]}
    assert sent["user_id"] == api.user_id
    signature = dict(part.split("=", 1) for part in request.headers["x-signature"].split(","))
    manifest = (
        f"id:{body['id'].lower()};request-id:{request.headers['x-request-id']};"
        f"ts:{signature['ts']};"
    )
    expected = hmac.new(WEBHOOK_SECRET.encode(), manifest.encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature["v1"], expected)


def test_deciding_a_chargeback_closes_it_and_notifies_again(
    api, client, application, receiver, django_capture_on_commit_callbacks
):
    payment_id = paid_payment_id(api)
    with django_capture_on_commit_callbacks(execute=True):
        chargeback_id = open_chargeback(client, payment_id=payment_id).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        decided = client.post(
            f"{CONTROL}/{chargeback_id}",
            json.dumps({"in_favor_of": "seller"}),
            content_type="application/json",
        )
    assert decided.status_code == 200, decided.content
    body = decided.json()
    assert (body["status"], body["coverage_applied"], body["documentation_status"]) == (
        "closed",
        True,
        "valid",
    )
    assert body["amount"] == 50  # all that was paid
    assert [json.loads(r.body)["action"] for r in receiver.requests] == [
        "chargeback.created",
        "chargeback.updated",
    ]
    again = client.post(
        f"{CONTROL}/{chargeback_id}",
        json.dumps({"in_favor_of": "buyer"}),
        content_type="application/json",
    )
    assert (again.status_code, again.json()["error"]) == (400, "bad_request")
    assert Event.objects.filter(topic="topic_chargebacks_wh").count() == 2


def test_a_chargeback_needs_a_paid_payment_and_a_fitting_amount(api, client):
    pos = api.pos()
    unpaid = api.order(pos["external_id"])
    unpaid_payment = unpaid["transactions"]["payments"][0]
    cases = [
        ({"payment_id": 999999999}, 404, "payment 999999999 not found"),
        ({"payment_id": "not-a-number"}, 404, "not found"),
        ({}, 404, "not found"),
    ]
    for body, status, message in cases:
        answer = open_chargeback(client, **body)
        assert answer.status_code == status, body
        assert message in answer.json()["message"]

    payment_id = paid_payment_id(api, pos)
    for amount in (0, -1, 50.01, "10", 1.234):
        answer = open_chargeback(client, payment_id=payment_id, amount=amount)
        assert answer.status_code == 400, amount
        assert "amount must be" in answer.json()["message"]
    assert open_chargeback(client, payment_id=payment_id).status_code == 201
    twice = open_chargeback(client, payment_id=payment_id)
    assert twice.status_code == 400
    assert "already has an open chargeback" in twice.json()["message"]
    assert Chargeback.objects.count() == 1
    assert not Delivery.objects.exists()  # no webhook URL configured: nothing to deliver
    # A v1 order's payment that was never paid is not disputed (its reference is not shown).
    assert "reference" not in unpaid_payment


def test_a_refunded_payment_cannot_be_disputed(api, client):
    payment_id = paid_payment_id(api)
    # Refunded in full (a refund completes later in Mercado Pago: its end state, set here).
    Payment.objects.filter(pk=payment_id).update(
        status=Payment.Status.REFUNDED, refunded_amount=F("amount")
    )
    answer = open_chargeback(client, payment_id=payment_id)
    assert answer.status_code == 400
    assert "only a paid one is disputed" in answer.json()["message"]


def test_the_control_page_opens_and_decides_a_chargeback(api, client):
    payment_id = paid_payment_id(api)
    page = client.get("/sandbox/_control/")
    assert f'id="chargeback-{payment_id}"' in page.content.decode()
    opened = client.post(
        "/sandbox/_control/",
        {"action": "open-chargeback", "payment_id": payment_id, "amount": "7.5"},
    )
    assert opened.status_code == 302
    chargeback = Chargeback.objects.get()
    assert (chargeback.payment_id, str(chargeback.amount)) == (payment_id, "7.50")
    refused = client.post(
        "/sandbox/_control/", {"action": "open-chargeback", "payment_id": payment_id}
    )
    assert "already has an open chargeback" in refused.content.decode()
    client.post(
        "/sandbox/_control/",
        {
            "action": "decide-chargeback",
            "chargeback_id": chargeback.chargeback_id,
            "in_favor_of": "buyer",
        },
    )
    chargeback.refresh_from_db()
    assert (chargeback.status, chargeback.coverage_applied) == ("closed", False)
    assert chargeback.documentation_status == "invalid"
    assert "for the buyer" in client.get("/sandbox/_control/").content.decode()
