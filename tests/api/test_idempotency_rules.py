"""Which answers an ``Idempotency-Key`` keeps (partners/idempotency.py), and which POSTs honour it.

Kept: answers of requests that did something, a 2xx, or Mercado Pago's refusal (422: it was
called). Not kept: a 400 on the input, a 404, a 409 on the object's state: the same key with a
corrected request then runs. Every POST of the API honours the key and the schema says so; the
answers that hold a webhook endpoint's signing secret are kept encrypted, and a replay gives the
same secret.
"""

import json
import uuid

import pytest
from django.db import connection
from django.test import Client

from orders import services
from orders.models import Order, Refund
from partners.models import IdempotentRequest, WebhookDelivery, WebhookEndpoint
from pos.models import Store
from sandbox import models as sandbox_models
from tenants.scope import tenant_scope
from tests.orders.conftest import pay

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

ORDERS = "/api/v1/orders"
ENDPOINTS = "/api/v1/webhook-endpoints"
HOOK_URL = "https://partner.example.com/hooks"


def post(client: Client, path: str, body: dict | None = None, *, key: str):
    return client.post(
        path,
        json.dumps(body or {}),
        content_type="application/json",
        headers={"Idempotency-Key": key},
    )


def order_body(pos, **fields) -> dict:
    return {
        "pos": pos.pk,
        "api": "v1",
        "mode": "dynamic",
        "external_reference": "sale-1",
        "title": "Lunch",
        "items": [{"title": "Bife", "unit_price": "50.00", "quantity": 2}],
    } | fields


def kept_keys(seller) -> list[tuple[str, int | None]]:
    with tenant_scope(seller):
        return list(IdempotentRequest.objects.values_list("key", "status_code"))


def count(seller, model) -> int:
    with tenant_scope(seller):
        return model.objects.count()


# What is kept ------------------------------------------------------------------------------


def test_a_validation_failure_does_not_burn_the_key(seller, pos, partner):
    refused = post(partner, ORDERS, order_body(pos, title=None), key="sale-1")
    assert kept_keys(seller) == []

    corrected = post(partner, ORDERS, order_body(pos), key="sale-1")
    again = post(partner, ORDERS, order_body(pos), key="sale-1")

    assert (refused.status_code, refused.json()["code"]) == (400, "validation_error")
    assert corrected.status_code == 201, corrected.content
    assert "Idempotent-Replayed" not in corrected.headers
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert again.json()["uid"] == corrected.json()["uid"]
    assert count(seller, Order) == 1
    assert kept_keys(seller) == [("sale-1", 201)]


def test_unknown_fields_and_a_foreign_currency_do_not_burn_the_key_either(seller, pos, partner):
    refused = post(partner, ORDERS, order_body(pos, currency="USD", foo="bar"), key="k")

    created = post(partner, ORDERS, order_body(pos, currency="ARS"), key="k")

    assert refused.status_code == 400
    assert created.status_code == 201, created.content


def test_a_conflict_with_the_orders_state_does_not_burn_the_key(seller, pos, partner):
    """A refund asked before the payment came in is refused; once paid, the same request with
    the same key refunds."""
    uid = post(partner, ORDERS, order_body(pos), key="sale-1").json()["uid"]
    refund = f"{ORDERS}/{uid}/refund"

    too_early = post(partner, refund, {"amount": "40.00"}, key="refund-1")
    with tenant_scope(seller):
        order = Order.objects.select_related("tenant", "pos").get(uid=uid)
    pay(Client(), order)
    services.refresh_order(tenant=seller, order=order)
    refunded = post(partner, refund, {"amount": "40.00"}, key="refund-1")
    replayed = post(partner, refund, {"amount": "40.00"}, key="refund-1")

    assert (too_early.status_code, too_early.json()["code"]) == (409, "order_not_refundable")
    assert refunded.status_code == 201, refunded.content
    assert [r["amount"] for r in refunded.json()["refunds"]] == ["40.00"]
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert count(seller, Refund) == 1


def test_a_404_is_not_kept(seller, partner):
    response = post(partner, f"{ORDERS}/{uuid.uuid4()}/cancel", key="cancel-1")

    assert response.status_code == 404
    assert kept_keys(seller) == []


def test_a_refusal_of_mercado_pago_is_kept_and_replayed(seller, pos, partner):
    """Mercado Pago was called and said no: a retry gets the same answer, nothing is sent again."""
    sandbox_models.PointOfSale.objects.filter(external_id=pos.external_id).delete()

    first = post(partner, ORDERS, order_body(pos), key="sale-1")
    again = post(partner, ORDERS, order_body(pos), key="sale-1")

    assert (first.status_code, first.json()["mercadopago_error"]) == (422, "pos_not_found")
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (422, "true")
    assert again.json()["mercadopago_error"] == "pos_not_found"
    assert count(seller, Order) == 1
    assert kept_keys(seller) == [("sale-1", 422)]


# Which POSTs honour it ---------------------------------------------------------------------


def test_the_schema_lists_the_key_on_every_post():
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    posts = {path: item["post"] for path, item in schema["paths"].items() if "post" in item}

    assert len(posts) >= 10
    for path, operation in posts.items():
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        assert [p["name"] for p in headers] == ["Idempotency-Key"], path
        assert not headers[0].get("required", False)


def test_registering_an_endpoint_twice_with_one_key_makes_one_and_gives_the_same_secret(
    seller, partner
):
    body = {"url": HOOK_URL, "events": ["order.created"]}

    first = post(partner, ENDPOINTS, body, key="hook-1")
    again = post(partner, ENDPOINTS, body, key="hook-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert first.json()["secret"].startswith("whsec_")
    assert count(seller, WebhookEndpoint) == 1
    assert_kept_sealed(seller, "hook-1", first.json()["secret"])


def test_a_rotated_secret_is_replayed_not_rotated_again(seller, partner):
    created = post(partner, ENDPOINTS, {"url": HOOK_URL, "events": ["order.created"]}, key="h")
    rotate = f"{ENDPOINTS}/{created.json()['id']}/rotate-secret"

    first = post(partner, rotate, key="rotate-1")
    again = post(partner, rotate, key="rotate-1")
    other = post(partner, rotate, key="rotate-2")

    assert first.status_code == again.status_code == 200
    assert again.json()["secret"] == first.json()["secret"] != created.json()["secret"]
    assert other.json()["secret"] != first.json()["secret"]
    with tenant_scope(seller):
        assert WebhookEndpoint.objects.get().secret == other.json()["secret"]
    assert_kept_sealed(seller, "rotate-1", first.json()["secret"])


def assert_kept_sealed(seller, key: str, secret: str) -> None:
    """The answer of ``key`` is kept encrypted: no plain body, no secret in the stored row."""
    with tenant_scope(seller):
        record = IdempotentRequest.objects.get(key=key)
    assert record.response_body is None
    assert json.loads(record.sealed_response_body)["secret"] == secret
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT response_body, sealed_response_body FROM partners_idempotentrequest "
            "WHERE id = %s",
            [record.pk],
        )
        [(plain, sealed)] = cursor.fetchall()
    assert plain is None
    assert secret not in sealed


def test_a_test_event_sent_twice_with_one_key_is_queued_once(seller, partner):
    endpoint = post(partner, ENDPOINTS, {"url": HOOK_URL, "events": ["order.created"]}, key="h")
    path = f"{ENDPOINTS}/{endpoint.json()['id']}/test"

    first = post(partner, path, key="test-1")
    again = post(partner, path, key="test-1")

    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert count(seller, WebhookDelivery) == 1


def test_a_store_created_twice_with_one_key_is_made_once(seller, partner):
    body = {
        "name": "Centro",
        "external_id": "CENTRO9",
        "street_name": "Av. Corrientes",
        "street_number": "1234",
        "city": "CABA",
        "state": "Buenos Aires",
        "latitude": "-34.6037",
        "longitude": "-58.3816",
    }

    first = post(partner, "/api/v1/stores", body, key="store-1")
    again = post(partner, "/api/v1/stores", body, key="store-1")

    assert first.status_code == 201, first.content
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(seller, Store) == 1
