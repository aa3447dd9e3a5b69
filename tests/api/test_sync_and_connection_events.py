"""Events partners receive about the seller's setup: a store's or POS's sync with Mercado Pago
failing (the sandbox's faults make it fail), and the seller's Mercado Pago connection changing
(connected, needs reconnect, disconnected); each written with the change and listed by
``GET /api/v1/events``."""

from decimal import Decimal

import pytest
from django.test import Client

from mpapi import ServerError
from partners.models import Event, EventType, WebhookDelivery
from pos import services
from pos.models import SyncState
from sandbox.seed import seller_access_token
from tenants import connection_health
from tenants import services as tenant_services
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.factories import make_connected_tenant, make_tenant, make_webhook_endpoint
from tests.faults import set_faults

pytestmark = pytest.mark.django_db

STORE = {
    "name": "Palermo",
    "external_id": "PALERMO1",
    "street_name": "Av. Santa Fe",
    "street_number": "3253",
    "city": "CABA",
    "state": "Buenos Aires",
    "latitude": Decimal("-34.588100"),
    "longitude": Decimal("-58.410900"),
}
STORES_IN_MERCADO_PAGO = r"^/users/\d+/stores$"


@pytest.fixture
def seller():
    return make_connected_tenant(site="MLA")


def events_of(tenant, event_type: str) -> list[Event]:
    with tenant_scope(tenant):
        return list(Event.objects.filter(type=event_type).order_by("created_at"))


def fail_in_mercado_pago(client: Client, path_regex: str) -> None:
    set_faults(client, path_regex=path_regex, error_rate="1", error_statuses=[503])


def test_a_store_whose_sync_fails_sends_store_sync_failed_once_until_it_syncs_again(seller, client):
    endpoint = make_webhook_endpoint(seller, events=["store.sync_failed"])
    fail_in_mercado_pago(client, STORES_IN_MERCADO_PAGO)

    store = services.create_store(tenant=seller, **STORE)
    with pytest.raises(ServerError):  # the retry task's attempt, failing again: no new event
        services.sync_store(tenant=seller, store=store)

    assert store.sync_state == SyncState.FAILED
    [event] = events_of(seller, EventType.STORE_SYNC_FAILED)
    shown = api_client(issue_token(seller, frozenset({"stores:read"}))).get(
        f"/api/v1/stores/{store.pk}"
    )
    assert event.data["store"]["id"] == store.pk
    assert event.data["store"]["sync_state"] == "failed"
    assert event.data["store"]["sync_error_code"] == "service_unavailable"
    assert set(event.data["store"]) == set(shown.json())  # the API's own representation
    with tenant_scope(seller):
        assert WebhookDelivery.objects.get(endpoint=endpoint).event_uid == event.uid

    client.delete("/sandbox/_control/faults")
    services.sync_store(tenant=seller, store=store)  # synced: no event
    assert store.sync_state == SyncState.SYNCED
    fail_in_mercado_pago(client, r"^/users/\d+/stores/\d+$")  # the update fails this time
    services.update_store(tenant=seller, store=store, name="Palermo Soho")

    assert len(events_of(seller, EventType.STORE_SYNC_FAILED)) == 2


def test_a_pos_whose_sync_fails_sends_pos_sync_failed(seller, client):
    store = services.create_store(tenant=seller, **STORE)
    fail_in_mercado_pago(client, "^/pos$")

    pos = services.create_pos(tenant=seller, store=store, name="Caja", external_id="POS1")

    [event] = events_of(seller, EventType.POS_SYNC_FAILED)
    assert event.data["pos"]["id"] == pos.pk
    assert event.data["pos"]["store"] == store.pk
    assert event.data["pos"]["sync_state"] == "failed"
    assert events_of(seller, EventType.STORE_SYNC_FAILED) == []
    listed = api_client(issue_token(seller, frozenset({"pos:read"}))).get("/api/v1/events")
    assert [e["type"] for e in listed.json()["results"]] == [
        "pos.sync_failed",
        "seller.connection_changed",  # when the seller connected (any token sees it)
    ]
    assert listed.json()["results"][0]["id"] == str(event.uid)


def connection_events(tenant) -> list[tuple[str, str]]:
    """(previous, now) of each ``seller.connection_changed`` of ``tenant``, oldest first."""
    return [
        (event.data["previous_connection"], event.data["seller"]["connection"])
        for event in events_of(tenant, EventType.SELLER_CONNECTION_CHANGED)
    ]


def test_the_sellers_connection_changing_sends_seller_connection_changed():
    seller = make_tenant("Parrilla", site="MLA")
    Reason = connection_health.Reason

    tenant_services.connect_with_access_token(
        tenant=seller, access_token=seller_access_token("MLA")
    )
    connection_health.mark_needs_reconnect(tenant=seller, reason=Reason.EXPIRING)  # still works
    connection_health.mark_needs_reconnect(tenant=seller, reason=Reason.UNLINKED)
    connection_health.mark_needs_reconnect(tenant=seller, reason=Reason.REFRESH_REFUSED)
    tenant_services.disconnect(tenant=seller)
    tenant_services.disconnect(tenant=seller)  # nothing left to disconnect

    assert connection_events(seller) == [
        ("not_connected", "connected"),
        ("connected", "needs_reconnect"),
        ("needs_reconnect", "not_connected"),
    ]
    [connected, *_] = events_of(seller, EventType.SELLER_CONNECTION_CHANGED)
    assert connected.data["seller"] == {
        "slug": seller.slug,
        "name": "Parrilla",
        "site": "MLA",
        "country": "ARG",
        "currency": "ARS",
        "status": "active",
        "connection": "connected",
    }


def test_connection_events_are_listed_to_any_token_of_the_seller(seller):
    webhooks_only = api_client(issue_token(seller, frozenset({"webhooks:write"})))

    connection_health.mark_needs_reconnect(tenant=seller, reason=connection_health.Reason.UNLINKED)
    events = webhooks_only.get("/api/v1/events?type=seller.*").json()["results"]

    assert [event["type"] for event in events] == ["seller.connection_changed"] * 2
    assert events[0]["data"]["previous_connection"] == "connected"
    assert events[0]["data"]["seller"]["connection"] == "needs_reconnect"
