"""Fixtures of the partner API tests: partner apps installed on a seller and their tokens, got
from the running OAuth2 provider (client credentials), and API clients that send them."""

import base64

import pytest
from django.test import Client

from partners import scopes
from partners.services import install_application
from tenants.models import Tenant
from tests.factories import make_connected_tenant
from tests.orders.conftest import synced_pos

ALL_SCOPES = frozenset(scopes.SCOPES)


@pytest.fixture(autouse=True)
def tokens_kept_in_the_cache(settings):
    """The API's tests authenticate tokens through the cache, as production does with Redis
    (``partners.token_cache``): every revocation test shows that the kept token is dropped."""
    settings.API_TOKEN_CACHE_SECONDS = 60


def issue_token(tenant: Tenant, requested: frozenset[str] = ALL_SCOPES, **fields) -> str:
    """Install a client-credentials app on ``tenant`` and get a token from ``/o/token/``."""
    application, secret = install_application(
        tenant=tenant, name=f"App of {tenant.slug}", requested=requested, user=None
    )
    basic = base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
    response = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": " ".join(sorted(requested)), **fields},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def api_client(token: str) -> Client:
    """A test client whose every request carries ``token``; JSON bodies by default."""
    return Client(headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def token_a(tenant_a) -> str:
    return issue_token(tenant_a)


@pytest.fixture
def api_a(token_a) -> Client:
    return api_client(token_a)


@pytest.fixture
def seller(db) -> Tenant:
    """A seller connected to the sandbox's test seller."""
    return make_connected_tenant("Parrilla", site="MLA")


@pytest.fixture
def pos(seller):
    """A POS of ``seller``, synced with the sandbox."""
    return synced_pos(seller)


@pytest.fixture
def partner(seller) -> Client:
    """A partner app with every scope on ``seller``."""
    return api_client(issue_token(seller))
