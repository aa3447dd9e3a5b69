"""``/api/v1/payments`` and ``/api/v1/refunds``: payments and refunds as resources named by their
``id``, refunds asked for by order or by payment (with ``Idempotency-Key``), their lists, and
``amount_available_for_refund`` less the refunds in process; against the sandbox in-process."""

import pytest
from django.utils import timezone

from orders.models import Payment, Refund
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.api.paid_orders import ORDERS, local, paid, post
from tests.faults import set_faults

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

PAYMENTS = "/api/v1/payments"
REFUNDS = "/api/v1/refunds"


def refund(partner, body: dict, **headers: str) -> dict:
    response = post(partner, REFUNDS, body, **headers)
    assert response.status_code == 201, response.content
    return response.json()


def test_a_refund_asked_by_order_is_a_resource_named_by_its_id(partner, seller, pos, client):
    order = paid(partner, seller, pos, client)
    key = {"Idempotency-Key": "refund-1"}

    made = refund(partner, {"order": order["uid"], "amount": "40.00"}, **key)
    replayed = post(partner, REFUNDS, {"order": order["uid"], "amount": "40.00"}, **key)

    with tenant_scope(seller):
        saved = Refund.objects.select_related("payment").get()
    assert made["id"] == str(saved.uid)
    assert (made["order"], made["payment"]) == (order["uid"], str(saved.payment.uid))
    assert (made["amount"], made["status"], made["currency"]) == ("40.00", "processed", "ARS")
    assert made["mercadopago_refund_id"] == saved.mp_refund_id != ""
    assert made["mercadopago_payment_id"] == saved.payment.mp_payment_id
    assert (replayed.status_code, replayed.json()) == (201, made)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert partner.get(f"{REFUNDS}/{made['id']}").json() == made
    payment = partner.get(f"{PAYMENTS}/{made['payment']}").json()
    assert (payment["id"], payment["order"]) == (made["payment"], order["uid"])
    assert (payment["paid_amount"], payment["refunded_amount"]) == ("100.00", "40.00")
    assert payment["amount_available_for_refund"] == "60.00"
    shown = partner.get(f"{ORDERS}/{order['uid']}").json()
    assert [p["id"] for p in shown["payments"]] == [made["payment"]]
    assert [r["id"] for r in shown["refunds"]] == [made["id"]]


def test_a_refund_asked_by_payment_takes_what_is_left_of_it(partner, seller, pos, client):
    order = paid(partner, seller, pos, client, api="instore")
    payment_id = order_payment_id(partner, order["uid"])
    refund(partner, {"payment": payment_id, "amount": "30.00"})

    rest = refund(partner, {"payment": payment_id})

    assert (rest["payment"], rest["amount"], rest["status"]) == (payment_id, "70.00", "processed")
    shown = partner.get(f"{ORDERS}/{order['uid']}").json()
    assert (shown["status"], shown["amount_available_for_refund"]) == ("refunded", "0.00")


def order_payment_id(partner, uid: str) -> str:
    (payment,) = partner.get(f"{ORDERS}/{uid}").json()["payments"]
    return payment["id"]


def test_refunds_in_process_are_not_available_for_refund(partner, seller, pos, client):
    order = paid(partner, seller, pos, client)
    set_faults(client, refund_outcome="pending")  # Mercado Pago makes it, completes it later

    made = refund(partner, {"order": order["uid"], "amount": "30.00"})

    assert made["status"] == "pending"
    assert made["mercadopago_refund_id"]
    shown = partner.get(f"{ORDERS}/{order['uid']}").json()
    assert (shown["refunded_amount"], shown["amount_available_for_refund"]) == ("0.00", "70.00")
    assert shown["payments"][0]["amount_available_for_refund"] == "70.00"
    payment = partner.get(f"{PAYMENTS}/{made['payment']}").json()
    assert payment["amount_available_for_refund"] == "70.00"
    too_much = post(partner, REFUNDS, {"order": order["uid"], "amount": "70.01"})
    assert too_much.json()["fields"]["amount"][0]["code"] == "refund_amount_exceeds"


def test_lists_are_newest_first_and_filtered(partner, seller, pos, client):
    first = paid(partner, seller, pos, client)
    second = paid(partner, seller, pos, client, external_reference="sale-2")
    older = refund(partner, {"order": first["uid"], "amount": "10.00"})
    middle = timezone.now().isoformat()
    newer = refund(partner, {"order": second["uid"], "amount": "20.00"})

    def ids(path: str, **query: str) -> list[str]:
        response = partner.get(path, query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(REFUNDS) == [newer["id"], older["id"]]
    assert ids(REFUNDS, order=first["uid"]) == [older["id"]]
    assert ids(REFUNDS, payment=newer["payment"]) == [newer["id"]]
    assert ids(REFUNDS, created_after=middle) == [newer["id"]]
    assert ids(REFUNDS, created_before=middle) == [older["id"]]
    assert ids(REFUNDS, status="failed") == []
    assert ids(PAYMENTS) == [newer["payment"], older["payment"]]
    assert ids(PAYMENTS, order=second["uid"]) == [newer["payment"]]
    assert ids(PAYMENTS, status="processed", limit="1") == [newer["payment"]]
    assert partner.get(REFUNDS, {"order": "not-a-uuid"}).status_code == 400


def test_another_sellers_payments_and_refunds_are_unknown(partner, seller, pos, client, tenant_b):
    order = paid(partner, seller, pos, client)
    made = refund(partner, {"order": order["uid"], "amount": "10.00"})
    other = api_client(issue_token(tenant_b))

    assert other.get(f"{PAYMENTS}/{made['payment']}").status_code == 404
    assert other.get(f"{REFUNDS}/{made['id']}").status_code == 404
    assert other.get(PAYMENTS).json()["results"] == other.get(REFUNDS).json()["results"] == []
    for body in ({"order": order["uid"]}, {"payment": made["payment"]}):
        refused = post(other, REFUNDS, body)
        (field,) = body
        assert refused.status_code == 400
        assert refused.json()["fields"][field][0]["code"] == "does_not_exist"
    with tenant_scope(seller):
        assert Refund.objects.count() == 1


def test_the_order_or_the_payment_is_named_once(partner, seller, pos, client):
    order = paid(partner, seller, pos, client)
    payment_id = order_payment_id(partner, order["uid"])

    both = post(partner, REFUNDS, {"order": order["uid"], "payment": payment_id})
    neither = post(partner, REFUNDS, {"amount": "1.00"})

    for response in (both, neither):
        assert response.status_code == 400
        assert response.json()["fields"]["non_field_errors"][0]["code"] == "order_or_payment"
    with tenant_scope(seller):
        assert not Refund.objects.exists()
        assert Payment.objects.get().refunded_amount == 0


def test_reading_needs_orders_read_and_refunding_orders_write(seller, pos, partner, client):
    order = paid(partner, seller, pos, client)
    reader = api_client(issue_token(seller, frozenset({"orders:read"})))

    assert reader.get(PAYMENTS).status_code == 200
    refused = post(reader, REFUNDS, {"order": order["uid"]})
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")
    assert local(seller, order["uid"]).status == "processed"
