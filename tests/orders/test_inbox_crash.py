"""A notification whose worker process is SIGKILLed mid-processing is not lost (issue 15).

The platform runs in processes of its own, as in the fault soak (``tests/soak``): gunicorn
serves the platform and the sandbox, a prefork Celery worker runs the tasks, on this test's
database and a broker queue of its own. The sandbox holds back its answer to the worker's read
of the order; the worker is killed with SIGKILL inside that read. The broker would hand the
task out again only after its visibility timeout (an hour by default): until then the row stays
``queued``. Mercado Pago's resend of the same request (same ``x-request-id``) queues it again,
and so does the sweeper once the row is stuck; a new worker then finishes it and the order is
paid.

Needs a broker that processes share (``CELERY_BROKER_URL=redis://…``); skipped without one.
"""

import json
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from django.utils import timezone

from orders import tasks
from orders.models import Notification, Order
from sandbox import models as mercadopago
from tenants.scope import tenant_scope
from tests.factories import make_connected_tenant
from tests.orders.conftest import synced_pos
from tests.orders.test_webhooks import WEBHOOK, signed
from tests.soak import test_fault_soak as soak

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

processes = soak.processes  # gunicorn on this test's database; workers started by the test


@pytest.mark.parametrize("recovery", ["resend", "sweeper"])
def test_a_notification_whose_worker_is_killed_mid_processing_ends_processed(
    processes, client, recovery
):
    seller = make_connected_tenant("Parrilla", site="MLA")
    pos = synced_pos(seller)
    processes.start_worker("doomed", SOAK_CLIENT_TIMEOUT="60")  # waits for the held answer
    order = soak.paid_with_its_reads_held(client, seller, pos)

    # Mercado Pago's webhook for the paid order, reaching the platform's server.
    url = f"{processes.url}{WEBHOOK}?{urlencode({'data.id': order.mp_order_id, 'type': 'order'})}"
    body = json.dumps(
        {"type": "order", "action": "order.processed", "data": {"id": order.mp_order_id}}
    )
    headers = signed(order.mp_order_id) | {"Content-Type": "application/json"}
    first = httpx.post(url, content=body, headers=headers, timeout=10)
    assert first.status_code == 200, first.text
    row_id = first.json()["id"]

    def inside_the_read() -> bool:
        """the worker is processing the notification, inside its Mercado Pago read"""
        row = Notification.objects.get(pk=row_id)
        started = (row.status, row.attempts) == ("queued", 1)
        return started and mercadopago.FaultSettings.current().request_count >= 1

    processes.wait_for(inside_the_read)
    processes.kill("doomed")
    client.delete("/sandbox/_control/faults")
    row = Notification.objects.get(pk=row_id)
    assert (row.status, row.attempts) == ("queued", 1)
    with tenant_scope(seller):
        assert Order.objects.values_list("status", flat=True).get(pk=order.pk) == "created"

    processes.start_worker("heir")  # the killed task is not handed out again within the test
    if recovery == "resend":
        again = httpx.post(url, content=body, headers=headers, timeout=10)
        assert again.json() == first.json()  # a duplicate: the first row, queued again
    else:
        Notification.objects.filter(pk=row_id).update(
            touched_at=timezone.now() - timedelta(minutes=16)  # NOTIFICATIONS_STUCK_AFTER: 15
        )
        tasks.sweep_notifications.delay()  # as beat does; the heir runs it

    def processed() -> bool:
        """the notification was processed again"""
        return Notification.objects.filter(pk=row_id, status="processed").exists()

    processes.wait_for(processed, timeout=60)
    row = Notification.objects.get(pk=row_id)
    assert row.attempts == 2  # the killed run and the one that finished it
    assert row.sweeps == (1 if recovery == "sweeper" else 0)
    assert Notification.objects.count() == 1
    with tenant_scope(seller):
        assert Order.objects.values_list("status", flat=True).get(pk=order.pk) == "processed"
