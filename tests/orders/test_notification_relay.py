"""The inbox as the queue (``NOTIFICATIONS_RELAY``): the webhook view only stores the row, and the
relay (``orders.relay``) publishes one task per row, exactly once per pass, before it commits.

Tasks run in-process (``eager_celery``): a row's ``attempts`` counts the tasks that ran for it.
bench/webhook_ingest.py measures the mode under gunicorn with the relay process running.
"""

import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError

from merchant_platform.celery import app as celery_app
from orders import notifications, relay
from orders.models import Notification
from tests.orders.test_ingest_query_budget import send, webhook
from tests.soak.test_fault_soak import forget_broker_connections, free_port

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

S = Notification.Status
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SKIP LOCKED and NOTIFY need PostgreSQL"
)
committed = pytest.mark.django_db(transaction=True)  # other connections see the rows


@pytest.fixture(autouse=True)
def relay_mode(settings):
    settings.NOTIFICATIONS_RELAY = True


def received(client, count: int) -> list[int]:
    """``count`` signed webhooks through the view; their inbox ids."""
    ids = []
    for _ in range(count):
        response = send(client, *webhook(str(uuid.uuid4())))
        assert response.status_code == 200
        ids.append(response.json()["id"])
    return ids


def test_the_view_stores_the_row_in_one_statement_and_publishes_nothing(client):
    with CaptureQueriesContext(connection) as captured:
        response = send(client, *webhook(str(uuid.uuid4())))

    assert response.status_code == 200
    assert len(captured.captured_queries) == 1  # the INSERT (with its NOTIFY on PostgreSQL)
    row = Notification.objects.get()
    assert response.json() == {"status": "received", "id": row.pk}
    assert (row.status, row.attempts) == (S.RECEIVED, 0)  # no task ran


def test_a_pass_publishes_each_received_row_once_and_marks_it(client):
    ids = received(client, 3)

    assert sorted(relay.relay_once()) == ids
    assert relay.relay_once() == []  # nothing is left for the next pass
    rows = Notification.objects.filter(pk__in=ids)
    assert {row.attempts for row in rows} == {1}  # one task each
    # Processed at once (eagerly, inside the pass): the mark never overwrites the outcome.
    assert {row.status for row in rows} == {S.IGNORED}


def test_a_pass_takes_at_most_a_batch_and_drain_takes_them_all(client):
    ids = received(client, 3)

    assert len(relay.relay_once(batch=2)) == 2
    assert relay.drain(batch=2) == 1
    assert set(Notification.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}


@contextmanager
def broken_broker():
    """Celery publishes to a Redis port where nothing listens (``broker_write_url``: the
    environment's CELERY_BROKER_URL outranks ``broker_url``); tasks are published, not run."""
    conf = celery_app.conf
    saved = conf.get("broker_write_url"), conf.task_always_eager
    conf.broker_write_url = f"redis://127.0.0.1:{free_port()}/0"
    conf.task_always_eager = False
    forget_broker_connections()
    try:
        yield
    finally:
        conf.broker_write_url, conf.task_always_eager = saved
        forget_broker_connections()


def test_a_failed_publish_leaves_the_batch_received_for_the_next_pass(client):
    ids = received(client, 2)

    with broken_broker(), pytest.raises(OperationalError):
        relay.relay_once()

    assert set(Notification.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        S.RECEIVED
    }
    assert sorted(relay.relay_once()) == ids  # the broker is back


def test_a_duplicate_of_a_row_still_queued_goes_back_to_the_relay(client):
    """Its task may have died with a worker: the resend is the doorbell again, through the
    relay (the request still publishes nothing)."""
    url, headers = webhook(str(uuid.uuid4()))
    first = send(client, url, headers).json()["id"]
    Notification.objects.filter(pk=first).update(status=S.QUEUED)  # published, never processed

    again = send(client, url, headers)

    assert again.json()["id"] == first
    row = Notification.objects.get(pk=first)
    assert (row.status, row.attempts) == (S.RECEIVED, 0)
    assert relay.relay_once() == [first]


def test_the_sweeper_publishes_rows_a_stopped_relay_left_received(
    client, settings, django_capture_on_commit_callbacks
):
    ids = received(client, 2)
    later = timezone.now() + timedelta(seconds=settings.NOTIFICATIONS_STUCK_AFTER + 1)

    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.sweep(now=later) == 2

    rows = Notification.objects.filter(pk__in=ids)
    assert {(row.status, row.attempts, row.sweeps) for row in rows} == {(S.IGNORED, 1, 1)}
    assert relay.relay_once() == []


def other_relay(published: list[int]) -> None:
    """One pass of a relay of its own (a thread, its own database connection)."""
    try:
        published.extend(relay.relay_once())
    finally:
        connection.close()


@needs_postgresql
@committed
def test_two_relays_never_publish_the_same_row(client):
    """A relay holding rows (mid-pass, before its commit) and another one's pass: SKIP LOCKED
    gives the second the other rows only."""
    ids = received(client, 4)
    published = []
    with transaction.atomic():
        held = list(
            Notification.objects.filter(pk__in=ids[:2])
            .select_for_update()
            .values_list("pk", flat=True)
        )
        other = threading.Thread(target=other_relay, args=(published,))
        other.start()
        other.join()

    assert sorted(published) == ids[2:]
    assert sorted(relay.relay_once()) == sorted(held)
    assert set(Notification.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}


@needs_postgresql
@committed
def test_the_views_insert_wakes_a_listening_relay(client):
    """The NOTIFY rides on the INSERT and is delivered at its commit."""
    settings_dict = connection.settings_dict
    with psycopg.connect(
        host=settings_dict["HOST"],
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"],
        dbname=settings_dict["NAME"],
        autocommit=True,
    ) as listener:
        listener.execute(f"LISTEN {relay.CHANNEL}")
        assert not relay.wait(listener, 0)  # nothing yet

        received(client, 1)

        assert relay.wait(listener, 30)


@needs_postgresql
@committed
def test_the_relay_loop_publishes_what_a_notify_announces(client):
    """``run`` waits on LISTEN with a poll far longer than the test: only the NOTIFY of the
    view's INSERT can have woken it."""
    stop = threading.Event()
    loop = threading.Thread(target=relay.run, kwargs={"poll": 600, "stop": stop})
    loop.start()
    try:
        ids = received(client, 1)
        row = Notification.objects.get(pk=ids[0])
        for _ in range(300):
            row.refresh_from_db()
            if row.status != S.RECEIVED:
                break
            stop.wait(0.1)
    finally:
        stop.set()
        relay.wake()  # out of its wait, to see the stop
        loop.join()
    assert (row.status, row.attempts) == (S.IGNORED, 1)
