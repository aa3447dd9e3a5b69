"""Orders end to end, against the sandbox over HTTP, with a real Celery worker.

Each test runs the whole path: the platform creates the order in the sandbox, the buyer pays in
the sandbox's wallet, the sandbox delivers its signed webhook (Orders API) or its IPN (legacy
API) over a socket to the platform's live server, the webhook view stores it and queues a task,
and a Celery worker thread re-fetches the order and applies it. The worker also runs the
sandbox's own delivery tasks, so notifications arrive in whatever order the faults make.
"""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from orders import services, tasks
from orders.errors import MercadoPagoUnavailable, NotAllowed
from orders.models import Notification, Order
from orders.validation import ItemInput
from sandbox import models as mercadopago
from sandbox.lifecycle import expire_due
from tenants.scope import tenant_scope
from tests.faults import clean, seed_where, set_faults, timed_out
from tests.orders.conftest import pay, reload

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

COMBINATIONS = [
    (api, mode) for api in ("v1", "instore") for mode in ("dynamic", "hybrid", "static")
]
CANCELABLE = [combination for combination in COMBINATIONS if combination != ("instore", "dynamic")]
ITEMS = [ItemInput("Bife de chorizo", Decimal("60.00"), 2), ItemInput("Agua", Decimal("5.00"))]
TOTAL = Decimal("125.00")


@pytest.fixture
def notified(live_server, settings, client):
    """The sandbox notifies this platform's live server: webhooks to the application's URL, and
    legacy IPN to the URL each order names (built from ``SITE_URL``)."""
    settings.SITE_URL = live_server.url
    answer = client.put(
        "/sandbox/_control/application",
        {"webhook_url": f"{live_server.url}/webhooks/mercadopago/"},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    return live_server


def create(seller, pos, api: str, mode: str, **fields) -> Order:
    return services.create_order(
        tenant=seller,
        pos=pos,
        api=api,
        mode=mode,
        external_reference=fields.pop("external_reference", f"sale-{api}-{mode}"),
        title="Mesa 4",
        items=ITEMS,
        **fields,
    )


def remote(order: Order) -> mercadopago.Order:
    """The sandbox's own row of ``order``: what Mercado Pago knows now (the sandbox applies
    expiry when an order is read, as Mercado Pago does all along)."""
    expire_due()
    return mercadopago.Order.objects.get(
        account__user_id=order.tenant.mp_user_id, external_reference=order.external_reference
    )


def status_is(order: Order, status: str):
    def condition() -> bool:
        return reload(order).status == status

    condition.__doc__ = f"order {order.external_reference} is {status}"
    return condition


def notifications_settled() -> bool:
    """every notification the sandbox sent has been delivered and processed"""
    unsent = mercadopago.Delivery.objects.filter(status=mercadopago.Delivery.Status.PENDING)
    open_rows = Notification.objects.filter(
        status__in=(Notification.Status.RECEIVED, Notification.Status.QUEUED)
    )
    return not unsent.exists() and not open_rows.exists()


@pytest.mark.parametrize(("api", "mode"), COMBINATIONS)
def test_a_paid_order_is_processed_and_refunded_in_part_then_in_full(
    notified, real_worker, client, seller, pos, api, mode
):
    order = create(seller, pos, api, mode)
    assert order.status == "created"
    assert bool(order.qr_data) == (mode != "static")

    pay(client, order)
    real_worker.wait_until(status_is(order, "processed"))
    # The order turns processed before its notification row is marked (and the legacy API
    # sends two IPN): wait for them all.
    real_worker.wait_until(notifications_settled)

    with tenant_scope(seller):
        order = Order.objects.get(pk=order.pk)
        payment = order.payments.get()
        processed = order.notifications.filter(status=Notification.Status.PROCESSED)
        kinds = set(processed.values_list("kind", flat=True))
    assert (payment.paid_amount, payment.refunded_amount) == (TOTAL, 0)
    assert payment.amount_available_for_refund == TOTAL
    assert order.paid_at is not None
    # The Orders API notifies with a signed webhook; the legacy API with IPN.
    assert kinds == {"webhook" if api == "v1" else "ipn"}

    [partial] = services.refund_order(tenant=seller, order=order, amount=Decimal("40.00"))
    assert (partial.status, partial.amount) == ("processed", Decimal("40.00"))
    order = reload(order)
    assert (order.status, order.status_detail) == ("processed", "partially_refunded")
    with tenant_scope(seller):
        assert order.payments.get().amount_available_for_refund == Decimal("85.00")

    [rest] = services.refund_order(tenant=seller, order=order)
    assert (rest.status, rest.amount) == ("processed", Decimal("85.00"))
    real_worker.wait_until(notifications_settled)

    order = reload(order)
    assert order.status == "refunded"
    assert remote(order).status == "refunded"
    with tenant_scope(seller):
        payment = order.payments.get()
        assert (payment.paid_amount, payment.refunded_amount) == (TOTAL, TOTAL)
        assert payment.amount_available_for_refund == 0
        assert sorted(order.refunds.values_list("amount", "status")) == [
            (Decimal("40.00"), "processed"),
            (Decimal("85.00"), "processed"),
        ]
        assert order.refunds.exclude(mp_refund_id="").count() == 2


@pytest.mark.parametrize(("api", "mode"), CANCELABLE)
def test_an_order_waiting_for_payment_is_canceled_here_and_in_mercado_pago(
    notified, real_worker, client, seller, pos, api, mode
):
    order = create(seller, pos, api, mode)

    order = services.cancel_order(tenant=seller, order=order)

    assert order.status == "canceled"
    assert remote(order).status == "canceled"
    real_worker.wait_until(notifications_settled)
    assert reload(order).status == "canceled"
    buyer = client.post(
        "/sandbox/wallet/pay",
        json.dumps({"qr_data": order.qr_data} if order.qr_data else wallet_pos(order)),
        content_type="application/json",
    )
    assert buyer.status_code in (404, 409)  # nothing left to pay


def wallet_pos(order: Order) -> dict:
    return {"user_id": order.tenant.mp_user_id, "external_pos_id": order.pos.external_id}


def test_a_legacy_dynamic_qr_cannot_be_canceled_and_the_error_says_why(notified, seller, pos):
    order = create(seller, pos, "instore", "dynamic")

    with pytest.raises(NotAllowed) as refused:
        services.cancel_order(tenant=seller, order=order)

    assert refused.value.code == "legacy_dynamic_order_cannot_be_deleted"
    assert "cannot be deleted in Mercado Pago" in refused.value.message
    assert "until it expires" in refused.value.message
    assert reload(order).status == "created"


@pytest.mark.parametrize(("api", "mode"), COMBINATIONS)
def test_an_unpaid_order_expires_here_as_mercado_pago_reports(
    notified, real_worker, client, seller, pos, api, mode
):
    order = create(seller, pos, api, mode, expiration_time=timedelta(seconds=30))

    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=True):
        tasks.expire_orders.delay()
        real_worker.wait_until(status_is(order, "expired"))
        real_worker.wait_until(notifications_settled)
        assert remote(order).status == "expired"
        assert reload(order).status == "expired"


def test_duplicated_and_reordered_notifications_leave_every_order_right(
    notified, real_worker, client, seller, pos
):
    set_faults(client, seed=5, webhook_duplicate_rate="0.5", webhook_reorder_rate="0.5")
    orders = []
    for api, mode in COMBINATIONS:
        order = create(seller, pos, api, mode, external_reference=f"faulty-{api}-{mode}")
        pay(client, order)
        orders.append(order)
    deliver_held_notifications(client, real_worker)
    for order in orders:
        real_worker.wait_until(status_is(order, "processed"))
    for order in orders[::2]:
        services.refund_order(tenant=seller, order=order, amount=Decimal("25.00"))
    for order in orders[1::2]:
        services.refund_order(tenant=seller, order=order)
    deliver_held_notifications(client, real_worker)

    real_worker.wait_until(notifications_settled)

    faults = mercadopago.Delivery.objects.values_list("fault", flat=True)
    assert {"duplicate", "reordered"} <= set(faults)
    for order in orders:
        assert reload(order).status == remote(order).status, order.external_reference
    assert [reload(order).status for order in orders] == ["processed", "refunded"] * 3


def every_event_scheduled() -> bool:
    """the sandbox has scheduled (or dropped) the delivery of every notification"""
    return not mercadopago.Event.objects.filter(deliveries__isnull=True).exists()


def deliver_held_notifications(client, worker) -> None:
    """Send the notifications held back for reordering: they go out once a later one has, or
    after a minute; this lets the sandbox's clock run two minutes ahead."""
    worker.wait_until(every_event_scheduled)
    later = (timezone.now() + timedelta(minutes=2)).isoformat()
    ran = client.post("/sandbox/_control/deliveries/run", {"now": later}, "application/json")
    assert ran.status_code == 200, ran.content


def test_with_every_notification_dropped_reconciliation_alone_gets_paid_orders_processed(
    notified, real_worker, client, settings, seller, pos
):
    set_faults(client, webhook_drop_rate="1")
    orders = []
    for api, mode in COMBINATIONS:
        order = create(seller, pos, api, mode, external_reference=f"dropped-{api}-{mode}")
        pay(client, order)
        orders.append(order)
    real_worker.wait_until(notifications_settled)
    assert not Notification.objects.exists()
    assert all(reload(order).status == "created" for order in orders)

    settings.ORDERS_RECONCILE_AFTER = 0
    tasks.reconcile_orders.delay()

    for order in orders:
        real_worker.wait_until(status_is(order, "processed"))
        with tenant_scope(seller):
            assert reload(order).payments.get().paid_amount == TOTAL


# A create retried after a timeout: over a real socket, since a timeout needs one ---------------


@pytest.fixture
def over_a_socket(pos, live_server, settings):
    """The platform calls the sandbox on the live server with a 1 s read timeout (once the POS
    is synced, in-process)."""
    settings.SITE_URL = live_server.url
    settings.MERCADOPAGO_HTTP_TRANSPORT = ""
    settings.MERCADOPAGO_TIMEOUT = 1.0


REPEATABLE = {"v1": "^/v1/orders$", "instore": "^/instore/"}


@pytest.mark.parametrize(("api", "mode"), CANCELABLE)
def test_a_create_retried_after_a_timeout_makes_exactly_one_order(
    over_a_socket, client, seller, pos, api, mode
):
    rates = {"timeout_rate": Decimal("0.5"), "error_rate": Decimal(0)}
    seed = seed_where([timed_out, clean], **rates)
    set_faults(client, seed=seed, path_regex=REPEATABLE[api], timeout_seconds=2, **rates)

    order = create(seller, pos, api, mode)

    assert order.status == "created"
    assert (
        mercadopago.Order.objects.filter(external_reference=order.external_reference).count() == 1
    )
    with tenant_scope(seller):
        attempts = list(order.calls.order_by("pk").values_list("attempt", "status", "error"))
    answered = 204 if (api, mode) == ("instore", "static") else 201
    assert attempts[:2] == [(1, None, "ReadTimeout"), (2, answered, "")]


def test_a_legacy_dynamic_create_whose_answer_never_came_is_not_sent_twice(
    over_a_socket, client, seller, pos
):
    set_faults(client, timeout_rate=1, error_rate=0, path_regex="^/instore/", timeout_seconds=2)

    with pytest.raises(MercadoPagoUnavailable, match="cannot be sent twice safely"):
        create(seller, pos, "instore", "dynamic")

    with tenant_scope(seller):
        order = Order.objects.get(external_reference="sale-instore-dynamic")
        assert order.calls.count() == 1
    assert (order.status, order.error_code) == ("failed", "mercadopago_no_answer")
    assert mercadopago.Order.objects.count() == 1  # made by the one request, which is never resent
