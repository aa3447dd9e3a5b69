"""The admin of partner apps: connected apps scoped to the seller, "Revoke access", installing an
API client (its secret shown once), and the read-only webhook endpoints and deliveries."""

import base64
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import get_application_model

from partners.models import DeliveryAttempt, PartnerGrant
from partners.services import record_consent
from tenants.roles import Role
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.factories import make_grant, make_member, make_user, make_webhook_delivery

pytestmark = pytest.mark.django_db

Application = get_application_model()
GRANTS = reverse("admin:partners_partnergrant_changelist")
INSTALL = reverse("admin:partners_partnergrant_add")
ENDPOINTS = reverse("admin:partners_webhookendpoint_changelist")
DELIVERIES = reverse("admin:partners_webhookdelivery_changelist")
MISSING = "doesn\u2019t exist"


def grant_page(grant: PartnerGrant) -> str:
    return reverse("admin:partners_partnergrant_change", args=[grant.pk])


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def grant_of(tenant) -> PartnerGrant:
    with tenant_scope(tenant):
        return PartnerGrant.objects.select_related("application").get()


def consented(tenant, user) -> PartnerGrant:
    """An authorization-code app connected to ``tenant`` by ``user`` on the consent page."""
    application = Application.objects.create(
        name="Caja Rápida POS",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://partner.example.com/callback",
    )
    return record_consent(
        tenant=tenant,
        application=application,
        user=user,
        requested=frozenset({"orders:read", "pos:read"}),
    )


def revoke(client: Client, *grants: PartnerGrant):
    return client.post(GRANTS, {"action": "revoke", "_selected_action": [g.pk for g in grants]})


def token_for(client_id: str, secret: str, scope: str):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": scope},
        headers={"Authorization": f"Basic {basic}"},
    )


# Connected apps --------------------------------------------------------------------------------


def test_a_member_sees_the_connected_apps_of_their_seller_only(
    tenant_a, owner_a, tenant_b, owner_b
):
    ours = consented(tenant_a, owner_a)
    theirs = make_grant(tenant_b)
    client = signed_in(make_member(tenant_a, Role.VIEWER, language="en"))

    page = client.get(GRANTS)

    assert page.status_code == 200
    assert [row.pk for row in page.context["cl"].result_list] == [ours.pk]
    assert "Caja Rápida POS" in page.text
    assert "orders:read, pos:read" in page.text
    assert "Consent of a member (authorization code)" in page.text
    assert "owner-a" in page.text  # granted by
    assert theirs.application.name not in page.text
    assert "Install an API client" not in page.text  # a viewer only looks
    detail = client.get(grant_page(ours))
    assert detail.status_code == 200
    assert ours.application.client_id in detail.text
    assert 'name="_save"' not in detail.text  # read-only

    foreign = client.get(grant_page(theirs), follow=True)
    nonexistent = client.get(grant_page(PartnerGrant(pk=theirs.pk + 1000)), follow=True)
    assert MISSING in foreign.text
    assert theirs.application.client_id not in foreign.text
    assert foreign.redirect_chain == [(reverse("admin:index"), 302)]
    assert nonexistent.redirect_chain == foreign.redirect_chain  # as if it did not exist


def test_platform_staff_see_every_sellers_connected_apps(tenant_a, tenant_b):
    ours, theirs = make_grant(tenant_a), make_grant(tenant_b)

    page = signed_in(make_user(is_staff=True, is_superuser=True)).get(GRANTS)

    assert {row.pk for row in page.context["cl"].result_list} == {ours.pk, theirs.pk}
    assert "Seller A" in page.text
    assert "Seller B" in page.text  # the tenant column
    detail = signed_in(make_user(is_staff=True, is_superuser=True)).get(grant_page(theirs))
    assert "field-tenant" in detail.text


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_revoking_a_connected_app_ends_its_tokens_at_once(tenant_a, tenant_b, role):
    token = issue_token(tenant_a, frozenset({"orders:read"}))
    theirs_token = issue_token(tenant_b, frozenset({"orders:read"}))
    ours, theirs = grant_of(tenant_a), grant_of(tenant_b)
    client = signed_in(make_member(tenant_a, role, language="en"))
    assert '<option value="revoke">Revoke access</option>' in client.get(GRANTS).text

    response = revoke(client, ours, theirs)  # tenant B's id slipped into the selection

    assert response.status_code == 302
    assert "Access revoked for 1 app(s)" in client.get(GRANTS).text
    assert grant_of(tenant_a).revoked_at is not None
    assert api_client(token).get("/api/v1/tenant").status_code == 401
    assert grant_of(tenant_b).revoked_at is None
    assert api_client(theirs_token).get("/api/v1/tenant").status_code == 200


@pytest.mark.parametrize("role", [Role.CASHIER, Role.VIEWER])
def test_cashiers_and_viewers_can_neither_revoke_nor_install(tenant_a, role):
    token = issue_token(tenant_a, frozenset({"orders:read"}))
    client = signed_in(make_member(tenant_a, role, language="en"))

    assert "Revoke access" not in client.get(GRANTS).text
    revoke(client, grant_of(tenant_a))
    assert client.get(INSTALL).status_code == 403
    assert client.post(INSTALL, {"name": "Mine", "scopes": ["orders:read"]}).status_code == 403

    assert grant_of(tenant_a).revoked_at is None
    assert api_client(token).get("/api/v1/tenant").status_code == 200


def test_nobody_edits_or_deletes_a_connected_app(tenant_a, owner_a):
    grant = make_grant(tenant_a)
    client = signed_in(owner_a)

    edited = client.post(grant_page(grant), {"scope": "orders:read orders:write"})
    deleted = client.post(
        reverse("admin:partners_partnergrant_delete", args=[grant.pk]), {"post": "yes"}
    )

    assert (edited.status_code, deleted.status_code) == (403, 403)
    assert grant_of(tenant_a).scope == "orders:read"


# Installing an API client ----------------------------------------------------------------------


def secret_on(page: str) -> tuple[str, str]:
    client_id = re.search(r'<code id="client-id">([^<]+)</code>', page).group(1)
    secret = re.search(r'<code id="client-secret">([^<]+)</code>', page).group(1)
    return client_id, secret


def test_an_owner_installs_an_api_client_and_sees_its_secret_once(tenant_a, tenant_b, owner_a):
    client = signed_in(owner_a)
    form = client.get(INSTALL)
    assert form.status_code == 200
    assert "Install an API client" in form.text
    assert "Create, cancel and refund orders" in form.text  # the scopes, described
    assert "Install an API client" in client.get(GRANTS).text

    installed = client.post(
        INSTALL, {"tenant": tenant_b.pk, "name": "Back-office ERP", "scopes": ["orders:read"]}
    )

    assert installed.status_code == 200
    assert "will not be shown again" in installed.text
    assert "orders:read" in installed.text
    assert installed.headers["Cache-Control"].startswith("max-age=0")  # never cached
    client_id, secret = secret_on(installed.text)
    grant = grant_of(tenant_a)  # the member's seller, whatever tenant was posted
    assert (grant.application.name, grant.scope, grant.granted_by) == (
        "Back-office ERP",
        "orders:read",
        owner_a,
    )
    assert grant.application.client_id == client_id
    assert grant.application.client_secret != secret  # stored hashed
    for page in (client.get(GRANTS), client.get(grant_page(grant))):
        assert secret not in page.text
    assert not LogEntry.objects.filter(change_message__contains=secret).exists()

    answer = token_for(client_id, secret, "orders:read")
    assert answer.status_code == 200, answer.content
    assert api_client(answer.json()["access_token"]).get("/api/v1/tenant").json()["slug"] == (
        tenant_a.slug
    )
    assert token_for(client_id, secret, "orders:write").json()["error"] == "invalid_scope"


def test_an_api_client_needs_a_name_and_a_scope(owner_a):
    client = signed_in(owner_a)

    response = client.post(INSTALL, {"name": "", "scopes": []})

    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"name", "scopes"}
    assert not Application.objects.exists()


def test_platform_staff_install_an_api_client_for_the_seller_they_choose(tenant_a, tenant_b):
    client = signed_in(make_user(is_staff=True, is_superuser=True))

    installed = client.post(
        INSTALL, {"tenant": tenant_b.pk, "name": "Padaria ERP", "scopes": ["stores:read"]}
    )

    client_id, secret = secret_on(installed.text)
    assert grant_of(tenant_b).application.client_id == client_id
    with tenant_scope(tenant_a):
        assert not PartnerGrant.objects.exists()
    assert token_for(client_id, secret, "stores:read").status_code == 200


# Webhook endpoints and deliveries --------------------------------------------------------------


def attempted_delivery(tenant, url: str):
    """A delivery to a new endpoint of ``tenant`` that failed once and then succeeded."""
    delivery = make_webhook_delivery(tenant)
    endpoint = delivery.endpoint
    with tenant_scope(tenant):
        type(endpoint).objects.filter(pk=endpoint.pk).update(url=url)
        DeliveryAttempt.objects.create(
            delivery=delivery, status_code=503, duration_ms=12, response_body="Busy"
        )
        DeliveryAttempt.objects.create(
            delivery=delivery, status_code=None, duration_ms=5000, error="Timed out"
        )
    endpoint.refresh_from_db()
    return delivery


def test_a_member_sees_their_sellers_webhook_deliveries_and_attempts_read_only(tenant_a, tenant_b):
    ours = attempted_delivery(tenant_a, "https://erp.example.com/hooks")
    theirs = attempted_delivery(tenant_b, "https://padaria.example.com/hooks")
    client = signed_in(make_member(tenant_a, Role.VIEWER, language="en"))

    endpoints = client.get(ENDPOINTS)
    assert "https://erp.example.com/hooks" in endpoints.text
    assert "https://padaria.example.com/hooks" not in endpoints.text
    assert "order.processed" in endpoints.text
    endpoint_page = client.get(
        reverse("admin:partners_webhookendpoint_change", args=[ours.endpoint.pk])
    )
    assert endpoint_page.status_code == 200
    assert ours.endpoint.secret not in endpoints.text + endpoint_page.text  # never shown

    deliveries = client.get(DELIVERIES)
    assert [row.pk for row in deliveries.context["cl"].result_list] == [ours.pk]
    page = client.get(reverse("admin:partners_webhookdelivery_change", args=[ours.pk]))
    [attempts] = page.context["inline_admin_formsets"]
    shown = [(form.original.status_code, form.original.error) for form in attempts]
    assert shown == [(503, ""), (None, "Timed out")]
    assert "Busy" in page.text
    assert 'name="_save"' not in page.text

    foreign = client.get(
        reverse("admin:partners_webhookdelivery_change", args=[theirs.pk]), follow=True
    )
    assert MISSING in foreign.text
    assert "padaria" not in foreign.text
    assert client.get(reverse("admin:partners_webhookendpoint_add")).status_code == 403
