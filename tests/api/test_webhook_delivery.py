"""Partners' webhooks delivered over real sockets to HTTP servers running in the test: signed
order events when an order is paid in the sandbox, retries through a real Celery worker, the test
event, the beat task's safety net and the guard against private addresses."""

import json
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from orders import services
from orders.models import Notification
from orders.validation import ItemInput
from partners import tasks
from partners.models import WebhookDelivery
from partners.webhooks import SIGNATURE_HEADER, UNREACHABLE, sign, verify_signature
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.factories import make_connected_tenant, make_webhook_delivery, make_webhook_endpoint
from tests.orders.conftest import pay, synced_pos
from tests.orders.test_end_to_end import notified  # noqa: F401 (the sandbox notifies us)

pytestmark = pytest.mark.django_db(transaction=True)  # deliveries go once their rows commit

ITEMS = [ItemInput("Bife de chorizo", Decimal("60.00"), 2)]


@pytest.fixture
def pos(transactional_db):
    """A synced point of sale of a seller connected to the sandbox (``pos.tenant``)."""
    return synced_pos(make_connected_tenant("Parrilla", site="MLA"))


def partner_client(tenant) -> Client:
    return api_client(issue_token(tenant, frozenset({"webhooks:write", "orders:read"})))


def register(client: Client, url: str, events: list[str]) -> dict:
    response = client.post(
        "/api/v1/webhook-endpoints",
        json.dumps({"url": url, "events": events}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def create_order(seller, pos, reference: str = "mesa-4"):
    return services.create_order(
        tenant=seller,
        pos=pos,
        api="v1",
        mode="dynamic",
        external_reference=reference,
        title="Mesa 4",
        items=ITEMS,
    )


def settled(tenant, count: int = 1) -> Callable[[], bool]:
    def condition() -> bool:
        with tenant_scope(tenant):
            return (
                WebhookDelivery.objects.exclude(status=WebhookDelivery.Status.PENDING).count()
                >= count
            )

    condition.__doc__ = f"{count} webhook deliveries of {tenant} are delivered or failed"
    return condition


def deliveries_of(client: Client, endpoint: dict) -> list[dict]:
    response = client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries")
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.mark.usefixtures("notified")
def test_a_partner_endpoint_receives_a_signed_event_when_an_order_is_paid_in_the_sandbox(
    real_worker, client, pos, receiver, tenant_b
):
    seller = pos.tenant
    partner = partner_client(seller)
    endpoint = register(partner, f"{receiver.url}/mercado/orders", ["order.processed"])
    register(partner, f"{receiver.url}/canceled-only", ["order.canceled"])
    inactive = register(partner, f"{receiver.url}/inactive", ["order.processed"])
    partner.patch(
        f"/api/v1/webhook-endpoints/{inactive['id']}",
        json.dumps({"is_active": False}),
        content_type="application/json",
    )
    make_webhook_endpoint(tenant_b, url=f"{receiver.url}/other-seller")
    order = create_order(seller, pos)

    pay(client, order)
    real_worker.wait_until(settled(seller))

    [request] = receiver.requests
    assert request.path == "/mercado/orders"
    assert verify_signature(endpoint["secret"], request.headers[SIGNATURE_HEADER], request.body)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Platform-Event"] == "order.processed"
    event = request.json
    assert request.headers["X-Platform-Delivery"] == event["id"]
    assert event["type"] == "order.processed"
    assert event["data"]["order"]["uid"] == str(order.uid)
    assert event["data"]["order"]["status"] == "processed"
    [delivery] = deliveries_of(partner, endpoint)
    assert (delivery["event_id"], delivery["status"]) == (event["id"], "delivered")
    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [200]
    with tenant_scope(seller):  # Mercado Pago's webhook, processed by the worker, paid it
        assert order.notifications.filter(status=Notification.Status.PROCESSED).exists()


def test_a_failing_endpoint_is_retried_by_the_worker_until_it_answers(real_worker, pos, receiver):
    seller = pos.tenant
    partner = partner_client(seller)
    endpoint = register(partner, f"{receiver.url}/flaky", ["order.created"])
    receiver.statuses = [500, 500]

    order = create_order(seller, pos)
    real_worker.wait_until(settled(seller))

    [delivery] = deliveries_of(partner, endpoint)
    assert (delivery["status"], delivery["attempt_count"]) == ("delivered", 3)
    assert delivery["delivered_at"] is not None
    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [500, 500, 200]
    assert all(attempt["duration_ms"] >= 0 for attempt in delivery["attempts"])
    assert [request.headers["X-Platform-Delivery"] for request in receiver.requests] == [
        delivery["event_id"]
    ] * 3
    for request in receiver.requests:
        assert verify_signature(endpoint["secret"], request.headers[SIGNATURE_HEADER], request.body)
        assert request.json["data"]["order"]["uid"] == str(order.uid)


def test_an_endpoint_that_always_fails_ends_failed_after_the_last_attempt(
    real_worker, settings, tenant_a, receiver
):
    settings.WEBHOOKS_MAX_ATTEMPTS = 4
    receiver.statuses = [503] * 10
    partner = partner_client(tenant_a)
    endpoint = register(partner, f"{receiver.url}/down", ["order.created"])

    answer = partner.post(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/test", content_type="application/json"
    )
    real_worker.wait_until(settled(tenant_a))

    assert answer.status_code == 202
    [delivery] = deliveries_of(partner, endpoint)
    assert (delivery["status"], delivery["attempt_count"]) == ("failed", 4)
    assert delivery["next_attempt_at"] is None
    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [503] * 4
    assert len(receiver.requests) == 4


def test_the_test_event_is_delivered_signed_at_once(eager_celery, tenant_a, receiver):
    partner = partner_client(tenant_a)
    endpoint = register(partner, f"{receiver.url}/hooks", ["order.processed"])

    answer = partner.post(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/test", content_type="application/json"
    )

    assert answer.status_code == 202
    assert answer.json()["status"] == "delivered"
    assert answer.json()["event_type"] == "webhook.test"
    assert [attempt["status_code"] for attempt in answer.json()["attempts"]] == [200]
    [request] = receiver.requests
    assert verify_signature(endpoint["secret"], request.headers[SIGNATURE_HEADER], request.body)
    assert request.headers["X-Platform-Event"] == "webhook.test"
    assert request.json["type"] == "webhook.test"
    assert request.json["id"] == answer.json()["event_id"]
    assert request.json["data"]["endpoint"] == {"id": endpoint["id"]}


def test_an_unreachable_endpoint_records_the_error_and_eager_celery_waits_for_beat(
    eager_celery, tenant_a
):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    partner = partner_client(tenant_a)
    endpoint = register(partner, f"http://127.0.0.1:{closed_port}/hooks", ["order.created"])

    answer = partner.post(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/test", content_type="application/json"
    )

    assert answer.json()["status"] == "pending"
    assert answer.json()["attempt_count"] == 1  # eager Celery does not chain the retry
    [attempt] = answer.json()["attempts"]
    assert (attempt["status_code"], attempt["error"]) == (None, UNREACHABLE)
    assert answer.json()["next_attempt_at"] is not None


def test_the_beat_task_sends_due_deliveries_and_leaves_claimed_ones(
    eager_celery, tenant_a, receiver
):
    endpoint = make_webhook_endpoint(tenant_a, url=f"{receiver.url}/hooks")
    lost = make_webhook_delivery(tenant_a, endpoint)
    claimed = make_webhook_delivery(tenant_a, endpoint)
    now = timezone.now()
    with tenant_scope(tenant_a):
        WebhookDelivery.objects.filter(pk=lost.pk).update(next_attempt_at=now)
        WebhookDelivery.objects.filter(pk=claimed.pk).update(
            next_attempt_at=now + timedelta(minutes=5)
        )

    queued = tasks.deliver_due_webhooks.delay().get()

    assert queued == 1
    [request] = receiver.requests
    assert request.headers["X-Platform-Delivery"] == str(lost.event_uid)
    with tenant_scope(tenant_a):
        lost.refresh_from_db()
        claimed.refresh_from_db()
    assert (lost.status, lost.attempt_count) == ("delivered", 1)
    assert (claimed.status, claimed.attempt_count) == ("pending", 0)
    assert tasks.deliver_webhook.delay(tenant_id=tenant_a.pk, delivery_id=lost.pk).get() == (
        "not due"
    )
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("debug", "url"),
    [(True, "http://localhost:{port}/hooks"), (False, "https://localhost:{port}/hooks")],
)
def test_a_host_that_resolves_to_a_loopback_address_is_refused_at_delivery(
    eager_celery, tenant_a, receiver, debug, url
):
    port = receiver.server.server_port
    endpoint = make_webhook_endpoint(tenant_a, url=url.format(port=port))
    delivery = make_webhook_delivery(tenant_a, endpoint)
    with tenant_scope(tenant_a):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())

    with override_settings(WEBHOOKS_ALLOW_PRIVATE_URLS=False, DEBUG=debug):
        tasks.deliver_webhook.delay(tenant_id=tenant_a.pk, delivery_id=delivery.pk)

    assert receiver.requests == []
    with tenant_scope(tenant_a):
        [attempt] = delivery.attempts.all()
    assert attempt.status_code is None
    assert attempt.error == UNREACHABLE  # why is in the logs only (tests/api/test_ssrf.py)


@override_settings(WEBHOOKS_ALLOW_PRIVATE_URLS=False)
def test_a_plain_http_endpoint_is_refused_at_delivery_outside_development(
    eager_celery, tenant_a, receiver
):
    endpoint = make_webhook_endpoint(tenant_a, url=f"{receiver.url}/hooks")
    delivery = make_webhook_delivery(tenant_a, endpoint)
    with tenant_scope(tenant_a):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())

    tasks.deliver_webhook.delay(tenant_id=tenant_a.pk, delivery_id=delivery.pk)

    assert receiver.requests == []
    with tenant_scope(tenant_a):
        [attempt] = delivery.attempts.all()
    assert attempt.error == "refused: Use an https:// URL."


# The reference check partners use --------------------------------------------------------------


def test_a_signature_verifies_only_for_its_secret_body_and_time():
    body = b'{"id":"1","type":"webhook.test"}'
    now = int(time.time())
    header = sign("whsec_right", body, now)

    assert verify_signature("whsec_right", header, body)
    assert verify_signature("whsec_right", f"{header},v1={'0' * 64}", body)  # another v1 too
    assert not verify_signature("whsec_wrong", header, body)
    assert not verify_signature("whsec_right", header, body + b" ")
    assert not verify_signature("whsec_right", sign("whsec_right", body, now - 301), body)
    assert verify_signature("whsec_right", sign("whsec_right", body, now - 301), body, 600)
    v1 = header.split(",")[1]
    for malformed in ("", "v1=abc", f"t=x,{v1}", f"t=²,{v1}", f"{header},t={now}", f"t={now},v1=é"):
        assert not verify_signature("whsec_right", malformed, body)
