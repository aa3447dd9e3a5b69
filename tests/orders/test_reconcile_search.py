"""Reconciliation finds, by Mercado Pago's order search (``GET /v1/orders`` by
``external_reference`` and dates), the Orders API orders whose create answer was lost, and adopts
them instead of sending them twice or failing them; over a real socket, since a lost answer needs
one (the sandbox makes the order, then withholds its answer past the client's timeout)."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from orders import tasks
from orders.models import Order
from sandbox import models as mercadopago
from tenants.scope import tenant_scope
from tests.faults import seed_where, set_faults, timed_out
from tests.orders.conftest import pay, reload
from tests.orders.test_end_to_end import ITEMS, TOTAL, create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]


@pytest.fixture
def over_a_socket(pos, live_server, settings):
    """The platform calls the sandbox on the live server with a 1 s read timeout and no retry of
    its own (once the POS is synced, in-process); reconciliation acts on every open order."""
    settings.SITE_URL = live_server.url
    settings.MERCADOPAGO_HTTP_TRANSPORT = ""
    settings.MERCADOPAGO_TIMEOUT = 1.0
    settings.MERCADOPAGO_MAX_RETRIES = 0
    settings.ORDERS_RECONCILE_AFTER = 0
    return live_server


def attempts(order: Order, method: str) -> list[tuple[int | None, str]]:
    """``(status, error)`` of each call of ``order`` to ``/v1/orders`` with ``method``."""
    with tenant_scope(order.tenant):
        calls = order.calls.filter(method=method, path="/v1/orders").order_by("pk")
        return list(calls.values_list("status", "error"))


def lose_the_create_answer(client) -> None:
    """The create reaches the sandbox, which makes the order and withholds the answer; every
    later call to ``/v1/orders`` fails (most at once with a 503) until the faults are lifted."""
    rates = {"timeout_rate": Decimal(1), "error_rate": Decimal("0.9"), "error_statuses": [503]}
    seed = seed_where([timed_out], **rates)
    set_faults(
        client,
        seed=seed,
        path_regex="^/v1/orders$",
        timeout_seconds=2,
        webhook_drop_rate=1,  # no webhook tells the platform: only reconciliation can
        **rates,
    )


def lift_faults(client) -> None:
    set_faults(client, webhook_drop_rate=1)


def test_a_paid_order_whose_create_answer_was_lost_is_found_and_adopted_past_its_expiry(
    over_a_socket, client, seller, pos
):
    lose_the_create_answer(client)
    order = create(seller, pos, "v1", "static", external_reference="lost-answer")
    assert (reload(order).status, reload(order).mp_order_id) == ("pending", "")
    made = mercadopago.Order.objects.get(external_reference="lost-answer")
    lift_faults(client)
    pay(client, order)  # the buyer pays at the POS's printed QR, which shows the order

    with time_machine.travel(timezone.now() + timedelta(minutes=30)):
        tasks.reconcile_orders.delay()

    order = reload(order)
    assert (order.status, order.mp_order_id) == ("processed", made.order_id)
    assert (order.error_code, order.error_message) == ("", "")
    with tenant_scope(seller):
        assert order.payments.get().paid_amount == TOTAL
    assert mercadopago.Order.objects.filter(external_reference="lost-answer").count() == 1
    assert attempts(order, "POST") == [(None, "ReadTimeout")]  # never sent twice
    assert (200, "") in attempts(order, "GET")  # the search that found it


def test_an_unpaid_order_whose_create_answer_was_lost_is_adopted_within_its_time(
    over_a_socket, client, seller, pos
):
    lose_the_create_answer(client)
    order = create(seller, pos, "v1", "dynamic", external_reference="lost-dynamic")
    lift_faults(client)

    tasks.reconcile_orders.delay()

    order = reload(order)
    made = mercadopago.Order.objects.get(external_reference="lost-dynamic")
    assert (order.status, order.mp_order_id, order.qr_data) == (
        "created",
        made.order_id,
        made.qr_data,
    )
    assert attempts(order, "POST") == [(None, "ReadTimeout")]
    assert mercadopago.Order.objects.filter(external_reference="lost-dynamic").count() == 1


@pytest.fixture
def unreachable(over_a_socket, settings):
    """Mercado Pago cannot be reached at all (nothing listens): a create never arrives."""
    settings.SITE_URL = "http://127.0.0.1:9"
    return over_a_socket


def test_an_order_mercado_pago_never_got_is_looked_for_then_failed_past_its_expiry(
    unreachable, client, seller, pos, settings
):
    order = create(seller, pos, "v1", "static", external_reference="never-arrived")
    assert reload(order).status == "pending"
    settings.SITE_URL = unreachable.url

    with time_machine.travel(timezone.now() + timedelta(minutes=30)):
        tasks.reconcile_orders.delay()

    order = reload(order)
    assert (order.status, order.error_code) == ("failed", "expired_before_accepted")
    assert (200, "") in attempts(order, "GET")  # looked for before it was failed
    assert [status for status, _error in attempts(order, "POST")] == [None]
    assert not mercadopago.Order.objects.filter(external_reference="never-arrived").exists()


def test_an_order_mercado_pago_never_got_is_sent_again_within_its_time(
    unreachable, client, seller, pos, settings
):
    order = create(seller, pos, "v1", "dynamic", external_reference="sent-again")
    settings.SITE_URL = unreachable.url

    tasks.reconcile_orders.delay()

    order = reload(order)
    made = mercadopago.Order.objects.get(external_reference="sent-again")
    assert (order.status, order.mp_order_id) == ("created", made.order_id)
    assert (200, "") in attempts(order, "GET")
    assert [status for status, _error in attempts(order, "POST")] == [None, 201]
    assert made.total_amount == sum((item.unit_price * item.quantity for item in ITEMS), Decimal(0))
