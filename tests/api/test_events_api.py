"""``GET /api/v1/events``: a seller's events as their webhooks send them, filtered, paged by a
cursor that holds while new events arrive, shown only to tokens whose scopes show their data, and
deleted after their retention."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from partners import tasks, webhooks
from partners.models import Event, EventType, WebhookDelivery
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.factories import make_member, make_webhook_endpoint

pytestmark = pytest.mark.django_db


def publish(tenant, event_type: str, **data) -> Event:
    return webhooks.publish(tenant=tenant, event_type=event_type, data=data or {"n": 1})


def listed(client: Client, query: str = "") -> list[dict]:
    response = client.get(f"/api/v1/events{query}")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def ids(events: list[dict]) -> list[str]:
    return [event["id"] for event in events]


def uid(event: Event) -> str:
    return str(event.uid)


def test_events_are_listed_newest_first_as_their_webhooks_send_them(api_a, tenant_a):
    created = publish(tenant_a, EventType.ORDER_CREATED, order={"uid": "o-1"})
    failed = publish(tenant_a, EventType.STORE_SYNC_FAILED, store={"id": 7})
    publish(tenant_a, EventType.TEST)  # sent on request to one endpoint: not listed
    changed = publish(tenant_a, EventType.SELLER_CONNECTION_CHANGED, seller={"slug": "a"})

    events = listed(api_a)
    one = api_a.get(f"/api/v1/events/{created.uid}")

    assert ids(events) == [uid(changed), uid(failed), uid(created)]
    assert events[-1] == webhooks.event_payload(created)
    assert events[-1] == {
        "id": uid(created),
        "object": "event",
        "type": "order.created",
        "api_version": created.api_version,
        "created": created.created_at.isoformat().replace("+00:00", "Z"),
        "data": {"order": {"uid": "o-1"}},
    }
    assert one.status_code == 200
    assert one.json() == events[-1]


def test_the_type_filter_takes_one_type_several_or_a_kind(api_a, tenant_a):
    created = publish(tenant_a, EventType.ORDER_CREATED)
    paid = publish(tenant_a, EventType.ORDER_PROCESSED)
    refund = publish(tenant_a, EventType.REFUND_CREATED)
    pos = publish(tenant_a, EventType.POS_SYNC_FAILED)

    assert ids(listed(api_a, "?type=order.created")) == [uid(created)]
    assert ids(listed(api_a, "?type=order.created,pos.sync_failed")) == [uid(pos), uid(created)]
    assert ids(listed(api_a, "?type=order.*")) == [uid(paid), uid(created)]
    assert ids(listed(api_a, "?type=refund.*, order.processed")) == [uid(refund), uid(paid)]
    for unknown in ("order.paid", "webhook.test", "nothing.*", "order"):
        refused = api_a.get(f"/api/v1/events?type={unknown}")
        assert refused.status_code == 400, unknown
        assert refused.json()["fields"]["type"][0]["code"] == "invalid_choice"


def test_the_time_filters_take_an_instant_with_any_offset(api_a, tenant_a):
    old, recent = publish(tenant_a, EventType.ORDER_CREATED), publish(tenant_a, "order.canceled")
    with tenant_scope(tenant_a):
        Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    yesterday = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    in_buenos_aires = (timezone.now() - timedelta(days=1)).astimezone(
        timezone.get_fixed_timezone(-180)
    )
    yesterday_local = in_buenos_aires.isoformat().replace("+", "%2B")

    assert ids(listed(api_a, f"?created_after={yesterday}")) == [uid(recent)]
    assert ids(listed(api_a, f"?created_after={yesterday_local}")) == [uid(recent)]
    assert ids(listed(api_a, f"?created_before={yesterday}")) == [uid(old)]
    assert api_a.get("/api/v1/events?created_after=yesterday").status_code == 400


def test_oldest_first_and_unknown_input_is_refused(api_a, tenant_a):
    first, second = publish(tenant_a, "order.created"), publish(tenant_a, "order.processed")

    assert ids(listed(api_a, "?order=oldest")) == [uid(first), uid(second)]
    assert ids(listed(api_a, "?order=newest")) == [uid(second), uid(first)]
    for query, field in (("order=latest", "order"), ("since=1", "since"), ("limit=0", "limit")):
        refused = api_a.get(f"/api/v1/events?{query}")
        assert refused.status_code == 400, query
        assert field in refused.json()["fields"], query


def follow(client: Client, url: str) -> tuple[list[str], str | None]:
    answer = client.get(url)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    following = body["next"]
    return ids(body["results"]), following and urlsplit(following)._replace(
        scheme="", netloc=""
    ).geturl()


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_a_cursor_neither_repeats_nor_skips_events_while_new_ones_arrive(api_a, tenant_a, order):
    before = [uid(publish(tenant_a, EventType.ORDER_CREATED)) for _ in range(7)]
    seen, arrived = [], []
    url = f"/api/v1/events?limit=3&order={order}"
    while url:
        page, url = follow(api_a, url)
        seen += page
        if len(arrived) < 4:
            arrived += [uid(publish(tenant_a, EventType.ORDER_PROCESSED)) for _ in range(2)]

    if order == "newest":  # the pages go back in time: the ones that arrived are on a new list
        assert seen == before[::-1]
    else:  # the pages go forward: the cursor reaches those that arrived, in order
        assert seen == before + arrived
    assert len(set(seen)) == len(seen)


def test_a_token_sees_only_the_events_its_scopes_show_and_only_of_its_seller(tenant_a, tenant_b):
    order = publish(tenant_a, EventType.ORDER_PROCESSED)
    dispute = publish(tenant_a, EventType.DISPUTE_OPENED)
    store = publish(tenant_a, EventType.STORE_SYNC_FAILED)
    pos = publish(tenant_a, EventType.POS_SYNC_FAILED)
    seller = publish(tenant_a, EventType.SELLER_CONNECTION_CHANGED)
    other_seller = publish(tenant_b, EventType.ORDER_PROCESSED)
    stores_only = api_client(issue_token(tenant_a, frozenset({"stores:read"})))
    orders_only = api_client(issue_token(tenant_a, frozenset({"orders:read"})))
    webhooks_only = api_client(issue_token(tenant_a, frozenset({"webhooks:write"})))
    of_b = api_client(issue_token(tenant_b))

    assert ids(listed(stores_only)) == [uid(seller), uid(store)]
    assert ids(listed(stores_only, "?type=order.*")) == []
    assert stores_only.get(f"/api/v1/events/{order.uid}").status_code == 404
    assert ids(listed(orders_only)) == [uid(seller), uid(dispute), uid(order)]
    assert ids(listed(webhooks_only)) == [uid(seller)]
    assert uid(pos) not in ids(listed(orders_only))
    assert ids(listed(of_b)) == [uid(other_seller)]
    assert of_b.get(f"/api/v1/events/{order.uid}").status_code == 404


def test_a_token_with_none_of_the_scopes_gets_an_empty_list(tenant_a):
    publish(tenant_a, EventType.ORDER_PROCESSED)
    publish(tenant_a, EventType.STORE_SYNC_FAILED)
    client = api_client(issue_token(tenant_a, frozenset({"webhooks:write"})))

    answer = client.get("/api/v1/events")

    assert answer.status_code == 200
    assert answer.json()["results"] == []


def test_a_signed_in_member_sees_every_listed_event_of_the_seller(tenant_a, tenant_b):
    order, pos = publish(tenant_a, "order.created"), publish(tenant_a, "pos.sync_failed")
    publish(tenant_a, EventType.TEST)
    publish(tenant_b, "order.created")
    browser = Client()
    browser.force_login(make_member(tenant_a, "viewer"))

    assert ids(listed(browser)) == [uid(pos), uid(order)]


def test_events_past_their_retention_are_deleted_daily_and_their_deliveries_stay(
    settings, eager_celery, tenant_a, tenant_b
):
    assert {"task": "partners.purge_events", "schedule": 24 * 60 * 60} in (
        django_settings.CELERY_BEAT_SCHEDULE.values()
    )
    settings.EVENTS_RETENTION_DAYS = 7
    endpoint = make_webhook_endpoint(tenant_a, events=["order.created"])
    old = publish(tenant_a, EventType.ORDER_CREATED, order={"uid": "old"})
    kept = publish(tenant_a, EventType.ORDER_CREATED, order={"uid": "kept"})
    old_of_b = publish(tenant_b, EventType.ORDER_CREATED)
    eight_days_ago = timezone.now() - timedelta(days=8)
    for tenant, event in ((tenant_a, old), (tenant_b, old_of_b)):
        with tenant_scope(tenant):
            Event.objects.filter(pk=event.pk).update(created_at=eight_days_ago)

    assert tasks.purge_events.delay().get() == 2

    with tenant_scope(tenant_a):
        assert list(Event.objects.values_list("pk", flat=True)) == [kept.pk]
        delivery = WebhookDelivery.objects.get(endpoint=endpoint, event_uid=old.uid)
    assert delivery.event_id is None
    assert delivery.payload["id"] == uid(old)
    assert delivery.payload["data"] == {"order": {"uid": "old"}}
