"""Delivery of the sandbox's notifications to a real local HTTP server: signatures, retries,
IPN, the control endpoints, and the webhook faults (dropped, duplicated, delayed, reordered)."""

import hashlib
import hmac
import json
import socket
from datetime import timedelta
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.utils import timezone

from sandbox import notifier
from sandbox.models import Account, Application, Delivery, Event
from sandbox.seed import CLIENT_ID, WEBHOOK_SECRET
from tests.http_receiver import Received

pytestmark = pytest.mark.django_db

ORDER_ID = "ORD01JV3AW3NFSTSTB669F41NACDX"


@pytest.fixture
def application(receiver):
    application = Application.objects.get(client_id=CLIENT_ID)
    application.webhook_url = f"{receiver.url}/webhooks/mercadopago"
    application.save()
    return application


def order_event(order_id: str = ORDER_ID, action: str = "order.processed") -> Event:
    return Event.objects.create(
        kind=Event.Kind.WEBHOOK,
        application=Application.objects.get(client_id=CLIENT_ID),
        account=Account.objects.get(user_id=100000001),
        topic="order",
        action=action,
        resource_id=order_id,
        query={"data.id": order_id, "type": "order"},
        body={"action": action, "type": "order", "data": {"id": order_id, "version": 2}},
    )


def assert_signed(request: Received, secret: str = WEBHOOK_SECRET) -> None:
    """Check ``x-signature`` as a receiver would, independently of the sandbox's code."""
    parts = dict(part.strip().split("=", 1) for part in request.headers["x-signature"].split(","))
    data_id = request.query["data.id"].lower()
    manifest = f"id:{data_id};request-id:{request.headers['x-request-id']};ts:{parts['ts']};"
    expected = hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)


def set_faults(client, **settings) -> None:
    response = client.put("/sandbox/_control/faults", settings, content_type="application/json")
    assert response.status_code == 200, response.json()


def test_a_webhook_carries_mercado_pagos_headers_and_a_signature_that_verifies(
    receiver, application
):
    event = order_event()
    notifier.deliver_event(event.pk)

    [request] = receiver.requests
    assert request.path == f"/webhooks/mercadopago?data.id={ORDER_ID}&type=order"
    assert json.loads(request.body) == event.body
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-retry"] == "0"
    assert request.headers["x-socket-timeout"] == "22000"
    assert request.headers["user-agent"]
    assert len(request.headers["x-request-id"]) == 36
    assert len(request.headers["x-signature"].split(",")[0].removeprefix("ts=")) == 13  # ms
    assert_signed(request)
    with pytest.raises(AssertionError):
        assert_signed(request, secret="another-secret")
    delivery = event.deliveries.get()
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.next_attempt_at is None


@pytest.mark.usefixtures("eager_celery")
def test_a_new_event_is_sent_once_its_transaction_commits(
    receiver, application, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order_event()
        assert receiver.requests == []
    assert len(receiver.requests) == 1


def test_an_event_whose_first_attempt_was_never_scheduled_is_sent_by_deliver_due(
    receiver, application
):
    event = order_event()  # no commit here, so the first attempt is never scheduled
    assert not event.deliveries.exists()
    notifier.deliver_due()
    assert len(receiver.requests) == 1
    assert event.deliveries.get().status == Delivery.Status.DELIVERED
    notifier.deliver_due()
    assert len(receiver.requests) == 1


def test_an_event_is_sent_once_even_if_its_task_runs_twice(receiver, application):
    event = order_event()
    notifier.deliver_event(event.pk)
    notifier.deliver_event(event.pk)
    assert len(receiver.requests) == 1


def test_a_refused_webhook_is_tried_again_fifteen_minutes_later(receiver, application):
    receiver.statuses = [500]
    now = timezone.now()
    event = order_event()

    [first] = notifier.deliver_event(event.pk, now=now)
    delivery = event.deliveries.get()
    assert first.status_code == 500
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.next_attempt_at == now + timedelta(minutes=15)

    assert notifier.deliver_due(now + timedelta(minutes=14, seconds=59)) == []
    [second] = notifier.deliver_due(now + timedelta(minutes=15))
    assert second.status_code == 200
    assert [request.headers["x-retry"] for request in receiver.requests] == ["0", "1"]
    assert (
        receiver.requests[0].headers["x-request-id"] != receiver.requests[1].headers["x-request-id"]
    )
    assert_signed(receiver.requests[1])
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED


def test_retries_come_every_15_minutes_three_times_then_ever_further_apart(receiver, application):
    receiver.statuses = [503] * 20
    event = order_event()
    attempt = notifier.deliver_event(event.pk, now=timezone.now())[0]
    times = [attempt.started_at]
    for _ in range(10):
        [attempt] = notifier.deliver_due(event.deliveries.get().next_attempt_at)
        times.append(attempt.started_at)

    gaps = [(later - earlier) / timedelta(minutes=1) for earlier, later in pairwise(times)]
    assert gaps == [15, 15, 15, 30, 60, 120, 240, 480, 1440, 1440]
    assert [request.headers["x-retry"] for request in receiver.requests] == [
        str(number) for number in range(11)
    ]
    assert event.deliveries.get().status == Delivery.Status.PENDING  # it never gives up


def test_an_unreachable_receiver_is_a_failed_attempt(db):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    Application.objects.filter(client_id=CLIENT_ID).update(webhook_url=f"http://127.0.0.1:{port}/")
    now = timezone.now()
    [attempt] = notifier.deliver_event(order_event().pk, now=now)
    assert attempt.status_code is None
    assert "ConnectError" in attempt.error
    assert attempt.delivery.next_attempt_at == now + timedelta(minutes=15)


def test_ipn_goes_unsigned_to_the_events_url(receiver):
    event = Event.objects.create(
        kind=Event.Kind.IPN,
        account=Account.objects.get(user_id=100000001),
        url=f"{receiver.url}/ipn?source_news=ipn",
        topic="payment",
        resource_id="123456789",
        query={"topic": "payment", "id": "123456789"},
    )
    notifier.deliver_event(event.pk)

    [request] = receiver.requests
    assert request.path == "/ipn?source_news=ipn&topic=payment&id=123456789"
    assert "x-signature" not in request.headers
    assert request.headers["x-retry"] == "0"


def test_without_a_webhook_url_nothing_is_sent(db):
    event = order_event()
    assert notifier.deliver_event(event.pk) == []
    assert not event.deliveries.exists()


def test_the_control_api_sets_the_webhook_url_and_lists_and_runs_deliveries(client, receiver):
    url = f"{receiver.url}/hooks"
    response = client.put(
        "/sandbox/_control/application", {"webhook_url": url}, content_type="application/json"
    )
    assert response.json() == {"client_id": CLIENT_ID, "webhook_url": url}
    bad = client.put(
        "/sandbox/_control/application",
        {"webhook_url": "not a url"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert bad.json()["cause"][0]["code"] == "webhook_url"

    receiver.statuses = [502]
    now = timezone.now()
    first, second = order_event(), order_event("ORD01JV3AW3NFSTSTB669F41NACDY", "order.refunded")
    notifier.deliver_event(first.pk, now=now)
    notifier.deliver_event(second.pk, now=now)
    listed = client.get("/sandbox/_control/deliveries").json()["results"]
    assert [row["event_id"] for row in listed] == [second.pk, first.pk]  # newest first
    [failed] = client.get(f"/sandbox/_control/deliveries?event={first.pk}").json()["results"]
    assert failed["status"] == "pending"
    assert failed["attempts"][0]["status_code"] == 502
    assert client.get("/sandbox/_control/deliveries?topic=payment").json()["results"] == []

    later = (now + timedelta(minutes=15)).isoformat()
    run = client.post(
        "/sandbox/_control/deliveries/run", {"now": later}, content_type="application/json"
    )
    assert run.json() == {"attempted": 1, "delivered": 1}


def test_the_sandbox_deliver_command_sends_what_is_due(receiver, application):
    receiver.statuses = [500]
    event = order_event()
    notifier.deliver_event(event.pk, now=timezone.now() - timedelta(minutes=15))
    call_command("sandbox_deliver")
    assert event.deliveries.get().status == Delivery.Status.DELIVERED


def test_a_dropped_notification_is_never_sent(client, receiver, application):
    set_faults(client, webhook_drop_rate=1)
    event = order_event()
    notifier.deliver_event(event.pk)
    assert notifier.deliver_due(timezone.now() + timedelta(days=30)) == []
    assert receiver.requests == []
    assert event.deliveries.get().status == Delivery.Status.DROPPED


def test_a_duplicated_notification_arrives_twice_each_copy_signed(client, receiver, application):
    set_faults(client, webhook_duplicate_rate=1)
    notifier.deliver_event(order_event().pk)
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert_signed(first)
    assert_signed(second)


def test_a_delayed_notification_is_sent_when_its_delay_is_over(client, receiver, application):
    set_faults(client, webhook_delay_rate=1, webhook_delay_seconds=90)
    now = timezone.now()
    notifier.deliver_event(order_event().pk, now=now)
    assert receiver.requests == []
    assert notifier.deliver_due(now + timedelta(seconds=89)) == []
    notifier.deliver_due(now + timedelta(seconds=90))
    assert len(receiver.requests) == 1


def test_a_reordered_notification_arrives_after_the_next_one(client, receiver, application):
    set_faults(client, webhook_reorder_rate=1)
    processed = order_event(action="order.processed")
    notifier.deliver_event(processed.pk)
    assert receiver.requests == []

    set_faults(client)
    refunded = order_event(action="order.refunded")
    notifier.deliver_event(refunded.pk)
    actions = [json.loads(request.body)["action"] for request in receiver.requests]
    assert actions == ["order.refunded", "order.processed"]


def test_a_reordered_notification_with_no_successor_goes_out_after_a_minute(
    client, receiver, application
):
    set_faults(client, webhook_reorder_rate=1)
    now = timezone.now()
    notifier.deliver_event(order_event().pk, now=now)
    notifier.deliver_due(now + timedelta(minutes=1))
    assert len(receiver.requests) == 1
