"""Partner apps of one seller keep to their own webhook endpoints (issue 15, point 8): a token
sees and changes only its app's endpoints, a signed-in owner or manager sees all of the seller's,
deliveries (whole orders) need ``orders:read`` too, and token introspection answers a client about
its own tokens only."""

import base64
import json
from dataclasses import dataclass

import pytest
from django.test import Client

from partners import webhooks
from partners.models import WebhookEndpoint
from partners.services import install_application
from tenants.scope import tenant_scope
from tests.api.conftest import api_client
from tests.factories import make_member

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/v1/webhook-endpoints"
URL = "https://erp.example.com/hooks"


@dataclass
class App:
    client_id: str
    basic: str  # the Authorization header of its client credentials
    token: str
    api: Client


def install(tenant, *scopes: str) -> App:
    """A client-credentials app installed on ``tenant``, with a token of ``scopes``."""
    application, secret = install_application(
        tenant=tenant, name="App", requested=frozenset(scopes), user=None
    )
    basic = "Basic " + base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
    issued = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": " ".join(scopes)},
        headers={"Authorization": basic},
    )
    assert issued.status_code == 200, issued.content
    token = issued.json()["access_token"]
    return App(application.client_id, basic, token, api_client(token))


def register(client: Client, url: str = URL) -> dict:
    """Register ``url`` for an event any token may receive (order events need orders:read)."""
    response = client.post(
        ENDPOINTS,
        json.dumps({"url": url, "events": ["seller.connection_changed"]}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_an_app_cannot_see_or_change_another_apps_endpoint_of_the_same_seller(tenant_a):
    owner = install(tenant_a, "webhooks:write")
    other = install(tenant_a, "webhooks:write", "orders:read")
    theirs = register(owner.api)
    mine = register(other.api, "https://other.example.com/hooks")
    path = f"{ENDPOINTS}/{theirs['id']}"
    body = json.dumps({"url": "https://attacker.example.com/", "events": ["order.created"]})

    answers = [
        other.api.get(path),
        other.api.put(path, body, content_type="application/json"),
        other.api.patch(path, body, content_type="application/json"),
        other.api.post(f"{path}/test", content_type="application/json"),
        other.api.post(f"{path}/rotate-secret", content_type="application/json"),
        other.api.get(f"{path}/deliveries"),
        other.api.delete(path),
    ]

    assert [answer.status_code for answer in answers] == [404] * len(answers)
    assert {answer.json()["code"] for answer in answers} == {"not_found"}
    assert [row["id"] for row in other.api.get(ENDPOINTS).json()["results"]] == [mine["id"]]
    assert [row["id"] for row in owner.api.get(ENDPOINTS).json()["results"]] == [theirs["id"]]
    with tenant_scope(tenant_a):
        endpoint = WebhookEndpoint.objects.get(pk=theirs["id"])
        assert (endpoint.url, endpoint.secret) == (URL, theirs["secret"])
        assert not endpoint.deliveries.exists()


def test_an_endpoint_registered_by_a_signed_in_user_is_not_an_apps(tenant_a):
    manager = Client()
    manager.force_login(make_member(tenant_a, "manager"))
    by_user = register(manager)
    app = install(tenant_a, "webhooks:write")

    assert app.api.get(f"{ENDPOINTS}/{by_user['id']}").status_code == 404
    assert app.api.get(ENDPOINTS).json()["results"] == []


def test_a_signed_in_owner_sees_and_manages_every_apps_endpoints(tenant_a):
    first, second = install(tenant_a, "webhooks:write"), install(tenant_a, "webhooks:write")
    endpoints = [register(first.api), register(second.api)]
    owner = Client()
    owner.force_login(make_member(tenant_a, "owner"))

    listed = owner.get(ENDPOINTS).json()["results"]
    deliveries = owner.get(f"{ENDPOINTS}/{endpoints[0]['id']}/deliveries")
    deleted = owner.delete(f"{ENDPOINTS}/{endpoints[1]['id']}")

    assert {row["id"] for row in listed} == {endpoint["id"] for endpoint in endpoints}
    assert {row["application"] for row in listed} == {first.client_id, second.client_id}
    assert (deliveries.status_code, deleted.status_code) == (200, 204)


def test_deliveries_need_the_orders_read_scope_too(tenant_a, eager_celery, receiver):
    app = install(tenant_a, "webhooks:write")
    reader = install(tenant_a, "webhooks:write", "orders:read")
    endpoints = [register(client, f"{receiver.url}/hooks") for client in (app.api, reader.api)]
    for client, endpoint in zip((app.api, reader.api), endpoints, strict=True):
        sent = client.post(f"{ENDPOINTS}/{endpoint['id']}/test", content_type="application/json")
        assert sent.status_code == 202

    refused = app.api.get(f"{ENDPOINTS}/{endpoints[0]['id']}/deliveries")
    allowed = reader.api.get(f"{ENDPOINTS}/{endpoints[1]['id']}/deliveries")

    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    assert "orders:read" in refused.json()["message"]
    assert allowed.status_code == 200
    [delivery] = allowed.json()["results"]
    assert delivery["payload"]["type"] == webhooks.EventType.TEST


def introspect(app: App, token: str) -> dict:
    response = Client().post(
        "/o/introspect/", {"token": token}, headers={"Authorization": app.basic}
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_introspection_answers_a_client_about_its_own_tokens_only(tenant_a, tenant_b):
    first, second = install(tenant_a, "orders:read"), install(tenant_b, "orders:read")

    own = introspect(first, first.token)
    foreign = introspect(first, second.token)

    assert (own["active"], own["client_id"], own["scope"]) == (True, first.client_id, "orders:read")
    assert foreign == {"active": False} == introspect(first, "no-such-token")
    assert introspect(second, second.token)["active"] is True
