"""Every error under /api/ carries the request's id (issue 20, "Missing"): its body's
``request_id`` is the ``Request-Id`` header, whichever layer answered: DRF, the API's unknown
path, Django's own 400, 404 and 500 handlers, a CSRF failure, the throttle, the version check."""

import json
from collections.abc import Callable

import pytest
from django.test import Client

from tenants.api import TenantView
from tests.api.conftest import api_client, issue_token
from tests.factories import make_member

pytestmark = pytest.mark.django_db


def _signed_in_post(tenant) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_member(tenant, "owner"))
    return browser.post("/api/v1/orders", "{}", content_type="application/json")


def _server_error(tenant, monkeypatch) -> Client:
    def fail(self, request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(TenantView, "get", fail)
    client = api_client(issue_token(tenant))
    client.raise_request_exception = False
    return client.get("/api/v1/tenant")


def _rate_limited(tenant, settings):
    client = api_client(issue_token(tenant))
    settings.API_THROTTLE_RATE = "1/min"
    client.get("/api/v1/tenant")
    return client.get("/api/v1/tenant")


def _too_large(tenant, settings):
    client = api_client(issue_token(tenant))
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    return client.post(
        "/api/v1/orders", json.dumps({"title": "x" * 100}), content_type="application/json"
    )


def _token(tenant) -> Client:
    return api_client(issue_token(tenant))


CASES: dict[str, tuple[int, str, Callable]] = {
    "validation": (
        400,
        "validation_error",
        lambda t, **_: _token(t).post("/api/v1/orders", "{}", content_type="application/json"),
    ),
    "api_version": (
        400,
        "invalid_api_version",
        lambda t, **_: _token(t).get("/api/v1/tenant", headers={"Api-Version": "1999-01-01"}),
    ),
    "host_not_allowed": (
        400,
        "bad_request",
        lambda t, **_: Client().get("/api/v1/tenant", HTTP_HOST="evil.example.com"),
    ),
    "no_credentials": (401, "not_authenticated", lambda t, **_: Client().get("/api/v1/tenant")),
    "bad_token": (401, "token_invalid", lambda t, **_: api_client("x").get("/api/v1/tenant")),
    "csrf": (403, "permission_denied", lambda t, **_: _signed_in_post(t)),
    "unknown_path_v1": (404, "not_found", lambda t, **_: _token(t).get("/api/v1/nothing")),
    "unknown_path_api": (404, "not_found", lambda t, **_: _token(t).post("/api/nothing")),
    "method": (405, "method_not_allowed", lambda t, **_: _token(t).delete("/api/v1/tenant")),
    "accept": (
        406,
        "not_acceptable",
        lambda t, **_: _token(t).get("/api/v1/tenant", headers={"Accept": "application/xml"}),
    ),
    "too_large": (413, "body_too_large", lambda t, settings, **_: _too_large(t, settings)),
    "media_type": (
        415,
        "unsupported_media_type",
        lambda t, **_: _token(t).post("/api/v1/orders", "x", content_type="text/plain"),
    ),
    "rate_limited": (429, "rate_limited", lambda t, settings, **_: _rate_limited(t, settings)),
    "server_error": (
        500,
        "server_error",
        lambda t, monkeypatch, **_: _server_error(t, monkeypatch),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_every_error_body_carries_the_request_id(tenant_a, settings, monkeypatch, case):
    status, code, send = CASES[case]

    answer = send(tenant_a, settings=settings, monkeypatch=monkeypatch)

    assert answer.status_code == status, answer.content
    assert answer["Content-Type"] == "application/json"
    body = answer.json()
    assert body["code"] == code
    assert body["request_id"] == answer["Request-Id"]
    assert len(body["request_id"]) >= 16


def test_a_clients_own_request_id_is_the_one_in_the_body(db):
    answer = Client().get("/api/v1/tenant", headers={"X-Request-Id": "pos-42.retry-1"})

    assert answer["Request-Id"] == "pos-42.retry-1"
    assert answer.json()["request_id"] == "pos-42.retry-1"
