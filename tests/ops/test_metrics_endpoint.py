"""``/metrics``: who may read it, and what it says after real actions (requests, Mercado Pago
calls to the sandbox, notifications processed and rejected, a partner delivery that failed)."""

import json
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import time_machine
from celery import Celery
from django.core.checks import run_checks
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from merchant_platform.beat import LeaderScheduler
from merchant_platform.mercadopago import get_client
from merchant_platform.metrics import endpoint_template
from mpapi import NotFound, TransportFailure
from orders.models import Notification
from sandbox.seed import seller_access_token
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.factories import make_connected_tenant, make_tenant, make_webhook_delivery
from tests.orders.conftest import new_order, pay, synced_pos
from tests.orders.test_webhooks import deliver, order_query, post, signed, webhook_event

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-0123456789abcdefghij"
HOUR = timedelta(hours=1)
Samples = dict[tuple[str, frozenset], float]


def scrape(client: Client) -> Samples:
    """Every sample of ``/metrics``, keyed by name and labels."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.content
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((f"merchant_platform_{name}", frozenset(labels.items())), 0.0)


@pytest.fixture
def metrics(settings) -> None:
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_ADDRESSES = []


@pytest.fixture
def seller():
    return make_connected_tenant("Parrilla", site="MLA")


@pytest.fixture
def pos(seller):
    return synced_pos(seller)


@contextmanager
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


# Who may read it ------------------------------------------------------------------------------


def test_without_a_token_or_addresses_production_hides_the_metrics_and_a_check_warns(
    client, settings
):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_ADDRESSES = "", []

    response = client.get("/metrics")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/plain")
    assert b"merchant_platform" not in response.content
    assert "merchant_platform.W020" in [message.id for message in run_checks()]
    settings.DEBUG = True
    assert client.get("/metrics").status_code == 200
    assert "merchant_platform.W020" not in [message.id for message in run_checks()]


def test_a_token_is_required_and_compared_whole(client, metrics):
    missing = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
    basic = client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    right = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    for refused in (missing, wrong, basic):
        assert refused.status_code == 401
        assert refused["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert refused["Content-Type"].startswith("text/plain")
        assert b"merchant_platform" not in refused.content
    assert right.status_code == 200
    assert right["Content-Type"].startswith("text/plain; version=")
    assert "no-store" in right["Cache-Control"]
    assert b"# TYPE merchant_platform_http_requests_total counter" in right.content
    posted = client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert (posted.status_code, posted["Allow"]) == (405, "GET")
    assert posted["Content-Type"].startswith("text/plain")


def test_allowed_addresses_read_without_a_token_as_the_trusted_proxy_saw_them(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8", "192.0.2.7"]
    settings.TRUSTED_PROXY_COUNT = 1

    def status(forwarded_for: str) -> int:
        return client.get("/metrics", headers={"X-Forwarded-For": forwarded_for}).status_code

    assert status("10.1.2.3") == 200
    assert status("192.0.2.7") == 200
    assert status("10.1.2.3, 203.0.113.9") == 403  # a client's forged entry is not the address
    assert status("203.0.113.9") == 403
    settings.METRICS_TOKEN = TOKEN
    assert status("203.0.113.9") == 401  # outside the networks, the token still opens it


def test_malformed_allowed_addresses_and_an_unwritable_directory_are_errors(settings, tmp_path):
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8", "not-an-address"]
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path / "missing")

    ids = [message.id for message in run_checks()]

    assert "merchant_platform.E020" in ids
    assert "merchant_platform.E021" in ids


# What it says ---------------------------------------------------------------------------------


def test_requests_are_counted_by_method_route_name_and_status_class(client, metrics):
    before = scrape(client)
    client.get("/healthz")
    client.get("/healthz")
    client.post("/healthz")  # 405
    client.get("/orders/no-such-page/12345")  # no pattern: not its raw path
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("http_requests_total", method="GET", route="healthz", status="2xx") == 2
    assert delta("http_requests_total", method="POST", route="healthz", status="4xx") == 1
    assert delta("http_requests_total", method="GET", route="unmatched", status="4xx") == 1
    assert delta("http_request_duration_seconds_count", method="GET", route="healthz") == 2
    assert delta("http_request_duration_seconds_bucket", method="GET", route="healthz", le="60.0")
    assert not any("no-such-page" in str(labels) for _, labels in after)


def test_mercadopago_attempts_are_counted_by_path_template_and_outcome(
    client, metrics, settings, seller, pos
):
    before = scrape(client)
    order = new_order(seller, pos)  # POST /v1/orders to the sandbox
    with get_client() as mp, pytest.raises(NotFound):
        mp.get_order(seller_access_token("MLA"), "ORD00000000000000000000000404")
    settings.MERCADOPAGO_HTTP_TRANSPORT = ""
    settings.MERCADOPAGO_MAX_RETRIES = 1  # two attempts each
    settings.MERCADOPAGO_TIMEOUT = 0.2
    settings.MERCADOPAGO_API_BASE_URL = closed_port_url()
    with get_client() as mp, pytest.raises(TransportFailure):
        mp.get_me("TEST-0000000000000000")
    with silent_server() as base_url:
        settings.MERCADOPAGO_API_BASE_URL = base_url
        with get_client() as mp, pytest.raises(TransportFailure):
            mp.get_me("TEST-0000000000000000")
    after = scrape(client)

    def delta(**labels: str) -> float:
        name = "mercadopago_calls_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert order.mp_order_id
    assert delta(method="POST", endpoint="/v1/orders", outcome="2xx") == 1
    assert delta(method="GET", endpoint="/v1/orders/{id}", outcome="4xx") == 1
    assert delta(method="GET", endpoint="/users/me", outcome="error") == 2
    assert delta(method="GET", endpoint="/users/me", outcome="timeout") == 2
    assert not any(order.mp_order_id in str(labels) for _, labels in after)
    count = "mercadopago_call_duration_seconds_count"
    assert value(after, count, method="POST", endpoint="/v1/orders") > value(
        before, count, method="POST", endpoint="/v1/orders"
    )


def test_every_id_in_a_mercado_pago_path_becomes_a_placeholder():
    assert endpoint_template("/v1/orders/ORD01JQ4S4KY8HWQ6NA5PXB65B3D3/refund") == (
        "/v1/orders/{id}/refund"
    )
    assert endpoint_template(
        "/instore/qr/seller/collectors/123456/stores/CENTRO1/pos/CAJA1/orders"
    ) == ("/instore/qr/seller/collectors/{id}/stores/{id}/pos/{id}/orders")
    assert endpoint_template("/users/123/stores/search?external_id=X") == (
        "/users/{id}/stores/search"
    )
    assert endpoint_template("/pos") == "/pos"


def test_state_gauges_count_notifications_and_deliveries_of_every_tenant(
    client,
    metrics,
    settings,
    seller,
    pos,
    receiver,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    paid = new_order(seller, pos)
    pay(client, paid)
    settings.WEBHOOKS_MAX_ATTEMPTS = 1
    receiver.statuses = [503]
    partner = api_client(issue_token(seller, frozenset({"webhooks:write", "orders:read"})))
    endpoint = partner.post(
        "/api/v1/webhook-endpoints",
        json.dumps({"url": f"{receiver.url}/down", "events": ["order.processed"]}),
        content_type="application/json",
    ).json()
    # The sandbox's webhook for the paid order: processed; the order's event for the partner
    # fails at its one attempt.
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, webhook_event(paid)).status_code == 200
    # A forged one: rejected. A genuine one whose task has not run yet: queued.
    assert post(client, order_query(paid), b"{}", **signed("x", secret="forged")).status_code
    with django_capture_on_commit_callbacks(execute=False):
        assert deliver(client, webhook_event(paid)).status_code == 200
    queued = Notification.objects.get(status=Notification.Status.QUEUED)

    with time_machine.travel(queued.received_at + timedelta(seconds=600), tick=False):
        samples = scrape(client)

    notifications = {
        state: value(samples, "notifications", state=state) for state in Notification.Status
    }
    assert notifications == {
        "received": 0,
        "rejected": 1,
        "queued": 1,
        "processed": 1,
        "ignored": 0,
        "failed": 0,
    }
    assert value(samples, "notification_oldest_unprocessed_age_seconds") == 600
    assert len(receiver.requests) == 1
    assert endpoint["id"]
    assert {
        state: value(samples, "webhook_deliveries", state=state)
        for state in ("pending", "delivered", "failed")
    } == {"pending": 0, "delivered": 0, "failed": 1}
    assert value(samples, "metrics_source_up", source="database") == 1


def test_a_scrape_inside_a_tenant_scope_still_counts_every_tenant(client, metrics, seller):
    """The gauges are platform-wide: the request's scope (a signed-in member's) is not theirs."""
    for tenant in (seller, make_tenant("Other")):
        make_webhook_delivery(tenant)
    with tenant_scope(seller):
        samples = scrape(client)

    assert value(samples, "webhook_deliveries", state="pending") == 2


def test_beats_last_run_of_each_schedule_is_exported_as_unix_time(client, metrics, settings):
    """A real (leader) beat scheduler sends its due task; the gauge is when it did."""
    queue = f"metrics-beat-{uuid.uuid4().hex}"
    app = Celery("metrics-beat-test", broker=settings.CELERY_BROKER_URL, set_as_current=False)
    app.conf.beat_schedule = {
        "probe": {"task": "beat_test.probe", "schedule": HOUR, "options": {"queue": queue}}
    }
    try:
        with time_machine.travel(timezone.now(), tick=False) as clock:
            scheduler = LeaderScheduler(app=app, lock_key=f"test:beat:{uuid.uuid4().hex}")
            scheduler.tick()
            clock.shift(HOUR + timedelta(seconds=1))
            scheduler.tick()
            sent_at = timezone.now()
            scheduler.close()
    finally:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)

    samples = scrape(client)

    assert value(samples, "beat_last_run_timestamp_seconds", schedule="probe") == (
        sent_at.timestamp()
    )
    assert value(samples, "metrics_source_up", source="beat") == 1
