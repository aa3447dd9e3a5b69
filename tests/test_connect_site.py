"""A seller connects only a Mercado Pago account of its own site (country): Mercado Pago charges
in its account's currency, and every amount the platform shows is in the seller's.

The account's site comes from ``GET /users/me`` (mpapi ``get_me``), answered by the sandbox for
the Bearer token's account; the sandbox seeds one test seller per site.
"""

import pytest
from django.urls import reverse

from merchant_platform.mercadopago import get_client
from mpapi import Unauthorized
from sandbox.seed import seller_access_token
from tenants import services
from tenants.models import MercadoPagoCredential
from tenants.scope import tenant_scope
from tests.factories import SANDBOX_SELLERS, make_tenant
from tests.test_connect_oauth import _answer_consent

pytestmark = pytest.mark.django_db


def _not_connected(tenant) -> bool:
    tenant.refresh_from_db()
    with tenant_scope(tenant):
        return tenant.mp_user_id is None and not MercadoPagoCredential.objects.exists()


def test_users_me_answers_the_account_of_the_bearer_token():
    with get_client() as mp:
        uruguay = mp.get_me(seller_access_token("MLU"))
        brazil = mp.get_me(seller_access_token("MLB"))
        with pytest.raises(Unauthorized):
            mp.get_me("APP_USR-8000000000000001-000000-forged-100000007")
    assert (uruguay.id, uruguay.site_id, uruguay.country_id) == (
        SANDBOX_SELLERS["MLU"],
        "MLU",
        "UY",
    )
    assert uruguay.nickname == "TESTSELLERMLU"
    assert (brazil.id, brazil.site_id, brazil.country_id) == (SANDBOX_SELLERS["MLB"], "MLB", "BR")


def test_oauth_with_an_account_of_another_country_is_refused_and_nothing_is_saved(
    client, tenant_a, owner_a
):
    client.force_login(owner_a)
    response = client.get(_answer_consent(client, nickname="TESTSELLERMLU"))
    assert response.status_code == 409
    assert "This Mercado Pago account is of another country" in response.text
    assert "registered in Uruguay (MLU)" in response.text
    assert "this seller sells in Argentina (MLA), in ARS" in response.text
    assert _not_connected(tenant_a)

    connected = client.get(_answer_consent(client, nickname="TESTSELLERMLA"), follow=True)
    assert f"Connected to Mercado Pago account {SANDBOX_SELLERS['MLA']}" in connected.text


def test_a_manual_token_of_another_country_is_refused_and_nothing_is_saved(client, owner_a):
    tenant = make_tenant(site="MLA")
    with pytest.raises(services.WrongSite, match=r"registered in Uruguay \(MLU\)"):
        services.connect_with_access_token(tenant=tenant, access_token=seller_access_token("MLU"))
    assert _not_connected(tenant)

    client.force_login(owner_a)  # the owner's own seller, Argentine too, on the page
    token = seller_access_token("MLC")
    page = client.post(reverse("tenants:mercadopago-token"), {"access_token": token})
    assert page.status_code == 400
    assert "registered in Chile (MLC)" in page.text
    assert "sells in Argentina (MLA) (ARS)" in page.text
    assert token not in page.text

    credential = services.connect_with_access_token(
        tenant=tenant, access_token=seller_access_token("MLA")
    )
    assert credential.mp_user_id == SANDBOX_SELLERS["MLA"]


def test_a_wrong_country_never_replaces_a_working_connection_by_either_path(
    client, tenant_a, owner_a
):
    client.force_login(owner_a)
    client.get(_answer_consent(client, nickname="TESTSELLERMLA"))  # connected through OAuth
    with tenant_scope(tenant_a):
        before = MercadoPagoCredential.objects.get()

    refused = client.get(_answer_consent(client, nickname="TESTSELLERMLB"))
    assert refused.status_code == 409
    assert "registered in Brazil (MLB)" in refused.text
    with pytest.raises(services.WrongSite):
        services.connect_with_access_token(tenant=tenant_a, access_token=seller_access_token("MLM"))
    page = client.post(
        reverse("tenants:mercadopago-token"), {"access_token": seller_access_token("MPE")}
    )
    assert page.status_code == 400
    assert "registered in Peru (MPE)" in page.text

    tenant_a.refresh_from_db()
    with tenant_scope(tenant_a):
        after = MercadoPagoCredential.objects.get()
    assert tenant_a.mp_user_id == SANDBOX_SELLERS["MLA"]
    assert (after.pk, after.access_token, after.source, after.status) == (
        before.pk,
        before.access_token,
        MercadoPagoCredential.Source.OAUTH,
        MercadoPagoCredential.Status.CONNECTED,
    )
