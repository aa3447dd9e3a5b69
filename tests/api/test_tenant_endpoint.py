from partners.models import PartnerGrant
from partners.services import revoke_grant
from tenants.models import Tenant
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token


def test_a_token_acts_for_the_seller_it_was_issued_for(tenant_a, tenant_b, api_a):
    response = api_a.get("/api/v1/tenant")

    assert response.status_code == 200
    assert response.json() == {
        "slug": tenant_a.slug,
        "name": "Seller A",
        "site": "MLA",
        "country": "ARG",
        "currency": "ARS",
        "status": "active",
        "connection": "not_connected",
    }


def test_a_revoked_grant_ends_its_tokens(tenant_a, token_a):
    with tenant_scope(tenant_a):
        grant = PartnerGrant.objects.get()
    revoke_grant(tenant=tenant_a, grant=grant)

    assert api_client(token_a).get("/api/v1/tenant").status_code == 401


def test_a_suspended_seller_is_401(tenant_a, token_a):
    Tenant.objects.filter(pk=tenant_a.pk).update(status=Tenant.Status.SUSPENDED)

    response = api_client(token_a).get("/api/v1/tenant")

    assert response.status_code == 401
    assert response.json()["code"] == "seller_suspended"


def test_client_credentials_cannot_ask_for_more_than_the_installation_granted(tenant_a):
    token = issue_token(tenant_a, frozenset({"orders:read"}))
    assert api_client(token).get("/api/v1/tenant").status_code == 200
