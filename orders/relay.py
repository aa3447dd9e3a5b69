"""The relay of Mercado Pago's notifications: the inbox is the queue (DESIGN.md, "Notifications").

With ``NOTIFICATIONS_RELAY`` on, the webhook view only stores its row, ``received``. The relay
claims such rows in batches (``FOR UPDATE SKIP LOCKED``: several relays may run, each row goes to
one of them), publishes one ``orders.process_notification`` task per row and, in the same
transaction, marks the rows ``queued``. It publishes before it commits: a relay that dies in
between leaves its rows ``received``, to be published again by the next pass (a duplicate task
is harmless: processing is idempotent); committing first could lose them. A publish that fails
rolls the batch back, for the next pass.

On PostgreSQL the view's ``INSERT`` wakes the relay (``NOTIFY``, delivered when the row is
committed), so a notification waits milliseconds for its task; the relay also looks every
``NOTIFICATIONS_RELAY_POLL`` seconds, the only wake-up on SQLite. After a pass that found rows it
lets ``GATHER`` seconds go by before the next one, so that under load rows go in batches (a row
alone costs the relay about three times what it costs in a batch of ten); when idle, a row goes
at once. Rows left ``received`` by a relay that is not running are published by the sweeper
(``notifications.sweep``). ``python manage.py run_notification_relay`` runs it
(``deploy/relay.sh``).
"""

import logging
import threading
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from orders.models import Notification

logger = logging.getLogger(__name__)

CHANNEL = "orders_notification_received"
BATCH = 500  # rows claimed, published and marked per transaction
GATHER = 0.05  # seconds between two passes that find rows


def relay_once(*, batch: int = BATCH) -> list[int]:
    """Publish the task of up to ``batch`` received rows, oldest first, and mark them queued;
    their ids. Rows another relay holds are skipped; a failed publish raises and leaves every
    row of the batch received."""
    from orders import tasks  # tasks call notifications, which call this module

    with transaction.atomic():
        ids = list(
            Notification.objects.filter(status=Notification.Status.RECEIVED)
            .select_for_update(skip_locked=True)
            .order_by("received_at")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return ids
        task = tasks.process_notification
        with task.app.producer_or_acquire() as producer:  # one broker connection per batch
            for notification_id in ids:
                task.apply_async((notification_id,), producer=producer)
        Notification.objects.filter(pk__in=ids, status=Notification.Status.RECEIVED).update(
            status=Notification.Status.QUEUED, touched_at=timezone.now()
        )
    return ids


def drain(*, batch: int = BATCH) -> int:
    """Relay every received row, batch after batch, until none is left; how many."""
    total = 0
    while True:
        done = len(relay_once(batch=batch))
        total += done
        if done < batch:
            return total


def hand_back(ids: Iterable[int]) -> None:
    """Give queued or failed rows back to the relay (``received``), and wake it."""
    Notification.objects.filter(
        pk__in=list(ids), status__in=[Notification.Status.QUEUED, Notification.Status.FAILED]
    ).update(status=Notification.Status.RECEIVED, touched_at=timezone.now())
    wake()


def wake() -> None:
    """Wake the relays (on PostgreSQL, when the current transaction commits)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])


def run(
    *,
    poll: float,
    batch: int = BATCH,
    gather: float = GATHER,
    stop: threading.Event | None = None,
) -> None:
    """Relay until ``stop`` is set (forever without one): drain, then wait for a ``NOTIFY`` on
    PostgreSQL or ``poll`` seconds (``gather`` seconds first when the pass found rows). A
    failure (database or broker away) is logged and the loop starts again after ``poll``
    seconds, listening again on a new connection."""
    stop = stop or threading.Event()
    listening = None  # the psycopg connection that LISTENs
    while not stop.is_set():
        try:
            if connection.vendor == "postgresql" and (
                listening is None or listening is not connection.connection
            ):
                with connection.cursor() as cursor:
                    cursor.execute(f"LISTEN {CHANNEL}")
                listening = connection.connection
            relayed = drain(batch=batch)
            if relayed:
                logger.debug("Relayed %s Mercado Pago notification(s)", relayed)
                stop.wait(gather)
            if listening is None:
                stop.wait(poll)
            else:
                wait(listening, poll)
        except Exception:
            logger.exception("The notification relay failed; trying again in %s s", poll)
            connection.close()
            listening = None
            stop.wait(poll)
    connection.close()


def wait(listening, timeout: float) -> bool:
    """Wait on ``listening`` (a psycopg connection that LISTENs) for a wake-up, at most
    ``timeout`` seconds; whether one came. Those that came while the relay was busy count at
    once, and all of them are consumed."""
    return bool(list(listening.notifies(timeout=timeout, stop_after=1)))
