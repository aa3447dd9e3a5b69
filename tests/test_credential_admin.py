"""The credential admin: owners and platform staff only, read-only, never a token."""

import pytest
from django.urls import reverse

from sandbox.seed import seller_access_token as sandbox_token
from tenants.models import MercadoPagoCredential
from tenants.roles import Role
from tenants.scope import tenant_scope
from tests.factories import make_connected_tenant, make_member, make_user

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:tenants_mercadopagocredential_changelist")
INDEX = reverse("admin:index")
TOKEN = sandbox_token("MLA")


@pytest.fixture
def connected():
    return make_connected_tenant("Seller C", site="MLA")


def _credential(tenant) -> MercadoPagoCredential:
    with tenant_scope(tenant):
        return MercadoPagoCredential.objects.get()


def test_an_owner_sees_the_status_and_a_masked_tail_never_the_token(client, connected):
    client.force_login(make_member(connected, Role.OWNER, language="en"))
    credential = _credential(connected)
    change = reverse("admin:tenants_mercadopagocredential_change", args=[credential.pk])
    for page in (CHANGELIST, change):
        response = client.get(page)
        assert response.status_code == 200
        assert f"…{TOKEN[-4:]}" in response.text
        assert "Connected" in response.text
        assert TOKEN not in response.text
        assert 'name="access_token"' not in response.text
    assert "Mercado Pago connections" in client.get(INDEX).text
    assert client.get(reverse("admin:tenants_mercadopagocredential_add")).status_code == 403


def test_platform_staff_see_every_sellers_credential(client, connected):
    client.force_login(make_user(is_staff=True, is_superuser=True))
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert "Seller C" in response.text  # the tenant column
    assert f"…{TOKEN[-4:]}" in response.text
    assert TOKEN not in response.text


@pytest.mark.parametrize("role", [Role.MANAGER, Role.CASHIER, Role.VIEWER])
def test_other_members_do_not_see_the_credential(client, connected, role):
    client.force_login(make_member(connected, role, language="en"))
    credential = _credential(connected)
    assert "Mercado Pago connections" not in client.get(INDEX).text
    assert client.get(CHANGELIST).status_code == 403
    change = reverse("admin:tenants_mercadopagocredential_change", args=[credential.pk])
    assert client.get(change).status_code == 403


def test_deleting_the_credential_disconnects_the_seller(client, connected):
    client.force_login(make_member(connected, Role.OWNER, language="en"))
    credential = _credential(connected)
    delete = reverse("admin:tenants_mercadopagocredential_delete", args=[credential.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    connected.refresh_from_db()
    assert connected.mp_user_id is None
    with tenant_scope(connected):
        assert not MercadoPagoCredential.objects.exists()
