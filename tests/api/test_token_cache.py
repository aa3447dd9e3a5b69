"""Partner tokens authenticated from the cache (``partners.token_cache``): a request after the
first costs no query to authenticate, the cache holds no secret, and every way a token stops
working (its consent revoked, its app deleted, its seller suspended, DOT's revocation) drops
it at once, the kept entry notwithstanding."""

import base64
import hashlib
import pickle

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from partners import token_cache
from partners.models import PartnerGrant
from partners.services import install_application, revoke_grant
from tenants.models import Tenant
from tenants.scope import tenant_scope
from tests.api.conftest import ALL_SCOPES, api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def installed(tenant_a):
    """A client-credentials app on seller A, its secret, and a token it got."""
    application, secret = install_application(
        tenant=tenant_a, name="Cached app", requested=ALL_SCOPES, user=None
    )
    basic = base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
    answer = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": " ".join(sorted(ALL_SCOPES))},
        headers={"Authorization": f"Basic {basic}"},
    )
    return application, secret, answer.json()["access_token"]


def used(token: str) -> list[str]:
    """The statements of one request with ``token``, which must succeed."""
    with CaptureQueriesContext(connection) as captured:
        assert api_client(token).get("/api/v1/tenant").status_code == 200
    return [query["sql"] for query in captured]


def refusal(token: str) -> str:
    answer = api_client(token).get("/api/v1/tenant")
    assert answer.status_code == 401
    return answer.json()["code"]


def test_a_kept_token_is_authenticated_without_a_query(installed):
    token = installed[2]
    first, second = used(token), used(token)

    assert any("oauth2_provider_accesstoken" in sql for sql in first)
    assert not any("oauth2_provider_accesstoken" in sql for sql in second)
    assert len(second) == len(first) - 1


def test_the_cache_holds_no_secret(installed):
    application, secret, token = installed
    used(token)
    checksum = hashlib.sha256(token.encode()).hexdigest()

    kept = cache.get(token_cache._key(checksum))

    assert kept["access_token"][0]  # the token's id, expiry, scopes...
    dumped = pickle.dumps(kept)
    for value in (token, secret, application.client_secret):
        assert value.encode() not in dumped


def test_a_revoked_consent_drops_the_kept_token(tenant_a, installed):
    used(installed[2])
    with tenant_scope(tenant_a):
        revoke_grant(tenant=tenant_a, grant=PartnerGrant.objects.get())

    assert refusal(installed[2]) == "token_revoked"


def test_a_deleted_app_drops_the_kept_token(tenant_a, installed):
    used(installed[2])
    with tenant_scope(tenant_a):
        installed[0].delete()

    assert refusal(installed[2]) == "token_revoked"


def test_a_suspended_seller_drops_the_kept_token(tenant_a, installed):
    used(installed[2])
    tenant_a.status = Tenant.Status.SUSPENDED
    tenant_a.save()

    assert refusal(installed[2]) == "seller_suspended"


def test_dots_revocation_endpoint_drops_the_kept_token(installed):
    application, secret, token = installed
    used(token)
    basic = base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()

    answer = Client().post(
        "/o/revoke_token/", {"token": token}, headers={"Authorization": f"Basic {basic}"}
    )

    assert answer.status_code == 200
    assert refusal(token) in {"token_invalid", "token_revoked"}


def test_nothing_is_kept_without_a_shared_cache(settings, installed):
    settings.API_TOKEN_CACHE_SECONDS = 0
    first, second = used(installed[2]), used(installed[2])

    assert len(second) == len(first)
