"""The demo data command: an integrator, two sellers in two sites, owners and cashiers."""

from io import StringIO

import pytest
from django.core.management import call_command

from tenants.management.commands.seed_demo import DEMO_PASSWORD
from tenants.models import Membership, Tenant, User
from tenants.roles import sees_every_tenant
from tenants.scope import cross_tenant_scope

pytestmark = pytest.mark.django_db


def _snapshot():
    with cross_tenant_scope():
        memberships = sorted(
            Membership.objects.values_list("tenant__slug", "user__username", "role")
        )
    return {
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
