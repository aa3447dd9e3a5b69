"""The demo data command: an integrator, two sellers in two sites, owners and cashiers, each
seller connected to the sandbox with a synced store and point of sale."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from orders import services as order_services
from orders.models import Order, Status
from pos.models import PointOfSale
from sandbox import models as sandbox_models
from tenants.management.commands.seed_demo import DEMO_PASSWORD
from tenants.models import Membership, MercadoPagoCredential, Tenant, User
from tenants.roles import sees_every_tenant
from tenants.scope import cross_tenant_scope, tenant_scope
from tests.orders.conftest import pay

pytestmark = pytest.mark.django_db


def _snapshot():
    with cross_tenant_scope():
        memberships = sorted(
            Membership.objects.values_list("tenant__slug", "user__username", "role")
        )
        connections = sorted(
            MercadoPagoCredential.objects.values_list("tenant__slug", "source", "mp_user_id")
        )
        synced = sorted(
            PointOfSale.objects.values_list(
                "tenant__slug", "external_id", "sync_state", "mp_pos_id", "store__sync_state"
            )
        )
    return {
        "connections": connections,
        "synced": synced,
        "sandbox": (
            sandbox_models.Store.objects.count(),
            sandbox_models.PointOfSale.objects.count(),
        ),
        "users": sorted(User.objects.values_list("username", "password", "is_superuser")),
        "tenants": sorted(Tenant.objects.values_list("slug", "site", "fee_percent", "fee_cap")),
        "memberships": memberships,
    }


def test_seed_creates_the_demo_and_a_second_run_changes_nothing():
    first = StringIO()
    call_command("seed_demo", stdout=first)
    state = _snapshot()
    assert [u[0] for u in state["users"]] == [
        "admin",
        "cashier.ar",
        "cashier.br",
        "owner.ar",
        "owner.br",
    ]
    assert {t[1] for t in state["tenants"]} == {"MLA", "MLB"}
    assert ("padaria-bom-dia", "cashier.br", "cashier") in state["memberships"]
    assert ("parrilla-del-puerto", "owner.ar", "owner") in state["memberships"]
    assert "Demo logins" in first.getvalue()
    assert state["connections"] == [
        ("padaria-bom-dia", "oauth", 100000002),
        ("parrilla-del-puerto", "oauth", 100000001),
    ]
    assert [
        (slug, sync, pos_id is not None, store_sync)
        for slug, _, sync, pos_id, store_sync in state["synced"]
    ] == [
        ("padaria-bom-dia", "synced", True, "synced"),
        ("parrilla-del-puerto", "synced", True, "synced"),
    ]
    assert state["sandbox"] == (2, 2)
    assert first.getvalue().count("Customer display: http://127.0.0.1:8000/display/") == 2

    second = StringIO()
    call_command("seed_demo", stdout=second)
    assert _snapshot() == state
    assert "nothing changed" in second.getvalue()


def test_demo_logins_work_and_land_in_the_right_tenant(client):
    call_command("seed_demo", stdout=StringIO())
    assert client.login(username="admin", password=DEMO_PASSWORD)
    assert sees_every_tenant(User.objects.get(username="admin"))
    client.logout()
    assert client.login(username="cashier.br", password=DEMO_PASSWORD)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert response.context["request"].tenant.slug == "padaria-bom-dia"


def test_the_demo_cashier_takes_a_payment_at_once(client):
    """The flow the README shows: the cashier creates an order on the demo POS, the buyer pays
    it in the sandbox wallet, and the order is paid, with the seller's marketplace fee."""
    call_command("seed_demo", stdout=StringIO())
    tenant = Tenant.objects.get(slug="parrilla-del-puerto")
    with tenant_scope(tenant):
        pos = PointOfSale.objects.get()
    client.login(username="cashier.ar", password=DEMO_PASSWORD)

    response = client.post(
        "/cashier/",
        {
            "pos": pos.pk,
            "amount": "200,00",  # as an Argentine cashier types it
            "description": "Mesa 4",
            "mode": "dynamic",
            "api": "v1",
        },
    )

    assert response.status_code == 302
    with tenant_scope(tenant):
        order = Order.objects.get()
    assert order.marketplace_fee == Decimal("3.00")  # 1.50 % of 200.00
    pay(client, order)
    order = order_services.refresh_order(tenant=tenant, order=order)
    assert order.status == Status.PROCESSED
