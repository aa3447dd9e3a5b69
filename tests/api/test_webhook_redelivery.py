"""``/api/v1/webhook-deliveries``: an app lists the deliveries of its own endpoints (one event, one
id on every endpoint) and asks for a redelivery, which sends the same event again to a real HTTP
receiver; a revoked app's endpoints get none."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from partners import webhooks
from partners.models import EventType, PartnerGrant, WebhookDelivery
from partners.services import revoke_grant
from partners.webhooks import SIGNATURE_HEADER, verify_signature
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.factories import make_member, make_webhook_delivery, make_webhook_endpoint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]

PARTNER_SCOPES = frozenset({"webhooks:write", "orders:read"})


def partner_client(tenant, scopes: frozenset[str] = PARTNER_SCOPES) -> Client:
    return api_client(issue_token(tenant, scopes))


def register(client: Client, url: str, events: list[str]) -> dict:
    response = client.post(
        "/api/v1/webhook-endpoints",
        json.dumps({"url": url, "events": events}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def owner_of(tenant) -> Client:
    browser = Client()
    browser.force_login(make_member(tenant, "owner"))
    return browser


def redeliver(client: Client, delivery_id: int):
    return client.post(
        f"/api/v1/webhook-deliveries/{delivery_id}/redeliver", content_type="application/json"
    )


def test_a_redelivery_sends_the_same_event_again_with_the_same_id(tenant_a, receiver):
    partner = partner_client(tenant_a)
    endpoint = register(partner, f"{receiver.url}/hooks", ["order.created"])
    sent = partner.post(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/test", content_type="application/json"
    ).json()
    assert sent["status"] == "delivered"

    answer = redeliver(partner, sent["id"])

    assert answer.status_code == 202, answer.content
    again = answer.json()
    assert (again["id"], again["event_id"]) == (sent["id"], sent["event_id"])
    assert (again["status"], again["attempt_count"]) == ("delivered", 1)
    assert [attempt["status_code"] for attempt in again["attempts"]] == [200, 200]
    first, second = receiver.requests
    assert second.body == first.body
    assert second.json["id"] == second.headers["X-Platform-Delivery"] == sent["event_id"]
    assert verify_signature(endpoint["secret"], second.headers[SIGNATURE_HEADER], second.body)
    assert partner.get(f"/api/v1/webhook-deliveries/{sent['id']}").json() == again


def test_a_failed_delivery_gets_its_retry_schedule_again(settings, tenant_a, receiver):
    settings.WEBHOOKS_MAX_ATTEMPTS = 1
    settings.WEBHOOKS_BACKOFF_BASE = 30
    receiver.statuses = [503, 503]
    partner = partner_client(tenant_a)
    endpoint = register(partner, f"{receiver.url}/hooks", ["order.created"])
    sent = partner.post(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/test", content_type="application/json"
    ).json()
    assert (sent["status"], sent["attempt_count"]) == ("failed", 1)
    settings.WEBHOOKS_MAX_ATTEMPTS = 2

    again = redeliver(partner, sent["id"]).json()

    # Its count started again: one failed attempt of two, so it is retried after the first wait.
    assert (again["status"], again["attempt_count"]) == ("pending", 1)
    assert [attempt["status_code"] for attempt in again["attempts"]] == [503, 503]
    wait = timezone.datetime.fromisoformat(again["next_attempt_at"]) - timezone.now()
    assert timedelta(seconds=20) < wait <= timedelta(seconds=settings.WEBHOOKS_BACKOFF_BASE)


def test_a_pending_delivery_is_not_redelivered(tenant_a):
    endpoint = make_webhook_endpoint(tenant_a)
    pending = make_webhook_delivery(tenant_a, endpoint)

    refused = redeliver(owner_of(tenant_a), pending.pk)

    assert refused.status_code == 409
    assert refused.json()["code"] == "delivery_pending"


def test_a_revoked_apps_endpoint_gets_no_redelivery(tenant_a, receiver):
    partner = partner_client(tenant_a)
    endpoint = register(partner, f"{receiver.url}/hooks", ["order.created"])
    sent = partner.post(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/test", content_type="application/json"
    ).json()
    with tenant_scope(tenant_a):
        grant = PartnerGrant.objects.get(application__client_id=endpoint["application"])
    revoke_grant(tenant=tenant_a, grant=grant)
    owner = owner_of(tenant_a)

    inactive = redeliver(owner, sent["id"])
    owner.patch(
        f"/api/v1/webhook-endpoints/{endpoint['id']}",
        json.dumps({"is_active": True}),
        content_type="application/json",
    )
    revoked = redeliver(owner, sent["id"])

    assert redeliver(partner, sent["id"]).status_code == 401
    assert (inactive.status_code, inactive.json()["code"]) == (409, "endpoint_inactive")
    assert (revoked.status_code, revoked.json()["code"]) == (409, "access_revoked")
    assert len(receiver.requests) == 1
    with tenant_scope(tenant_a):
        assert WebhookDelivery.objects.get(pk=sent["id"]).status == "delivered"


def test_an_app_lists_the_deliveries_of_its_own_endpoints_with_filters(tenant_a, receiver):
    app, other_app = partner_client(tenant_a), partner_client(tenant_a)
    mine = register(app, f"{receiver.url}/mine", ["order.created"])
    theirs = register(other_app, f"{receiver.url}/theirs", ["order.created"])
    event = webhooks.publish(tenant=tenant_a, event_type=EventType.ORDER_CREATED, data={"n": 1})
    test = app.post(
        f"/api/v1/webhook-endpoints/{mine['id']}/test", content_type="application/json"
    ).json()

    listed = app.get("/api/v1/webhook-deliveries").json()["results"]
    of_event = app.get(f"/api/v1/webhook-deliveries?event={event.uid}").json()["results"]
    all_of_event = owner_of(tenant_a).get(f"/api/v1/webhook-deliveries?event={event.uid}")
    by_status = app.get("/api/v1/webhook-deliveries?status=pending").json()["results"]
    by_endpoint = app.get(f"/api/v1/webhook-deliveries?endpoint={theirs['id']}").json()

    assert [delivery["id"] for delivery in listed] == [test["id"], of_event[0]["id"]]
    assert [delivery["endpoint"] for delivery in listed] == [mine["id"]] * 2
    assert {d["endpoint"] for d in all_of_event.json()["results"]} == {mine["id"], theirs["id"]}
    assert {d["event_id"] for d in all_of_event.json()["results"]} == {str(event.uid)}
    assert by_status == []
    assert by_endpoint["results"] == []
    other = other_app.get("/api/v1/webhook-deliveries").json()["results"][0]
    assert app.get(f"/api/v1/webhook-deliveries/{other['id']}").status_code == 404
    # One event, one id: in each endpoint's payload and X-Platform-Delivery header.
    received = [r for r in receiver.requests if r.json["type"] == "order.created"]
    assert sorted(r.path for r in received) == ["/mine", "/theirs"]
    for request in received:
        assert request.headers["X-Platform-Delivery"] == request.json["id"] == str(event.uid)


def test_deliveries_need_the_orders_read_scope_too(tenant_a):
    refused = partner_client(tenant_a, frozenset({"webhooks:write"})).get(
        "/api/v1/webhook-deliveries"
    )

    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
