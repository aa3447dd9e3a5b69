"""Live status (orders/live.py): order changes pushed to the customer display and the cashier
page as server-sent events, through Redis; without Redis, or under a WSGI server, the pages poll.

The streams are read through Django's ASGI handler (``AsyncClient``), as uvicorn serves them;
the tests that publish need Redis, which CI provides (``CELERY_BROKER_URL=redis://…``)."""

import asyncio
import json

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import connections, transaction
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from orders import live, transitions
from orders.live_receivers import publish_order
from orders.models import Status
from orders.transitions import OrderState
from tenants.scope import tenant_scope
from tests.factories import make_member, make_order, make_pos, make_tenant

pytestmark = pytest.mark.django_db
needs_redis = pytest.mark.skipif(
    not settings.LIVE_STATUS_REDIS_URL,
    reason="live status rides on Redis pub/sub: set CELERY_BROKER_URL=redis://… (CI does)",
)
CREATED = OrderState(status=Status.CREATED, qr_data="00020101021243650016COM.MERCADOLIBRE")


@pytest.fixture
def order(db):
    tenant = make_tenant("Parrilla", site="MLA")
    return make_order(tenant, make_pos(tenant))


def _apply(order, state: OrderState):
    with tenant_scope(order.tenant):
        return transitions.apply(order, state)


def _events(response):
    """The stream's events, each decoded from JSON (heartbeats as None)."""

    async def events():
        async for chunk in response.streaming_content:
            for block in chunk.decode().split("\n\n"):
                if block.startswith(": heartbeat"):
                    yield None
                data = [line[6:] for line in block.splitlines() if line.startswith("data: ")]
                if data:
                    yield json.loads(data[0])

    return events()


async def _next(events):
    return await asyncio.wait_for(anext(events), 10)  # a guard against a hang, not a timing


@needs_redis
def test_a_status_change_is_published_after_its_commit_with_no_query_and_never_on_rollback(
    order, client, django_capture_on_commit_callbacks
):
    subscriber = redis.Redis.from_url(settings.LIVE_STATUS_REDIS_URL).pubsub()
    subscriber.subscribe(live.display_channel(order.pos_id), live.order_channel(order.uid))
    for _ in range(2):
        assert subscriber.get_message(timeout=5)["type"] == "subscribe"

    def rolled_back() -> None:
        with transaction.atomic():
            _apply(order, CREATED)
            raise RuntimeError("rolled back")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        rolled_back()
    assert callbacks == []

    with django_capture_on_commit_callbacks() as callbacks:
        _apply(order, CREATED)
    assert subscriber.get_message() is None  # nothing before the commit
    with CaptureQueriesContext(connections["default"]) as publishing:
        for callback in callbacks:
            callback()
    assert publishing.captured_queries == []  # built from the order: no cost per page
    published = {}
    while len(published) < 2:
        message = subscriber.get_message(timeout=5)
        published[message["channel"].decode()] = json.loads(message["data"])
    subscriber.close()

    display = client.get(reverse("display:state", args=[order.pos.display_token])).json()
    assert published == {
        live.display_channel(order.pos_id): {
            "state": display["state"],
            "order": {"uid": display["order"]["uid"], "status": display["order"]["status"]},
        },
        live.order_channel(order.uid): {"status": "created"},
    }
    assert display["state"] == "open"
    assert display["order"]["status"] == "created"


@needs_redis
def test_an_open_display_gets_the_state_then_each_change_with_no_query_while_it_waits(
    order, monkeypatch
):
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.05)
    url = reverse("display:events", args=[order.pos.display_token])

    async def scenario(queries) -> tuple[dict, dict, int, int]:
        response = await AsyncClient().get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        events = _events(response)
        first = await _next(events)
        at_connect = len(queries.captured_queries)
        assert await _next(events) is None  # a heartbeat: the page waited, idle
        idle = len(queries.captured_queries) - at_connect
        changed = await sync_to_async(_apply)(order, CREATED)
        await sync_to_async(publish_order)(changed)  # what the commit runs
        change = await _next(events)
        await events.aclose()
        return first, change, at_connect, idle

    # This thread's own connection (``connection`` would be the scenario's thread's): the stream's
    # reads run here, as Django runs its sync code for an ASGI request in one thread.
    with CaptureQueriesContext(connections["default"]) as queries:
        first, change, at_connect, idle = async_to_sync(scenario)(queries)
    assert first["state"] == "open"
    assert first["order"]["status"] == "pending"
    assert change["state"] == "open"
    assert change["order"]["status"] == "created"
    assert change["order"]["uid"] == str(order.uid)
    assert at_connect > 0  # the connect read the state from the database, through this connection
    assert idle == 0


@needs_redis
def test_the_cashier_stream_relays_the_status_in_the_persons_language(order):
    cashier = make_member(order.tenant, "cashier", "live-cashier", language="pt-br")
    url = reverse("cashier:events", args=[order.uid])

    async def scenario() -> tuple[dict, dict]:
        client = AsyncClient()
        await client.aforce_login(cashier)
        response = await client.get(url)
        assert response.status_code == 200
        events = _events(response)
        first = await _next(events)
        await sync_to_async(live.publish)({live.order_channel(order.uid): {"status": "processed"}})
        change = await _next(events)
        await events.aclose()
        return first, change

    first, change = async_to_sync(scenario)()
    with translation.override("pt-br"):
        pending, processed = str(Status.PENDING.label), str(Status.PROCESSED.label)
    with translation.override("en"):
        assert processed != str(Status.PROCESSED.label)  # Portuguese, not English
    assert first == {"status": "pending", "status_display": pending}
    assert change == {"status": "processed", "status_display": processed}


def test_the_streams_are_as_private_as_the_pages_they_serve(order, client):
    other = make_tenant("Other", site="MLA")
    stranger = make_member(other, "cashier", "other-cashier")
    events = reverse("cashier:events", args=[order.uid])

    assert client.get(reverse("display:events", args=["not-a-token"])).status_code == 404
    signed_out = client.get(events)
    assert signed_out.status_code == 302
    assert signed_out["Location"].startswith("/admin/login/")
    client.force_login(stranger)
    assert client.get(events).status_code == 404


@pytest.mark.parametrize("redis_url", ["", "redis://127.0.0.1:1/0"])
def test_under_wsgi_or_without_redis_the_streams_answer_204_and_the_pages_poll(
    order, client, settings, redis_url
):
    settings.LIVE_STATUS_REDIS_URL = redis_url
    token = order.pos.display_token
    page = client.get(reverse("display:page", args=[token])).content.decode()
    events_url = reverse("display:events", args=[token])
    assert (f'data-events-url="{events_url}"' in page) is bool(redis_url)
    assert 'data-poll-ms="' in page
    assert client.get(events_url).status_code == 204
    client.force_login(make_member(order.tenant, "cashier", "wsgi-cashier"))
    assert client.get(reverse("cashier:events", args=[order.uid])).status_code == 204


def test_a_stream_whose_redis_is_down_tells_the_page_to_poll(order, settings):
    settings.LIVE_STATUS_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    async def scenario() -> tuple[int, list[bytes]]:
        response = await AsyncClient().get(
            reverse("display:events", args=[order.pos.display_token])
        )
        return response.status_code, [chunk async for chunk in response.streaming_content]

    status, chunks = async_to_sync(scenario)()
    assert status == 200
    assert chunks == [live.UNAVAILABLE]  # then the stream ends: the page polls
