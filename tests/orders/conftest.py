"""Fixtures for the order tests: sellers connected to the sandbox, with a synced store and POS.

The platform reaches the sandbox over HTTP in-process (``httpx.WSGITransport``); the buyer pays
with the sandbox's wallet, as the Mercado Pago app would.
"""

import json
from decimal import Decimal

import pytest

from orders import services
from orders.models import Api, Mode, Order
from orders.validation import ItemInput
from pos import services as pos_services
from tenants.scope import tenant_scope
from tests.factories import make_connected_tenant
from tests.sandbox.api_helpers import COORDINATES

STORE = {
    "name": "Centro",
    "external_id": "CENTRO1",
    "street_name": "Av. Corrientes",
    "street_number": "1234",
    "city": "CABA",
    "state": "Buenos Aires",
}


def synced_pos(tenant, external_id: str = "CAJA1"):
    """A store and POS of ``tenant``, created in the sandbox, inside the seller's country."""
    latitude, longitude = COORDINATES[tenant.site]
    store = STORE | {"latitude": Decimal(str(latitude)), "longitude": Decimal(str(longitude))}
    with tenant_scope(tenant):
        store = pos_services.create_store(tenant=tenant, **store)
        return pos_services.create_pos(
            tenant=tenant, store=store, name="Caja 1", external_id=external_id
        )


@pytest.fixture
def seller(db):
    """An Argentinian seller connected to the sandbox's test seller with its own token."""
    return make_connected_tenant("Parrilla", site="MLA")


@pytest.fixture
def pos(seller):
    return synced_pos(seller)


def pay(client, order: Order, **extra) -> dict:
    """The buyer pays ``order`` in the sandbox's wallet: its QR, or its POS's printed QR."""
    if order.qr_data:
        purchase = {"qr_data": order.qr_data}
    else:
        purchase = {"user_id": order.tenant.mp_user_id, "external_pos_id": order.pos.external_id}
    response = client.post(
        "/sandbox/wallet/pay", json.dumps(purchase | extra), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def reload(order: Order) -> Order:
    """``order`` as it is in the database now."""
    with tenant_scope(order.tenant):
        return Order.objects.get(pk=order.pk)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """A block after which what it left for the commit runs (the task queued by the view)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def new_order(seller, pos, api: str = Api.V1, reference: str = "ASADO-1") -> Order:
    return services.create_order(
        tenant=seller,
        pos=pos,
        api=api,
        mode=Mode.DYNAMIC,
        external_reference=reference,
        title="Asado",
        items=[ItemInput(title="Choripán", unit_price=Decimal("1500.00"))],
    )


@pytest.fixture
def paid_v1(client, seller, pos) -> Order:
    """A v1 order paid in the sandbox's wallet; its webhook has not reached the platform."""
    order = new_order(seller, pos)
    pay(client, order)
    assert reload(order).status == "created"
    return order


@pytest.fixture
def paid_legacy(client, seller, pos) -> Order:
    """A legacy in-store order paid in the sandbox's wallet; no IPN has reached the platform."""
    order = new_order(seller, pos, api=Api.INSTORE, reference="LEGACY-1")
    pay(client, order)
    return order
