"""API versions (issue 20, versioning): a grant is pinned to the version current when it is
created; a request may ask for another with ``Api-Version`` (an unknown one is a 400
``invalid_api_version`` naming the header); every answer under /api/v1, errors too, names the
version it was answered in."""

import pytest
from django.test import Client

from partners import versions
from partners.models import PartnerGrant
from tenants.scope import tenant_scope
from tests.api.authorization_code import connect
from tests.api.conftest import api_client
from tests.factories import make_member

pytestmark = pytest.mark.django_db

OLDER = "2026-06-01"


@pytest.fixture
def two_versions(monkeypatch):
    """The registry as it will be once a second dated version ships."""
    monkeypatch.setattr(versions, "VERSIONS", (OLDER, versions.CURRENT))


def pin(tenant, version: str) -> None:
    with tenant_scope(tenant):
        PartnerGrant.objects.update(api_version=version)


def test_a_grant_is_pinned_to_the_current_version_when_created(tenant_a, token_a, owner_a):
    connect(tenant_a, owner_a)  # a consent; token_a's app was installed

    with tenant_scope(tenant_a):
        pinned = set(PartnerGrant.objects.values_list("api_version", flat=True))

    assert pinned == {versions.CURRENT}


def test_an_answer_is_in_the_grants_pinned_version_unless_the_request_asks(
    tenant_a, api_a, two_versions
):
    pin(tenant_a, OLDER)

    pinned = api_a.get("/api/v1/tenant")
    asked = api_a.get("/api/v1/tenant", headers={"Api-Version": versions.CURRENT})

    assert (pinned.status_code, pinned["Api-Version"]) == (200, OLDER)
    assert (asked.status_code, asked["Api-Version"]) == (200, versions.CURRENT)


def test_a_grant_pinned_to_no_version_and_a_signed_in_user_get_the_current_one(
    tenant_a, api_a, two_versions
):
    pin(tenant_a, "")
    browser = Client()
    browser.force_login(make_member(tenant_a, "viewer"))

    assert api_a.get("/api/v1/tenant")["Api-Version"] == versions.CURRENT
    assert browser.get("/api/v1/tenant")["Api-Version"] == versions.CURRENT
    assert browser.get("/api/v1/tenant", headers={"Api-Version": OLDER})["Api-Version"] == OLDER


@pytest.mark.parametrize("value", ["2020-01-01", "latest", "2026-12-6", ""])
def test_an_unknown_version_is_a_400_naming_the_header(api_a, value):
    answer = api_a.get("/api/v1/tenant", headers={"Api-Version": value})

    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "invalid_api_version"
    assert set(body["fields"]) == {"Api-Version"}
    assert body["fields"]["Api-Version"][0]["code"] == "invalid_choice"
    assert versions.CURRENT in body["message"]
    assert body["request_id"] == answer["Request-Id"]
    assert answer["Api-Version"] == versions.CURRENT


@pytest.mark.parametrize(
    ("method", "path", "token", "status"),
    [
        ("get", "/api/v1/tenant", None, 401),
        ("get", "/api/v1/tenant", "no-such-token", 401),
        ("get", "/api/v1/no-such-path", None, 404),
        ("delete", "/api/v1/tenant", "valid", 405),
    ],
)
def test_every_error_under_api_v1_names_the_version(api_a, method, path, token, status):
    client = api_a if token == "valid" else api_client(token) if token else Client()

    answer = getattr(client, method)(path)

    assert answer.status_code == status
    assert answer["Api-Version"] == versions.CURRENT


def test_pages_outside_the_api_name_no_version(db):
    assert "Api-Version" not in Client().get("/healthz")


def test_a_huge_unknown_version_is_refused_without_echoing_it_whole(tenant_a):
    answer = Client().get("/api/v1/tenant", headers={"Api-Version": "9" * 5000})

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_api_version"
    assert len(answer.json()["message"]) < 200
