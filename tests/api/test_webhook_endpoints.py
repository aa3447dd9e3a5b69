"""``/api/v1/webhook-endpoints``: registering, changing and deleting endpoints, the secret shown
once, field errors in the API's format, and isolation between sellers."""

import json

import pytest
from django.db import connection
from django.test import Client, override_settings
from oauth2_provider.models import Application

from partners.models import WebhookEndpoint
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.factories import make_member, make_webhook_endpoint

URL = "https://partner.example.com/hooks"


def post(client: Client, path: str, body: dict | None = None, **extra):
    return client.post(path, json.dumps(body or {}), content_type="application/json", **extra)


def register(client: Client, **fields) -> dict:
    response = post(
        client, "/api/v1/webhook-endpoints", {"url": URL, "events": ["order.created"], **fields}
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_registered_endpoint_shows_its_secret_once_and_stores_it_encrypted(tenant_a, api_a):
    created = register(
        api_a, events=["order.refunded", "order.processed"], description="ERP of Seller A"
    )

    endpoint_id = created["id"]
    assert created["secret"].startswith("whsec_")
    assert len(created["secret"]) > 40
    assert created["events"] == ["order.processed", "order.refunded"]
    assert (created["url"], created["description"], created["is_active"]) == (
        URL,
        "ERP of Seller A",
        True,
    )
    with tenant_scope(tenant_a):
        application = Application.objects.get(partner_grants__tenant=tenant_a)
    assert created["application"] == application.client_id
    listed = api_a.get("/api/v1/webhook-endpoints").json()["results"]
    shown = api_a.get(f"/api/v1/webhook-endpoints/{endpoint_id}").json()
    assert [row["id"] for row in listed] == [endpoint_id]
    assert "secret" not in listed[0]
    assert "secret" not in shown
    assert shown["events"] == created["events"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM partners_webhookendpoint WHERE id = %s", [endpoint_id])
        [(stored,)] = cursor.fetchall()
    assert created["secret"] not in stored
    with tenant_scope(tenant_a):
        assert WebhookEndpoint.objects.get(pk=endpoint_id).secret == created["secret"]


def test_rotating_the_secret_shows_the_new_one_once(api_a):
    created = register(api_a, events=["order.created"])

    rotated = post(api_a, f"/api/v1/webhook-endpoints/{created['id']}/rotate-secret")

    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != created["secret"]
    assert "secret" not in api_a.get(f"/api/v1/webhook-endpoints/{created['id']}").json()


def test_an_endpoint_is_changed_and_deleted(tenant_a, api_a):
    created = register(api_a, events=["order.created"])
    path = f"/api/v1/webhook-endpoints/{created['id']}"

    patched = api_a.patch(
        path,
        json.dumps({"events": ["order.canceled", "order.expired"], "is_active": False}),
        content_type="application/json",
    )
    replaced = api_a.put(
        path,
        json.dumps({"url": "https://erp.example.org/in", "events": ["order.processed"]}),
        content_type="application/json",
    )
    deleted = api_a.delete(path)

    assert patched.status_code == 200
    assert (patched.json()["events"], patched.json()["is_active"]) == (
        ["order.canceled", "order.expired"],
        False,
    )
    assert patched.json()["url"] == URL
    assert replaced.status_code == 200
    assert (replaced.json()["url"], replaced.json()["events"]) == (
        "https://erp.example.org/in",
        ["order.processed"],
    )
    assert "secret" not in patched.json()
    assert deleted.status_code == 204
    assert api_a.get(path).status_code == 404
    with tenant_scope(tenant_a):
        assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"events": ["order.paid"]}, "events.0", "invalid_choice"),
        ({"events": ["webhook.test"]}, "events.0", "invalid_choice"),
        ({"events": []}, "events", "empty"),
        ({"url": "not a url"}, "url", "invalid"),
        ({"url": "ftp://partner.example.com/hooks"}, "url", "url_not_allowed"),
    ],
)
def test_invalid_events_and_urls_are_field_errors(api_a, body, field, code):
    response = post(
        api_a, "/api/v1/webhook-endpoints", {"url": URL, "events": ["order.created"]} | body
    )

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert [error["code"] for error in response.json()["fields"][field]] == [code]


@override_settings(WEBHOOKS_ALLOW_PRIVATE_URLS=False)
@pytest.mark.parametrize(
    "url",
    [
        "http://partner.example.com/hooks",
        "https://127.0.0.1/hooks",
        "https://10.1.2.3/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://[::ffff:192.168.0.1]/hooks",
    ],
)
def test_plain_http_and_private_addresses_are_refused_outside_development(api_a, url):
    created = post(api_a, "/api/v1/webhook-endpoints", {"url": url, "events": ["order.created"]})

    assert created.status_code == 400
    [error] = created.json()["fields"]["url"]
    assert error["code"] == "url_not_allowed"


@override_settings(WEBHOOKS_ALLOW_PRIVATE_URLS=False, DEBUG=True)
def test_plain_http_is_allowed_in_development(api_a):
    assert register(api_a, url="http://partner.example.com/hooks", events=["order.created"])


def test_another_sellers_endpoint_is_404_on_every_route_and_never_listed(tenant_b, api_a):
    theirs = make_webhook_endpoint(tenant_b)
    mine = register(api_a, events=["order.created"])
    path = f"/api/v1/webhook-endpoints/{theirs.pk}"
    body = json.dumps({"url": URL, "events": ["order.created"]})

    answers = [
        api_a.get(path),
        api_a.put(path, body, content_type="application/json"),
        api_a.patch(path, body, content_type="application/json"),
        post(api_a, f"{path}/test"),
        post(api_a, f"{path}/rotate-secret"),
        api_a.get(f"{path}/deliveries"),
        api_a.delete(path),
    ]

    assert [answer.status_code for answer in answers] == [404] * len(answers)
    assert {answer.json()["code"] for answer in answers} == {"not_found"}
    listed = api_a.get("/api/v1/webhook-endpoints").json()["results"]
    assert [row["id"] for row in listed] == [mine["id"]]
    with tenant_scope(tenant_b):
        theirs.refresh_from_db()
    assert theirs.url == "https://partner.example.com/webhooks"


def test_a_token_without_the_webhooks_scope_is_403(tenant_a):
    reader = api_client(issue_token(tenant_a, frozenset({"orders:read"})))

    listed = reader.get("/api/v1/webhook-endpoints")
    created = post(reader, "/api/v1/webhook-endpoints", {"url": URL, "events": ["order.created"]})

    assert (listed.status_code, created.status_code) == (403, 403)
    assert listed.json()["code"] == "insufficient_scope"


def test_signed_in_members_need_the_integrations_capability(tenant_a):
    make_webhook_endpoint(tenant_a)
    manager, cashier = Client(), Client()
    manager.force_login(make_member(tenant_a, "manager"))
    cashier.force_login(make_member(tenant_a, "cashier"))

    registered = post(
        manager, "/api/v1/webhook-endpoints", {"url": URL, "events": ["order.created"]}
    )
    listed_by_cashier = cashier.get("/api/v1/webhook-endpoints")

    assert registered.status_code == 201
    assert registered.json()["application"] is None
    assert len(manager.get("/api/v1/webhook-endpoints").json()["results"]) == 2
    assert listed_by_cashier.status_code == 403
    assert listed_by_cashier.json()["code"] == "role_not_allowed"
