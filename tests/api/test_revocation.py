"""Revoking an app's consent, or deleting the app, stops it at once (issue 20, point 1): its
tokens answer ``token_revoked``, its webhook endpoints on the seller are deactivated, their pending
deliveries canceled, new orders reach it no more, and a delivery queued just before the revocation
is canceled when its task runs instead of being sent. A new consent revives none of it."""

import base64
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from orders import services as orders
from orders.validation import ItemInput
from partners import tasks, webhooks
from partners.models import EventType, PartnerGrant, WebhookDelivery, WebhookEndpoint
from partners.services import install_application, record_consent, revoke_grant
from tenants.scope import tenant_scope
from tests.api.conftest import api_client
from tests.factories import make_connected_tenant, make_member
from tests.orders.conftest import synced_pos

pytestmark = pytest.mark.usefixtures("eager_celery")

SCOPES = frozenset({"webhooks:write", "orders:read"})
ITEMS = [ItemInput("Bife de chorizo", Decimal("60.00"), 2)]


class App:
    """A client-credentials app installed on a seller, which gets tokens with its secret."""

    def __init__(self, tenant) -> None:
        self.application, secret = install_application(
            tenant=tenant, name="ERP", requested=SCOPES, user=None
        )
        credentials = f"{self.application.client_id}:{secret}".encode()
        self.basic = f"Basic {base64.b64encode(credentials).decode()}"
        self.api = self.new_token()

    def new_token(self) -> Client:
        issued = Client().post(
            "/o/token/",
            {"grant_type": "client_credentials", "scope": " ".join(sorted(SCOPES))},
            headers={"Authorization": self.basic},
        )
        assert issued.status_code == 200, issued.content
        return api_client(issued.json()["access_token"])

    def register(self, url: str) -> dict:
        answer = self.api.post(
            "/api/v1/webhook-endpoints",
            json.dumps({"url": url, "events": ["order.created"]}),
            content_type="application/json",
        )
        assert answer.status_code == 201, answer.content
        return answer.json()


def create_order(pos, reference: str):
    return orders.create_order(
        tenant=pos.tenant,
        pos=pos,
        api="v1",
        mode="dynamic",
        external_reference=reference,
        title="Mesa",
        items=ITEMS,
    )


def deliveries(tenant) -> list[WebhookDelivery]:
    with tenant_scope(tenant):
        return list(WebhookDelivery.objects.order_by("pk"))


def endpoint_row(tenant, endpoint: dict) -> WebhookEndpoint:
    with tenant_scope(tenant):
        return WebhookEndpoint.objects.get(pk=endpoint["id"])


@pytest.fixture
def pos(transactional_db):
    return synced_pos(make_connected_tenant("Parrilla", site="MLA"))


@pytest.fixture
def seller_with_a_pending_delivery(pos, receiver):
    """An app's endpoint of the seller, whose first delivery failed once and is pending."""
    app = App(pos.tenant)
    endpoint = app.register(f"{receiver.url}/hooks")
    receiver.statuses = [500]
    create_order(pos, "mesa-1")
    [pending] = deliveries(pos.tenant)
    assert (pending.status, len(receiver.requests)) == (WebhookDelivery.Status.PENDING, 1)
    return app, endpoint


@pytest.mark.django_db(transaction=True)
def test_a_revocation_deactivates_the_apps_endpoints_and_cancels_their_deliveries(
    pos, receiver, seller_with_a_pending_delivery
):
    app, endpoint = seller_with_a_pending_delivery
    with tenant_scope(pos.tenant):
        grant = PartnerGrant.objects.get(application=app.application)

    revoke_grant(tenant=pos.tenant, grant=grant)
    create_order(pos, "mesa-2")
    tasks.deliver_due_webhooks()

    assert [d.status for d in deliveries(pos.tenant)] == [WebhookDelivery.Status.CANCELED]
    assert not endpoint_row(pos.tenant, endpoint).is_active
    assert len(receiver.requests) == 1  # the attempt made before the revocation only
    assert app.api.get("/api/v1/tenant").json()["code"] == "token_revoked"


@pytest.mark.django_db(transaction=True)
def test_a_new_consent_revives_no_token_nor_endpoint(pos, receiver, seller_with_a_pending_delivery):
    app, endpoint = seller_with_a_pending_delivery
    with tenant_scope(pos.tenant):
        grant = PartnerGrant.objects.get(application=app.application)
    revoke_grant(tenant=pos.tenant, grant=grant)

    record_consent(
        tenant=pos.tenant,
        application=app.application,
        user=make_member(pos.tenant, "owner"),
        requested=SCOPES,
    )
    create_order(pos, "mesa-2")

    assert app.api.get("/api/v1/tenant").json()["code"] == "token_revoked"
    assert not endpoint_row(pos.tenant, endpoint).is_active
    assert len(deliveries(pos.tenant)) == 1  # none for the new order
    # The app, with a new token, turns its endpoint on again itself.
    fresh = app.new_token()
    turned_on = fresh.patch(
        f"/api/v1/webhook-endpoints/{endpoint['id']}",
        json.dumps({"is_active": True}),
        content_type="application/json",
    )
    assert turned_on.status_code == 200, turned_on.content
    create_order(pos, "mesa-3")
    assert receiver.requests[-1].json["data"]["order"]["external_reference"] == "mesa-3"


@pytest.mark.django_db(transaction=True)
def test_deleting_the_app_stops_its_webhooks_on_every_seller(
    pos, receiver, seller_with_a_pending_delivery
):
    app, endpoint = seller_with_a_pending_delivery

    app.application.delete()
    create_order(pos, "mesa-2")
    tasks.deliver_due_webhooks()

    assert [d.status for d in deliveries(pos.tenant)] == [WebhookDelivery.Status.CANCELED]
    row = endpoint_row(pos.tenant, endpoint)
    assert (row.is_active, row.application_id) == (False, None)
    assert len(receiver.requests) == 1
    assert app.api.get("/api/v1/tenant").json()["code"] == "token_revoked"


def test_a_delivery_queued_just_before_the_revocation_is_canceled_not_sent(
    tenant_a, receiver, django_capture_on_commit_callbacks
):
    app = App(tenant_a)
    app.register(f"{receiver.url}/hooks")
    with django_capture_on_commit_callbacks() as queued:  # the order's transaction
        webhooks.publish(tenant=tenant_a, event_type=EventType.ORDER_CREATED, data={})
    # The revocation committed while that transaction was open: it did not see the delivery.
    with tenant_scope(tenant_a):
        PartnerGrant.objects.update(revoked_at=timezone.now())

    for task in queued:  # the delivery's task runs
        task()

    [delivery] = deliveries(tenant_a)
    assert (delivery.status, delivery.attempt_count) == (WebhookDelivery.Status.CANCELED, 0)
    assert receiver.requests == []
