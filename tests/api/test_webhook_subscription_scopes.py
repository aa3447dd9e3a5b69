"""A partner app subscribes only to the events whose data its token's scopes show: an app with
``webhooks:write`` alone must not receive orders through its webhooks."""

import json

import pytest

from partners.models import WebhookEndpoint
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/v1/webhook-endpoints"
URL = "https://partner.example.com/hooks"


def subscribe(client, events: list[str]):
    body = json.dumps({"url": URL, "events": events})
    return client.post(ENDPOINTS, body, content_type="application/json")


def test_a_webhooks_only_token_cannot_subscribe_to_order_or_store_events(tenant_a):
    client = api_client(issue_token(tenant_a, frozenset({"webhooks:write"})))

    answer = subscribe(
        client, ["seller.connection_changed", "order.processed", "store.sync_failed"]
    )

    assert answer.status_code == 400
    [problem] = answer.json()["fields"]["events"]
    assert problem["code"] == "insufficient_scope"
    assert "order.processed" in problem["message"]
    assert "store.sync_failed" in problem["message"]
    assert "seller.connection_changed" not in problem["message"]
    with tenant_scope(tenant_a):
        assert not WebhookEndpoint.objects.exists()


def test_the_scopes_that_show_the_data_allow_the_subscription_and_its_changes(tenant_a):
    client = api_client(issue_token(tenant_a, frozenset({"webhooks:write", "pos:read"})))

    created = subscribe(client, ["pos.sync_failed", "seller.connection_changed"])
    assert created.status_code == 201, created.content
    endpoint = created.json()["id"]

    widened = client.patch(
        f"{ENDPOINTS}/{endpoint}",
        json.dumps({"events": ["pos.sync_failed", "refund.succeeded"]}),
        content_type="application/json",
    )

    assert widened.status_code == 400
    assert widened.json()["fields"]["events"][0]["code"] == "insufficient_scope"
    with tenant_scope(tenant_a):
        assert WebhookEndpoint.objects.get(pk=endpoint).events == [
            "pos.sync_failed",
            "seller.connection_changed",
        ]
