"""The Mercado Pago notification endpoint and inbox: signatures, legacy IPN, processing by
re-fetching, duplicates, failures and replays, and isolation between sellers.

Notifications are built as the sandbox builds them (its outbox rows, its signing code) and posted
in-process to the endpoint; the platform re-fetches from the sandbox with the seller's token.
"""

import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal
from io import StringIO
from urllib.parse import urlencode, urlsplit

import pytest
from celery.signals import task_prerun
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from orders.models import Api, MercadoPagoCall, Notification, Order, Payment
from sandbox import notifier, signing
from sandbox.models import Event
from sandbox.seed import WEBHOOK_SECRET
from sandbox.seed import seller_access_token as sandbox_token
from tenants.scope import tenant_scope
from tenants.services import connect_with_access_token, disconnect
from tests.factories import make_connected_tenant, make_order
from tests.faults import set_faults
from tests.orders.conftest import new_order, pay, reload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

WEBHOOK = reverse("orders:mercadopago-webhook")
S = Notification.Status


# Orders and the notifications the sandbox writes about them ----------------------------------


def webhook_event(order: Order) -> Event:
    return Event.objects.filter(kind=Event.Kind.WEBHOOK, resource_id=order.mp_order_id).latest("pk")


def ipn_event(topic: str) -> Event:
    return Event.objects.get(kind=Event.Kind.IPN, topic=topic)


def deliver(client, event: Event, body: dict | None = None, **headers):
    """Send ``event`` as the sandbox's notifier does: its URL and query, its body, its headers
    (a fresh ``x-request-id``; webhooks signed with the application's secret)."""
    sent = notifier.request_headers(event, str(uuid.uuid4()), 0) | headers
    if event.kind == Event.Kind.WEBHOOK:
        url = f"{WEBHOOK}?{urlencode(event.query)}"
    else:
        parts = urlsplit(notifier.destination(event))  # the order's notification_url
        url = f"{parts.path}?{parts.query}"
    content = json.dumps(event.body if body is None else body)
    return client.post(url, content, content_type="application/json", headers=sent)


def post(client, query: dict, body: bytes | str = b"", **headers):
    return client.post(
        f"{WEBHOOK}?{urlencode(query)}", body, content_type="application/json", headers=headers
    )


def signed(data_id: str | None, *, secret=WEBHOOK_SECRET, request_id=None, ts=None) -> dict:
    """``x-signature`` and ``x-request-id`` headers, signed by the sandbox's code."""
    request_id = request_id or str(uuid.uuid4())
    ts = round(time.time() * 1000) if ts is None else ts
    return {
        "X-Signature": signing.signature(secret, data_id, request_id, ts),
        "X-Request-Id": request_id,
    }


def order_query(order: Order) -> dict:
    return {"data.id": order.mp_order_id, "type": "order"}


# Local state ----------------------------------------------------------------------------------


def payments_of(order: Order) -> list[tuple[str, Decimal]]:
    with tenant_scope(order.tenant):
        return list(Payment.objects.filter(order=order).values_list("mp_payment_id", "paid_amount"))


def calls_of(tenant) -> list[tuple[str, str, int | None]]:
    with tenant_scope(tenant):
        return list(MercadoPagoCall.objects.order_by("pk").values_list("method", "path", "status"))


def last_row() -> Notification:
    return Notification.objects.latest("pk")


# Signed webhooks ------------------------------------------------------------------------------


def test_the_sandboxs_webhook_for_a_paid_order_processes_it_with_its_payment(
    client, seller, paid_v1, committed
):
    event = webhook_event(paid_v1)
    before = calls_of(seller)
    with committed():
        response = deliver(client, event)

    row = last_row()
    assert response.status_code == 200
    assert response.json() == {"status": "received", "id": row.pk}
    assert (row.kind, row.status, row.topic, row.action) == (
        "webhook",
        S.PROCESSED,
        "order",
        "order.processed",
    )
    assert row.resource_id == paid_v1.mp_order_id
    assert row.version == event.body["data"]["version"] > 1
    assert (row.tenant, row.order) == (seller, paid_v1)
    assert row.traceback == ""
    order = reload(paid_v1)
    assert order.status == "processed"
    [(payment_id, paid)] = payments_of(order)
    assert payment_id == event.body["data"]["transactions"]["payments"][0]["id"]
    assert paid == Decimal("1500.00")
    # The order, then (once, the first time it is seen paid) its payment's approval time.
    reference_id = event.body["data"]["transactions"]["payments"][0]["reference"]["id"]
    assert calls_of(seller)[len(before) :] == [
        ("GET", f"/v1/orders/{paid_v1.mp_order_id}", 200),
        ("GET", f"/v1/payments/{reference_id}", 200),
    ]


def test_the_view_stores_and_answers_before_a_task_keyed_by_the_row_processes_it(
    client, seller, paid_v1, django_capture_on_commit_callbacks
):
    started = []

    def record(task=None, args=None, **kwargs):
        started.append((task.name, tuple(args)))

    event = webhook_event(paid_v1)
    before = calls_of(seller)
    with django_capture_on_commit_callbacks() as after_commit:
        response = deliver(client, event)
    row = last_row()
    assert response.status_code == 200
    assert row.status == S.QUEUED
    assert row.body == json.dumps(event.body)
    assert reload(paid_v1).status == "created"
    assert calls_of(seller) == before

    task_prerun.connect(record, weak=False)
    try:
        for callback in after_commit:
            callback()
    finally:
        task_prerun.disconnect(record)
    assert started == [("orders.process_notification", (row.pk,))]
    row.refresh_from_db()
    assert row.status == S.PROCESSED
    assert reload(paid_v1).status == "processed"


@pytest.mark.parametrize("unit", [1000, 1], ids=["ts-in-milliseconds", "ts-in-seconds"])
def test_a_signature_is_accepted_with_ts_in_milliseconds_or_seconds(
    client, paid_v1, committed, unit
):
    headers = signed(paid_v1.mp_order_id, ts=int(time.time()) * unit)
    with committed():
        response = post(
            client, order_query(paid_v1), json.dumps(webhook_event(paid_v1).body), **headers
        )
    assert response.status_code == 200
    assert last_row().status == S.PROCESSED
    assert reload(paid_v1).status == "processed"


def _hmac_header(manifest: str, ts: int) -> str:
    digest = hmac.new(WEBHOOK_SECRET.encode(), manifest.encode(), hashlib.sha256).hexdigest()
    return f"ts={ts},v1={digest}"


def test_the_signed_manifest_has_data_id_lower_cased(client, paid_v1):
    """Computed by hand from api.md §6.1, independently of the sandbox and of mpapi."""
    data_id, request_id, ts = paid_v1.mp_order_id, str(uuid.uuid4()), round(time.time() * 1000)
    assert data_id.isalnum()
    assert data_id != data_id.lower()

    lower = _hmac_header(f"id:{data_id.lower()};request-id:{request_id};ts:{ts};", ts)
    accepted = post(
        client, order_query(paid_v1), b"{}", **{"X-Signature": lower, "X-Request-Id": request_id}
    )
    as_sent = _hmac_header(f"id:{data_id};request-id:{request_id};ts:{ts};", ts)
    refused = post(
        client, order_query(paid_v1), b"{}", **{"X-Signature": as_sent, "X-Request-Id": request_id}
    )

    assert accepted.status_code == 200
    assert refused.status_code == 401
    assert list(Notification.objects.order_by("pk").values_list("status", flat=True)) == [
        S.QUEUED,
        S.REJECTED,
    ]


def test_a_request_id_longer_than_the_column_still_verifies(client, paid_v1):
    headers = signed(paid_v1.mp_order_id, request_id="r" * 150)
    assert post(client, order_query(paid_v1), b"{}", **headers).status_code == 200
    assert last_row().status == S.QUEUED


def _stale(seconds_away: int, unit: int):
    def headers(data_id, tolerance):
        return signed(data_id, ts=(int(time.time()) + seconds_away * (tolerance + 60)) * unit)

    return headers


BAD_SIGNATURES = {
    "missing": lambda data_id, _: {"X-Request-Id": str(uuid.uuid4())},
    "malformed": lambda data_id, _: {"X-Signature": "ts=yesterday,v1=not-hex", "X-Request-Id": "r"},
    "no-ts": lambda data_id, _: {"X-Signature": f"v1={'0' * 64}", "X-Request-Id": "r"},
    "wrong-secret": lambda data_id, _: signed(data_id, secret="another-secret"),
    "another-data-id": lambda data_id, _: signed("ORD01AAAAAAAAAAAAAAAAAAAAAAAA"),
    "another-request-id": lambda data_id, _: signed(data_id) | {"X-Request-Id": "replayed"},
    "stale-ms": _stale(-1, 1000),
    "stale-s": _stale(-1, 1),
    "future-ms": _stale(+1, 1000),
}


@pytest.mark.parametrize("case", BAD_SIGNATURES)
def test_a_webhook_without_a_valid_signature_is_kept_as_rejected_and_not_applied(
    client, seller, paid_v1, committed, settings, case
):
    headers = BAD_SIGNATURES[case](paid_v1.mp_order_id, settings.MERCADOPAGO_WEBHOOK_TOLERANCE)
    body = json.dumps(webhook_event(paid_v1).body)
    before, unpaid = calls_of(seller), payments_of(paid_v1)
    with committed():
        response = post(client, order_query(paid_v1), body, **headers)

    assert response.status_code == 401
    assert response.json()["status"] == "rejected"
    row = last_row()
    assert row.status == S.REJECTED
    assert row.detail
    # A bounded record: not the body, its digest and size (docs/orders.md, "Inbox limits").
    assert row.body == ""
    assert (row.body_sha256, row.body_size) == (
        hashlib.sha256(body.encode()).hexdigest(),
        len(body),
    )
    assert row.client_address == "127.0.0.1"
    assert row.query == order_query(paid_v1)
    assert row.headers["x-request-id"] == headers["X-Request-Id"]
    assert row.headers.get("x-signature") == headers.get("X-Signature")
    assert (row.attempts, row.tenant, row.order, row.processed_at) == (0, None, None, None)
    assert reload(paid_v1).status == "created"
    assert payments_of(paid_v1) == unpaid
    assert calls_of(seller) == before


# Legacy IPN -----------------------------------------------------------------------------------


def test_the_sandboxs_legacy_ipn_is_accepted_unsigned_and_processed_by_re_fetching(
    client, seller, paid_legacy, committed
):
    merchant_order, payment = ipn_event("merchant_order"), ipn_event("payment")
    with committed():
        responses = [deliver(client, merchant_order), deliver(client, payment)]

    assert [response.status_code for response in responses] == [200, 200]
    rows = list(Notification.objects.order_by("pk"))
    assert [(row.kind, row.topic, row.status) for row in rows] == [
        ("ipn", "merchant_order", S.PROCESSED),
        ("ipn", "payment", S.PROCESSED),
    ]
    assert all((row.tenant, row.order) == (seller, paid_legacy) for row in rows)
    assert all("x-signature" not in row.headers for row in rows)
    assert rows[0].query == {"seller": str(seller.pk), **merchant_order.query}
    order = reload(paid_legacy)
    assert order.status == "processed"
    assert payments_of(order) == [(payment.resource_id, Decimal("1500.00"))]
    fetched = [(method, path) for method, path, _status in calls_of(seller)]
    assert ("GET", f"/merchant_orders/{merchant_order.resource_id}") in fetched
    assert ("GET", f"/v1/payments/{payment.resource_id}") in fetched


def test_an_ipn_is_always_fetched_again_whatever_signature_it_carries(
    client, seller, paid_legacy, committed
):
    event = ipn_event("merchant_order")
    path = f"/merchant_orders/{event.resource_id}"
    with committed():
        deliver(client, event)
        response = deliver(client, event, **{"X-Signature": "ts=1,v1=00"})
    assert response.status_code == 200
    assert last_row().status == S.PROCESSED
    assert [call[1] for call in calls_of(seller)].count(path) == 2


# Duplicates and reordering --------------------------------------------------------------------


def test_a_webhook_for_an_order_whose_create_answer_was_lost_completes_it(
    client, seller, pos, committed
):
    """Mercado Pago made the order but its answer never came: the order is still pending here,
    without Mercado Pago's id. Its webhook finds it by reference, with one read."""
    order = new_order(seller, pos)
    mp_order_id = order.mp_order_id
    with tenant_scope(seller):
        Order.objects.filter(pk=order.pk).update(status="pending", mp_order_id="", qr_data="")
    pay(client, order)
    before = calls_of(seller)

    with committed():
        deliver(client, webhook_event(order))

    row = last_row()
    assert (row.status, row.tenant, row.order) == (S.PROCESSED, seller, reload(order))
    order = reload(order)
    assert (order.status, order.mp_order_id) == ("processed", mp_order_id)
    assert len(payments_of(order)) == 1
    assert calls_of(seller)[len(before) :] == [("GET", f"/v1/orders/{mp_order_id}", 200)]


def test_duplicated_and_older_webhooks_change_nothing_and_cannot_silence_later_ones(
    client, seller, paid_v1, committed
):
    """Each notification re-reads the order: a repeat or an older version changes nothing, and
    a version written in a (replayed, tampered) body cannot make later notifications skipped."""
    event = webhook_event(paid_v1)
    version = event.body["data"]["version"]
    older = json.loads(json.dumps(event.body))
    older["data"]["version"] = version - 1
    tampered = json.loads(json.dumps(event.body))
    tampered["data"]["version"] = 2**31 - 1
    for body in (event.body, event.body, older, tampered):
        with committed():
            deliver(client, event, body=body)
        assert last_row().status == S.PROCESSED
        assert reload(paid_v1).status == "processed"
    assert len(payments_of(paid_v1)) == 1

    refunded = client.post(
        f"/sandbox/v1/orders/{paid_v1.mp_order_id}/refund",
        "",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {sandbox_token('MLA')}",
        HTTP_X_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert refunded.status_code == 201, refunded.content
    with committed():
        deliver(client, webhook_event(paid_v1))  # the genuine next version: order.refunded

    assert last_row().status == S.PROCESSED
    order = reload(paid_v1)
    assert order.status == "refunded"
    with tenant_scope(seller):
        assert order.refunds.get().amount == Decimal("1500.00")


# Failures and replays -------------------------------------------------------------------------


def replay_command(*args: str) -> str:
    out = StringIO()
    call_command("replay_notifications", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_a_seller_without_credential_leaves_the_row_failed_until_a_replay(
    client, seller, paid_v1, committed
):
    disconnect(tenant=seller)
    with committed():
        response = deliver(client, webhook_event(paid_v1))
    row = last_row()
    assert response.status_code == 200
    assert row.status == S.FAILED
    assert row.detail.startswith("NotConnected")
    assert "NotConnected" in row.traceback.splitlines()[-1]
    assert row.body == json.dumps(webhook_event(paid_v1).body)
    assert (row.tenant, row.order) == (seller, paid_v1)  # its seller can see and replay it
    assert reload(paid_v1).status == "created"

    connect_with_access_token(tenant=seller, access_token=sandbox_token("MLA"))
    with committed():
        output = replay_command("--all-failed")
    assert "Queued 1 notification(s)" in output
    row.refresh_from_db()
    assert (row.status, row.traceback) == (S.PROCESSED, "")
    assert reload(paid_v1).status == "processed"


def test_mercado_pago_failing_leaves_the_row_failed_with_its_traceback_until_a_replay(
    client, seller, paid_v1, committed
):
    set_faults(
        client,
        path_regex=f"^/v1/orders/{paid_v1.mp_order_id}$",
        error_rate="1",
        error_statuses=[500],
    )
    with committed():
        response = deliver(client, webhook_event(paid_v1))
    row = last_row()
    assert response.status_code == 200
    assert row.status == S.FAILED
    assert row.detail.startswith("ServerError")
    assert "ServerError" in row.traceback
    assert {status for _m, _p, status in calls_of(seller)[-3:]} == {500}
    assert reload(paid_v1).status == "created"

    assert client.delete("/sandbox/_control/faults").status_code in (200, 204)
    with committed():
        output = replay_command("--id", str(row.pk))
    assert "Queued 1 notification(s)" in output
    row.refresh_from_db()
    assert row.status == S.PROCESSED
    assert reload(paid_v1).status == "processed"


def test_the_replay_command_never_replays_rejected_rows_and_says_so(client, paid_v1, committed):
    post(client, order_query(paid_v1), b"{}")  # unsigned: rejected
    rejected = last_row()
    assert rejected.status == S.REJECTED
    with committed():
        output = replay_command("--id", str(rejected.pk), "999999")
    assert "Not replaying rejected notification(s)" in output
    assert "No notification 999999" in output
    assert "Queued 0 notification(s)" in output
    rejected.refresh_from_db()
    assert (rejected.status, rejected.attempts) == (S.REJECTED, 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Name the notifications"),
        (("--status", "lost"), "Unknown status 'lost'"),
        (("--status", "rejected"), "never replayed"),
        (("--all-failed", "--status", "ignored"), "--all-failed means --status failed"),
    ],
)
def test_the_replay_command_refuses_what_it_cannot_do(args, message):
    with pytest.raises(CommandError, match=message):
        replay_command(*args)


# Isolation between sellers --------------------------------------------------------------------


@pytest.fixture
def other_seller(db):
    """Seller B: connected to the sandbox's Brazilian test seller."""
    return make_connected_tenant("Padaria", site="MLB")


@pytest.mark.parametrize("topic", ["merchant_order", "payment"])
def test_a_forged_ipn_naming_another_seller_changes_nothing_of_theirs(
    client, seller, paid_legacy, other_seller, committed, topic
):
    """Tenant B has an order with the same reference as tenant A's paid one."""
    theirs = make_order(
        other_seller,
        api=Api.INSTORE,
        external_reference=paid_legacy.external_reference,
        status="created",
    )
    query = {"seller": other_seller.pk, "topic": topic, "id": ipn_event(topic).resource_id}
    with committed():
        response = post(client, query, b"")

    assert response.status_code == 200
    row = last_row()
    assert row.status == S.IGNORED
    assert (row.tenant, row.order) == (None, None)  # not shown to B as theirs
    assert reload(theirs).status == "created"
    assert payments_of(theirs) == []
    assert reload(paid_legacy).status == "created"  # A's order is not touched by B's notification
    assert [(method, status) for method, _path, status in calls_of(other_seller)] == [("GET", 404)]


def test_a_signed_webhook_whose_body_claims_another_seller_never_touches_their_data(
    client, seller, paid_v1, other_seller, committed
):
    """B has a pending order with A's reference whose create answer never came."""
    theirs = make_order(
        other_seller, api=Api.V1, external_reference=paid_v1.external_reference, mp_order_id=""
    )
    event = webhook_event(paid_v1)
    claim = event.body | {"user_id": str(other_seller.mp_user_id)}
    with committed():
        response = deliver(client, event, body=claim)

    assert response.status_code == 200
    row = last_row()
    assert row.status in (S.IGNORED, S.PROCESSED)
    assert row.tenant != other_seller
    theirs = reload(theirs)
    assert (theirs.status, theirs.mp_order_id) == ("pending", "")
    assert payments_of(theirs) == []
    ours = reload(paid_v1)
    assert ours.tenant_id == seller.pk
    assert ours.status in ("created", "processed")
    sandbox_payment = event.body["data"]["transactions"]["payments"][0]["id"]
    assert {payment_id for payment_id, _paid in payments_of(ours)} <= {sandbox_payment}


# What is not acted on -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ({"data.id": "123456", "type": "point_integration_wh"}, {"type": "point_integration_wh"}),
        ({"type": "order"}, {"type": "order"}),  # a signed order webhook naming no order
        ({"topic": "chargebacks", "id": "99"}, {}),
        ({"topic": "merchant_order", "id": "²"}, {}),
        ({"topic": "merchant_order", "id": "9" * 30}, {}),
    ],
    ids=["webhook-topic", "webhook-no-order", "ipn-topic", "ipn-odd-id", "ipn-huge-id"],
)
def test_what_names_nothing_the_platform_handles_is_ignored_without_calling_mercado_pago(
    client, seller, committed, query, body
):
    if "topic" in query:
        query = {"seller": seller.pk, **query}
    headers = signed(query.get("data.id"))
    body = json.dumps(body | {"user_id": str(seller.mp_user_id)})
    before = calls_of(seller)
    with committed():
        response = post(client, query, body, **headers)
    assert response.status_code == 200
    assert last_row().status == S.IGNORED
    assert calls_of(seller) == before


@pytest.mark.parametrize("seller_id", ["²", "9" * 30, "", "abc"])
def test_an_ipn_naming_no_valid_seller_is_ignored(client, committed, seller_id):
    with committed():
        response = post(client, {"seller": seller_id, "topic": "merchant_order", "id": "1"})
    assert response.status_code == 200
    assert last_row().status == S.IGNORED


def test_a_signed_webhook_whose_body_is_not_json_is_a_doorbell_all_the_same(
    client, paid_v1, committed
):
    with committed():
        response = post(
            client, order_query(paid_v1), b"\xff\xfe not json", **signed(paid_v1.mp_order_id)
        )
    assert response.status_code == 200
    row = last_row()
    assert row.body == "\ufffd\ufffd not json"
    assert row.status == S.PROCESSED
    assert reload(paid_v1).status == "processed"


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ({"data.id": "ORD1", "type": "order"}, b"nul \x00 in the body"),
        ({"data.id": "ORD1", "type": "order"}, b'{"action": "order.\\u0000", "type": "order"}'),
        ({"data.id": "ORD\x001", "type": "order"}, b"{}"),
        ({"data.id": "ORD1", "type": "order"}, b'{"data": {"version": -1}}'),
        ({"data.id": "ORD1", "type": "order"}, b'{"data": {"version": 3000000000}}'),
        ({"data.id": "ORD1", "type": "order"}, b'{"data": {"version": 1' + b"0" * 30 + b"}}"),
        ({"data.id": "ORD1", "type": "order"}, b"[1, 2, 3]"),
    ],
    ids=["nul-body", "nul-json", "nul-query", "negative-version", "int32", "huge", "json-list"],
)
def test_an_odd_notification_is_stored_and_answered_without_a_server_error(
    client, committed, query, body
):
    with committed():
        response = post(client, query, body, **signed(query["data.id"]))
    assert response.status_code < 500
    row = last_row()
    assert row.status in (S.REJECTED, S.IGNORED)
    assert row.version is None
    assert (
        row.body if row.status == S.IGNORED else row.body_sha256 == hashlib.sha256(body).hexdigest()
    )


def test_a_body_too_large_is_refused_without_a_server_error(client, settings):
    settings.NOTIFICATIONS_MAX_BYTES = 1024
    response = post(client, {"data.id": "ORD1", "type": "order"}, b"x" * 2048)
    assert response.status_code == 413
    row = Notification.objects.get()
    assert (row.status, row.body, row.body_size) == (S.REJECTED, "", 2048)
