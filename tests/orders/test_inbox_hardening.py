"""What an unauthenticated sender can make Mercado Pago's inbox do is bounded (issue 15).

- Disk: a body over ``NOTIFICATIONS_MAX_BYTES`` is refused before it is read; a rejected request
  keeps a small record (no body: its digest and size), rate-limited per client address, and is
  purged after its retention.
- Mercado Pago calls: IPN look-ups are coalesced per (seller, topic, id) and budgeted per seller
  (counted with the ``MercadoPagoCall`` rows the platform records, against the sandbox).
- Stuck rows: a resend of a row still unprocessed queues it again, and the sweeper finds it.
  (``test_inbox_crash.py`` kills a real worker process in the middle of one.)
"""

import hashlib
import io
import json
import types
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from merchant_platform import rate_limits
from orders import notifications, tasks
from orders.models import Notification
from sandbox.models import Payment as SandboxPayment
from tests.orders.conftest import reload
from tests.orders.test_webhooks import (
    WEBHOOK,
    calls_of,
    deliver,
    ipn_event,
    last_row,
    order_query,
    post,
    signed,
    webhook_event,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

S = Notification.Status
NOW = 1_800_000_000.0  # the rate windows' clock, frozen: no window ends inside a test


@pytest.fixture(autouse=True)
def frozen_windows(monkeypatch):
    clock = types.SimpleNamespace(time=lambda: NOW)
    monkeypatch.setattr(notifications, "time", clock)
    monkeypatch.setattr(rate_limits, "time", clock)


def stored_characters(row: Notification) -> int:
    """The characters a row keeps of its request (every string column and JSON value)."""
    texts = [row.body, row.detail, row.topic, row.action, row.resource_id, row.request_id]
    texts += [key + value for key, value in (row.query | row.headers).items()]
    return sum(len(text) for text in texts)


def send(client, address: str, query: dict, body: bytes | str = b"{}", **headers):
    """POST a notification as the client at ``address`` would."""
    return client.post(
        f"{WEBHOOK}?{urlencode(query)}",
        body,
        content_type="application/json",
        headers=headers,
        REMOTE_ADDR=address,
    )


def mercado_pago_calls(tenant) -> int:
    return len(calls_of(tenant))


# Point 1: the disk ----------------------------------------------------------------------------


def test_large_unsigned_posts_leave_only_small_bounded_records(client, committed):
    """The incident: ten unsigned POSTs of ~2.4 MB grew the inbox by 25 MB. Now a body over the
    cap is refused (413) and any rejected request keeps a bounded record without its body."""
    huge = b"x" * 2_400_000
    long_value = "v" * 5000
    noisy_query = {f"p{n}": long_value for n in range(50)} | {"data.id": "ORD1", "type": "order"}
    with committed():
        refused = [send(client, "198.51.100.9", noisy_query, huge) for _ in range(10)]
        unsigned = [
            send(client, "198.51.100.9", noisy_query, b"y" * 60_000, **{"X-Signature": "x" * 7000})
            for _ in range(10)
        ]

    assert {response.status_code for response in refused} == {413}
    assert {response.status_code for response in unsigned} == {401}
    rows = list(Notification.objects.order_by("pk"))
    assert len(rows) == 20
    assert {row.status for row in rows} == {S.REJECTED}
    assert all(row.body == "" for row in rows)
    assert all(stored_characters(row) < 3000 for row in rows)
    assert all(len(row.query) <= notifications.BOUNDED_ENTRIES for row in rows)
    assert all(row.client_address == "198.51.100.9" for row in rows)
    assert [row.body_size for row in rows] == [len(huge)] * 10 + [60_000] * 10
    digest = hashlib.sha256(b"y" * 60_000).hexdigest()
    assert [row.body_sha256 for row in rows[10:]] == [digest] * 10
    assert "body larger than" in rows[0].detail


def test_an_unsigned_ipn_keeps_its_body_only_when_it_is_small(client, committed, seller):
    query = {"topic": "payment", "id": "123", "seller": str(seller.pk)}
    with committed():
        send(client, "198.51.100.9", query, b"z" * 50_000)
        send(client, "198.51.100.9", query, b'{"resource": "123"}')
    large, small = Notification.objects.order_by("pk")
    assert (large.body, large.body_size) == ("", 50_000)
    assert small.body == '{"resource": "123"}'


@pytest.mark.parametrize("transfer", ["content-length", "chunked"])
def test_a_body_over_the_cap_is_refused_without_reading_past_it(client, settings, transfer):
    settings.NOTIFICATIONS_MAX_BYTES = 1000
    stream = io.BytesIO(b"x" * 50_000)
    length = {"CONTENT_LENGTH": "50000"} if transfer == "content-length" else {}
    chunked = {"HTTP_TRANSFER_ENCODING": "chunked"} if transfer == "chunked" else {}

    response = client.generic(
        "POST",
        f"{WEBHOOK}?{urlencode({'data.id': 'ORD1', 'type': 'order'})}",
        **{"wsgi.input": stream, "CONTENT_LENGTH": "", **length, **chunked},
    )

    assert response.status_code == 413
    assert stream.tell() <= 1001  # never more than the cap and one byte
    row = last_row()
    assert (row.status, row.body) == (S.REJECTED, "")


def test_a_chunked_notification_under_the_cap_is_read_and_accepted(client, paid_v1, committed):
    """Django reads a body without ``Content-Length`` as empty; the view reads it itself."""
    body = json.dumps(webhook_event(paid_v1).body).encode()
    with committed():
        response = client.generic(
            "POST",
            f"{WEBHOOK}?{urlencode(order_query(paid_v1))}",
            content_type="application/json",
            headers=signed(paid_v1.mp_order_id),
            **{"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": ""},
            HTTP_TRANSFER_ENCODING="chunked",
        )
    assert response.status_code == 200
    assert last_row().body == body.decode()
    assert reload(paid_v1).status == "processed"


def test_rejected_requests_are_rate_limited_per_address_and_accepted_ones_never(
    client, settings, seller, paid_v1, committed
):
    settings.NOTIFICATIONS_REJECTED_RATE = "3/min"
    unsigned = order_query(paid_v1)
    with committed():
        statuses = [send(client, "203.0.113.7", unsigned).status_code for _ in range(3)]
        throttled = send(client, "203.0.113.7", unsigned)
        elsewhere = send(client, "203.0.113.8", unsigned)
        ipn = send(client, "203.0.113.7", {"topic": "payment", "id": "1", "seller": "0"})
        accepted = send(
            client,
            "203.0.113.7",
            unsigned,
            json.dumps(webhook_event(paid_v1).body),
            **signed(paid_v1.mp_order_id),
        )

    assert statuses == [401, 401, 401]
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert elsewhere.status_code == 401  # another address has its own budget
    assert (ipn.status_code, accepted.status_code) == (200, 200)
    assert Notification.objects.filter(status=S.REJECTED).count() == 4  # none when throttled
    assert reload(paid_v1).status == "processed"


def test_rejected_records_are_purged_after_their_retention_by_beat(client, paid_v1, committed):
    assert {"task": "orders.purge_rejected_notifications", "schedule": 3600} in (
        django_settings.CELERY_BEAT_SCHEDULE.values()
    )
    with committed():
        post(client, order_query(paid_v1), b"{}")  # rejected, today
        post(client, order_query(paid_v1), b"{}")  # rejected, to be aged
        deliver(client, webhook_event(paid_v1))  # accepted
    today, old, accepted = Notification.objects.order_by("pk")
    eight_days_ago = timezone.now() - timedelta(days=8)
    Notification.objects.filter(pk__in=[old.pk, accepted.pk]).update(received_at=eight_days_ago)

    with committed():
        assert tasks.purge_rejected_notifications.delay().get() == 1

    assert set(Notification.objects.values_list("pk", flat=True)) == {today.pk, accepted.pk}


# Point 2: IPN look-ups --------------------------------------------------------------------------


def test_a_flood_of_unsigned_ipns_is_held_to_the_sellers_look_up_budget(
    client, settings, seller, committed
):
    """The incident: 100 unsigned IPNs with random ids made 100 Mercado Pago calls with the
    seller's token. None of these ids is the seller's, and none is attributed to it."""
    settings.NOTIFICATIONS_IPN_SELLER_RATE = "10/min"
    before = mercado_pago_calls(seller)
    with committed():
        for n in range(100):
            query = {"topic": "payment", "id": str(900_000_000 + n), "seller": str(seller.pk)}
            assert send(client, "192.0.2.1", query).status_code == 200

    assert mercado_pago_calls(seller) - before == 10
    rows = Notification.objects.all()
    assert rows.count() == 100
    assert {row.status for row in rows} == {S.IGNORED}
    assert not rows.filter(tenant__isnull=False).exists()


@pytest.fixture
def scheduled(monkeypatch):
    """Trailing look-ups handed to the broker (args, kwargs, countdown); others run as usual."""
    sent, apply_async = [], tasks.process_notification.apply_async

    def record(args=None, kwargs=None, countdown=None, **options):
        if (kwargs or {}).get("trailing"):
            sent.append((args, kwargs, countdown))
            return None
        return apply_async(args, kwargs, countdown=countdown, **options)

    monkeypatch.setattr(tasks.process_notification, "apply_async", record)
    return sent


def test_repeats_of_an_ipn_are_coalesced_into_one_trailing_look_up_that_reads_the_update(
    client, settings, seller, paid_legacy, committed, scheduled
):
    """Mercado Pago sends the same merchant order twice within seconds (payment in process,
    then approved): the repeat is not dropped; it and every later repeat inside the window get
    one look-up at the window's end, which reads the approved payment."""
    event = ipn_event("merchant_order")
    path = f"/merchant_orders/{event.resource_id}"
    approved = SandboxPayment.objects.filter(merchant_order_id=int(event.resource_id))
    assert approved.update(status="in_process") == 1
    with committed():
        deliver(client, event)  # looked up: nothing paid yet
    assert reload(paid_legacy).status == "created"

    approved.update(status="approved")  # then Mercado Pago approves it and notifies again
    with committed():
        for _ in range(5):
            deliver(client, event)

    def looked_up() -> int:
        return [call[1] for call in calls_of(seller)].count(path)

    assert looked_up() == 1
    rows = list(Notification.objects.order_by("pk"))
    assert [row.status for row in rows] == [S.PROCESSED, S.QUEUED] + [S.IGNORED] * 4
    assert all(f"notification {rows[1].pk} looks up" in row.detail for row in rows[2:])
    assert all(row.tenant is None for row in rows[1:])
    [(args, kwargs, countdown)] = scheduled
    assert args == (rows[1].pk,)
    assert 0 < countdown <= settings.NOTIFICATIONS_IPN_WINDOW

    with committed():  # the window's end
        tasks.process_notification.apply(args, kwargs)
    assert looked_up() == 2
    assert reload(paid_legacy).status == "processed"
    rows[1].refresh_from_db()
    assert (rows[1].status, rows[1].tenant) == (S.PROCESSED, seller)

    with committed():  # a repeat after the trailing look-up plans the next one
        deliver(client, event)
    assert len(scheduled) == 2


# Point 5: notifications stuck unprocessed ------------------------------------------------------


def test_a_resend_of_a_notification_still_queued_queues_it_again(
    client, seller, paid_v1, django_capture_on_commit_callbacks, committed
):
    """The incident: the process died before the row was processed (its task never ran), and
    Mercado Pago's resend, with the same x-request-id, was only answered with the first row."""
    event, headers = webhook_event(paid_v1), signed(paid_v1.mp_order_id)
    body = json.dumps(event.body)
    with django_capture_on_commit_callbacks():  # the queued task is lost with its process
        first = post(client, order_query(paid_v1), body, **headers)
    assert last_row().status == S.QUEUED

    with committed():
        again = post(client, order_query(paid_v1), body, **headers)
    assert again.json() == first.json()
    row = last_row()
    assert (Notification.objects.count(), row.status, row.attempts) == (1, S.PROCESSED, 1)
    assert reload(paid_v1).status == "processed"

    calls = mercado_pago_calls(seller)
    with committed():  # a resend of a processed row is only answered
        assert post(client, order_query(paid_v1), body, **headers).json() == first.json()
    assert mercado_pago_calls(seller) == calls
    row.refresh_from_db()
    assert row.attempts == 1


def test_the_sweeper_queues_stuck_rows_again_a_bounded_number_of_times(
    client, settings, seller, paid_v1, django_capture_on_commit_callbacks, committed
):
    settings.NOTIFICATIONS_MAX_SWEEPS = 2
    assert {"task": "orders.sweep_notifications", "schedule": 60} in (
        django_settings.CELERY_BEAT_SCHEDULE.values()
    )
    with django_capture_on_commit_callbacks():  # its task is lost
        deliver(client, webhook_event(paid_v1))
    stuck = last_row()

    def sweep() -> int:
        with committed():
            return tasks.sweep_notifications.delay().get()

    def age(minutes: int) -> None:
        ago = timezone.now() - timedelta(minutes=minutes)
        Notification.objects.filter(pk=stuck.pk).update(touched_at=ago)

    age(14)  # not yet past NOTIFICATIONS_STUCK_AFTER (15 min)
    assert sweep() == 0
    age(16)
    from tenants.services import disconnect

    disconnect(tenant=seller)  # the row fails (its seller has no credential): no retry planned
    assert sweep() == 1
    stuck.refresh_from_db()
    assert (stuck.status, stuck.sweeps, stuck.attempts) == (S.FAILED, 1, 1)

    from sandbox.seed import seller_access_token
    from tenants.services import connect_with_access_token

    connect_with_access_token(tenant=seller, access_token=seller_access_token("MLA"))
    assert sweep() == 0  # just attempted
    age(16)
    assert sweep() == 1
    stuck.refresh_from_db()
    assert (stuck.status, stuck.sweeps, stuck.attempts) == (S.PROCESSED, 2, 2)
    assert reload(paid_v1).status == "processed"

    Notification.objects.filter(pk=stuck.pk).update(status=S.FAILED)
    age(16)
    assert sweep() == 0  # NOTIFICATIONS_MAX_SWEEPS reached: left to a replay
