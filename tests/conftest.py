import pytest

from tests.factories import make_member, make_tenant


@pytest.fixture
def tenant_a(db):
    return make_tenant("Seller A", site="MLA")


@pytest.fixture
def tenant_b(db):
    return make_tenant("Seller B", site="MLB")


@pytest.fixture
def owner_a(tenant_a):
    return make_member(tenant_a, "owner", "owner-a")


@pytest.fixture
def owner_b(tenant_b):
    return make_member(tenant_b, "owner", "owner-b")


@pytest.fixture(autouse=True)
def _plain_http_and_static_files(settings):
    """Tests speak plain HTTP to the test client and read static files from the apps, while
    every other setting keeps its production value (DEBUG is off in tests)."""
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
