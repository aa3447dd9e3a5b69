"""Connecting a seller through Mercado Pago's OAuth with PKCE, on the sandbox's consent page."""

import json
from datetime import timedelta
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from merchant_platform.mercadopago import get_client
from mpapi.oauth import code_challenge
from sandbox.seed import ACCOUNT_PASSWORD, seller_access_token
from tenants import oauth, services
from tenants.models import MercadoPagoCredential
from tenants.roles import Role
from tenants.scope import tenant_scope
from tenants.views import PENDING_AUTHORIZATION_KEY
from tests.factories import make_member, make_tenant

pytestmark = pytest.mark.django_db

PAGE = reverse("tenants:mercadopago")
CONNECT = reverse("tenants:mercadopago-connect")
CALLBACK = reverse("tenants:mercadopago-callback")
MLA_SELLER = 100000001


def _local(url: str) -> str:
    """``url`` (on SITE_URL, served by this same project) as a path for the test client."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == settings.SITE_URL
    return f"{parts.path}?{parts.query}"


def _consent_page(client) -> str:
    """Start connecting; the sandbox consent page's URL, after checking the request."""
    response = client.get(CONNECT)
    assert response.status_code == 302
    consent = urlsplit(response["Location"])
    assert consent.path == "/sandbox/authorization"
    query = parse_qs(consent.query)
    pending = client.session[PENDING_AUTHORIZATION_KEY]
    assert query["state"] == [pending["state"]]
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == [code_challenge(pending["code_verifier"])]
    assert query["redirect_uri"] == [settings.SITE_URL + CALLBACK]
    assert query["client_id"] == [oauth.get_config().client_id]
    return _local(response["Location"])


def _answer_consent(client, decision: str = "allow", nickname: str = "TESTSELLERMLA") -> str:
    """Sign in and decide on the sandbox page; the platform callback it redirects to."""
    page = _consent_page(client)
    assert client.get(page).status_code == 200
    answer = client.post(
        page, {"nickname": nickname, "password": ACCOUNT_PASSWORD, "decision": decision}
    )
    assert answer.status_code == 302
    return _local(answer["Location"])


def _credential(tenant) -> MercadoPagoCredential:
    with tenant_scope(tenant):
        return MercadoPagoCredential.objects.get()


def test_an_owner_connects_refreshes_and_must_reconnect_after_a_reused_refresh_token(
    client, tenant_a, owner_a
):
    client.force_login(owner_a)
    connected = client.get(_answer_consent(client), follow=True)
    assert connected.redirect_chain == [(PAGE, 302)]
    assert f"Connected to Mercado Pago account {MLA_SELLER}" in connected.text

    credential = _credential(tenant_a)
    tenant_a.refresh_from_db()
    assert tenant_a.mp_user_id == MLA_SELLER
    assert credential.source == MercadoPagoCredential.Source.OAUTH
    assert credential.allows_marketplace_fee
    assert credential.access_token.startswith("APP_USR-")
    assert credential.access_token.endswith(str(MLA_SELLER))
    assert credential.refresh_token.startswith("TG-")
    assert credential.public_key.startswith("APP_USR-")
    assert credential.scope == "read write offline_access"
    assert credential.expires_at > timezone.now() + timedelta(days=179)
    assert credential.access_token not in connected.text
    assert f"…{credential.access_token[-4:]}" in connected.text
    with get_client() as mp:  # the stored token works
        mp.search_stores(services.seller_access_token(tenant_a), MLA_SELLER)

    refreshed = oauth.refresh_credential(tenant=tenant_a)
    stored = _credential(tenant_a)
    assert stored.access_token == refreshed.access_token != credential.access_token
    assert stored.refresh_token == refreshed.refresh_token != credential.refresh_token
    assert stored.access_token_tail == stored.access_token[-4:]
    assert stored.refreshed_at is not None
    assert services.seller_access_token(tenant_a) == stored.access_token

    with tenant_scope(tenant_a):  # as if the refresh above had never been stored
        MercadoPagoCredential.objects.update(refresh_token=credential.refresh_token)
    with pytest.raises(services.NotConnected, match="must connect Mercado Pago again"):
        oauth.refresh_credential(tenant=tenant_a)
    assert _credential(tenant_a).status == MercadoPagoCredential.Status.NEEDS_RECONNECT
    with pytest.raises(services.NotConnected, match="must connect Mercado Pago again"):
        services.seller_access_token(tenant_a)
    assert "connect again to keep taking payments" in client.get(PAGE).text

    client.get(_answer_consent(client))  # the owner connects again
    assert _credential(tenant_a).status == MercadoPagoCredential.Status.CONNECTED
    assert services.seller_access_token(tenant_a) != stored.access_token


def test_a_denied_authorization_changes_nothing(client, tenant_a, owner_a):
    client.force_login(owner_a)
    response = client.get(_answer_consent(client, decision="deny"))
    assert response.status_code == 200
    assert "Access was not allowed" in response.text
    with tenant_scope(tenant_a):
        assert not MercadoPagoCredential.objects.exists()


def test_a_callback_with_another_state_is_refused(client, tenant_a, owner_a):
    client.force_login(owner_a)
    callback = urlsplit(_answer_consent(client))
    code = parse_qs(callback.query)["code"][0]
    client.get(CONNECT)  # a newer attempt: the first one's state is no longer expected
    response = client.get(CALLBACK, {"code": code, "state": "forged-or-stale"})
    assert response.status_code == 400
    assert "This authorization does not match" in response.text
    with tenant_scope(tenant_a):
        assert not MercadoPagoCredential.objects.exists()


def test_a_callback_for_another_seller_is_refused(client, tenant_a, owner_a, tenant_b):
    services.add_member(tenant=tenant_b, user=owner_a, role=Role.OWNER)
    client.force_login(owner_a)
    client.post(reverse("tenants:select"), {"tenant": tenant_a.pk})
    callback = _answer_consent(client)  # started for seller A...
    client.post(reverse("tenants:select"), {"tenant": tenant_b.pk})
    response = client.get(callback)  # ...comes back while acting for seller B
    assert response.status_code == 400
    assert "This authorization does not match" in response.text
    for tenant in (tenant_a, tenant_b):
        with tenant_scope(tenant):
            assert not MercadoPagoCredential.objects.exists()


def test_a_reused_code_shows_the_expired_authorization_page(client, tenant_a, owner_a):
    client.force_login(owner_a)
    callback = _answer_consent(client)
    client.get(callback)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    client.get(CONNECT)  # a fresh attempt, answered with the code already exchanged
    state = client.session[PENDING_AUTHORIZATION_KEY]["state"]
    response = client.get(CALLBACK, {"code": code, "state": state})
    assert response.status_code == 400
    assert "The authorization expired" in response.text


def test_an_account_connected_to_another_seller_is_refused(client, tenant_a, owner_a):
    make_tenant("Other", site="MLA", mp_user_id=MLA_SELLER)
    client.force_login(owner_a)
    response = client.get(_answer_consent(client))
    assert response.status_code == 409
    assert "This account is connected to another seller" in response.text
    with tenant_scope(tenant_a):
        assert not MercadoPagoCredential.objects.exists()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.CASHIER, Role.VIEWER])
def test_only_owners_reach_the_connection_pages(client, tenant_a, role):
    client.force_login(make_member(tenant_a, role))
    for page in (PAGE, CONNECT, CALLBACK):
        assert client.get(page).status_code == 403
    for page in ("tenants:mercadopago-token", "tenants:mercadopago-disconnect"):
        assert client.post(reverse(page)).status_code == 403


def test_an_owner_connects_with_a_token_and_disconnects(client, tenant_a, owner_a):
    token = seller_access_token("MLA")
    client.force_login(owner_a)
    refused = client.post(reverse("tenants:mercadopago-token"), {"access_token": token + "0"})
    assert refused.status_code == 400
    assert "Mercado Pago refused this access token" in refused.text
    assert token not in refused.text

    page = client.post(reverse("tenants:mercadopago-token"), {"access_token": token}, follow=True)
    assert f"Connected to Mercado Pago account {MLA_SELLER}" in page.text
    assert token not in page.text
    assert _credential(tenant_a).source == MercadoPagoCredential.Source.MANUAL

    client.post(reverse("tenants:mercadopago-disconnect"))
    tenant_a.refresh_from_db()
    assert tenant_a.mp_user_id is None
    with tenant_scope(tenant_a), pytest.raises(MercadoPagoCredential.DoesNotExist):
        MercadoPagoCredential.objects.get()
    assert "has not connected a Mercado Pago account yet" in client.get(PAGE).text


def test_oauth_tokens_are_not_in_a_dump(client, tenant_a, owner_a):
    client.force_login(owner_a)
    client.get(_answer_consent(client))
    credential = _credential(tenant_a)
    dump = StringIO()
    call_command("dumpdata", "tenants", all=True, stdout=dump)
    rows = json.loads(dump.getvalue())
    assert MLA_SELLER in [row["fields"].get("mp_user_id") for row in rows]
    assert credential.access_token not in dump.getvalue()
    assert credential.refresh_token not in dump.getvalue()
