"""A 401 says why (issue 20, point 3), with a stable code, so a client knows whether to refresh
or to ask the seller to connect the app again, and an RFC 6750 challenge on token errors."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from partners.models import PartnerGrant
from partners.services import revoke_grant
from tenants.models import Tenant
from tenants.scope import tenant_scope
from tests.api.conftest import api_client

pytestmark = pytest.mark.django_db


def refused(client: Client) -> tuple[str, str]:
    answer = client.get("/api/v1/tenant")
    assert answer.status_code == 401
    body = answer.json()
    assert body["request_id"] == answer["Request-Id"]
    return body["code"], answer["WWW-Authenticate"]


def test_no_credentials_is_not_authenticated_with_a_plain_challenge(db):
    code, challenge = refused(Client())

    assert code == "not_authenticated"
    assert challenge == 'Bearer realm="api"'


@pytest.mark.parametrize("token", ["no-such-token", ""])
def test_an_unknown_or_empty_token_is_token_invalid(db, token):
    code, challenge = refused(api_client(token))

    assert code == "token_invalid"
    assert challenge == (
        'Bearer realm="api", error="invalid_token", '
        'error_description="The access token is not valid."'
    )


def test_an_expired_token_is_token_expired(token_a):
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        code, challenge = refused(api_client(token_a))

    assert code == "token_expired"
    assert 'error="invalid_token"' in challenge
    assert "has expired" in challenge


def test_a_token_of_a_revoked_consent_is_token_revoked(tenant_a, token_a):
    with tenant_scope(tenant_a):
        revoke_grant(tenant=tenant_a, grant=PartnerGrant.objects.get())

    code, challenge = refused(api_client(token_a))

    assert code == "token_revoked"
    assert 'error="invalid_token"' in challenge
    assert "connect the app again" in challenge


def test_a_token_of_a_deleted_app_is_token_revoked(tenant_a, token_a):
    with tenant_scope(tenant_a):
        PartnerGrant.objects.get().application.delete()

    assert refused(api_client(token_a))[0] == "token_revoked"


def test_a_token_of_a_suspended_seller_is_seller_suspended(tenant_a, token_a):
    Tenant.objects.filter(pk=tenant_a.pk).update(status=Tenant.Status.SUSPENDED)

    code, challenge = refused(api_client(token_a))

    assert code == "seller_suspended"
    assert 'error="invalid_token"' in challenge


def test_a_revoked_token_of_a_suspended_seller_says_revoked(tenant_a, token_a):
    """The consent is gone for good; the suspension may be lifted."""
    with tenant_scope(tenant_a):
        revoke_grant(tenant=tenant_a, grant=PartnerGrant.objects.get())
    Tenant.objects.filter(pk=tenant_a.pk).update(status=Tenant.Status.SUSPENDED)

    assert refused(api_client(token_a))[0] == "token_revoked"
