"""Helpers of the partner API's money tests: a seller connected to the sandbox with a synced POS,
a partner app on it, and orders created through the API and paid by the sandbox's buyer."""

import json

from django.test import Client

from orders import services
from orders.models import Order
from tenants.scope import tenant_scope
from tests.orders.conftest import pay

ORDERS = "/api/v1/orders"


def post(client: Client, path: str, body: dict | None = None, **headers: str):
    """A JSON POST."""
    return client.post(
        path, json.dumps(body or {}), content_type="application/json", headers=headers
    )


def create(partner: Client, pos, **fields) -> dict:
    """A v1 dynamic order of 100.00 created through the API (``fields`` override)."""
    body = {
        "pos": pos.pk,
        "api": "v1",
        "mode": "dynamic",
        "external_reference": "sale-1",
        "title": "Lunch",
        "items": [{"title": "Bife", "unit_price": "50.00", "quantity": 2}],
    } | fields
    response = post(partner, ORDERS, body)
    assert response.status_code == 201, response.content
    return response.json()


def local(tenant, uid: str) -> Order:
    with tenant_scope(tenant):
        return Order.objects.select_related("tenant", "pos").get(uid=uid)


def paid(partner: Client, seller, pos, client: Client, **fields) -> dict:
    """An order of 100.00 created through the API, paid by the buyer and read back."""
    body = create(partner, pos, **fields)
    order = local(seller, body["uid"])
    pay(client, order)
    services.refresh_order(tenant=seller, order=order)
    return body
