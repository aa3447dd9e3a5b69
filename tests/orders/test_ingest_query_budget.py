"""The webhook endpoint's ingest: one INSERT per notification, exact duplicates stored once.

``bench/webhook_ingest.py`` measures it under gunicorn; these tests pin what the figures rest on.
Queries are counted in autocommit, as a web request runs. test_notification_relay.py has the
same with ``NOTIFICATIONS_RELAY`` on.
"""

import json
import time
import uuid
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Notification
from sandbox import signing
from sandbox.seed import WEBHOOK_SECRET
from tests.orders.test_webhooks import WEBHOOK

pytestmark = [pytest.mark.django_db(transaction=True)]

S = Notification.Status
DATA_ID = "ORD01JV3AW3NFSTSTB669F41NACDX"


def webhook(request_id: str, *, secret: str = WEBHOOK_SECRET) -> tuple[str, dict]:
    ts = round(time.time() * 1000)
    headers = {
        "X-Signature": signing.signature(secret, DATA_ID, request_id, ts),
        "X-Request-Id": request_id,
    }
    return f"{WEBHOOK}?{urlencode({'data.id': DATA_ID, 'type': 'order'})}", headers


def ipn(request_id: str, topic: str = "payment") -> tuple[str, dict]:
    query = urlencode({"seller": "1", "topic": topic, "id": "123456"})
    return f"{WEBHOOK}?{query}", {"X-Request-Id": request_id}


def send(client, url: str, headers: dict):
    body = json.dumps({"type": "order", "action": "order.processed", "data": {"id": DATA_ID}})
    return client.post(url, body, content_type="application/json", headers=headers)


@pytest.fixture
def queued(monkeypatch):
    """The ids handed to the broker (nothing is processed)."""
    from orders import tasks

    sent = []
    monkeypatch.setattr(tasks.process_notification, "delay", sent.append)
    return sent


def statements(client, url: str, headers: dict) -> tuple[list[str], object]:
    with CaptureQueriesContext(connection) as captured:
        response = send(client, url, headers)
    return [query["sql"].split()[0] for query in captured.captured_queries], response


@pytest.mark.parametrize("make", [webhook, ipn], ids=["signed-webhook", "legacy-ipn"])
def test_an_accepted_notification_is_one_insert_and_one_task(client, queued, make):
    sql, response = statements(client, *make(str(uuid.uuid4())))

    assert response.status_code == 200
    assert sql == ["INSERT"]
    row = Notification.objects.get()
    assert response.json() == {"status": "received", "id": row.pk}
    assert row.status == S.QUEUED
    assert queued == [row.pk]


def test_a_rejected_webhook_is_one_insert_and_no_task(client, queued):
    sql, response = statements(client, *webhook(str(uuid.uuid4()), secret="another-secret"))

    assert response.status_code == 401
    assert sql == ["INSERT"]
    assert Notification.objects.get().status == S.REJECTED
    assert queued == []


@pytest.mark.parametrize("make", [webhook, ipn], ids=["signed-webhook", "legacy-ipn"])
def test_an_exact_duplicate_is_answered_with_the_first_row_and_not_stored_again(
    client, queued, make
):
    """The first row is still queued (nothing processes it here): the duplicate queues it again,
    in case its processing died with its process (test_inbox_hardening.py)."""
    url, headers = make(str(uuid.uuid4()))
    first = send(client, url, headers)
    sql, again = statements(client, url, headers)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert sql == ["INSERT", "SELECT"]  # the refused INSERT, then the first row
    assert Notification.objects.count() == 1
    assert queued == [first.json()["id"]] * 2


def test_a_forged_copy_of_a_request_id_does_not_block_the_genuine_webhook(client, queued):
    """Rejected rows never take part in deduplication: a forger who learnt a request id (or
    guessed it) cannot make Mercado Pago's genuine webhook count as a duplicate."""
    request_id = str(uuid.uuid4())
    forged = send(client, *webhook(request_id, secret="another-secret"))
    genuine = send(client, *webhook(request_id))

    assert (forged.status_code, genuine.status_code) == (401, 200)
    assert list(Notification.objects.order_by("pk").values_list("status", flat=True)) == [
        S.REJECTED,
        S.QUEUED,
    ]
    assert queued == [genuine.json()["id"]]


def test_the_same_request_id_of_another_kind_or_a_redelivery_is_a_new_notification(client, queued):
    """Mercado Pago gives each attempt its own x-request-id: a redelivery is stored again (and
    processing it again is harmless); an IPN and a webhook never share a row."""
    request_id = str(uuid.uuid4())
    responses = [
        send(client, *webhook(request_id)),
        send(client, *ipn(request_id)),
        send(client, *webhook(str(uuid.uuid4()))),
    ]

    assert [response.status_code for response in responses] == [200, 200, 200]
    assert len({response.json()["id"] for response in responses}) == 3
    assert len(queued) == 3


def test_notifications_without_a_request_id_are_all_kept(client, queued):
    url, _headers = ipn("")
    ids = {send(client, url, {}).json()["id"] for _ in range(2)}

    assert len(ids) == 2
    assert Notification.objects.filter(request_id="").count() == 2


def test_inside_a_transaction_a_duplicate_leaves_the_transaction_usable(client, queued):
    """The management of a duplicate when the caller holds a transaction (ATOMIC_REQUESTS, a
    test): the INSERT skips the duplicate (ON CONFLICT DO NOTHING) without an error, and the
    caller's work goes on."""
    from django.db import transaction

    from orders import notifications

    _url, headers = webhook(str(uuid.uuid4()))
    query = {"data.id": DATA_ID, "type": "order"}
    headers = {name.lower(): value for name, value in headers.items()}
    with transaction.atomic():
        first = notifications.receive(query=query, headers=headers, body=b"{}")
        again = notifications.receive(query=query, headers=headers, body=b"{}")
        assert again.pk == first.pk
        assert Notification.objects.count() == 1  # the transaction still answers
    assert queued == [first.pk, first.pk]  # queued again: the first is still unprocessed
