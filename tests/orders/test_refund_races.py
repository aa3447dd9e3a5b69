"""Money under concurrency (issue 15, point 6): refunds of one order are serialised, what Mercado
Pago answers is merged only upwards and matched by its ids, and a refresh heals local totals.

The race tests run ten refunds at once from real threads, each with its own database connection,
against the sandbox in-process; they need PostgreSQL (SQLite has one writer at a time). The heal
test runs on every database.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from orders import services
from orders.errors import InvalidOrder, NotAllowed, OrderError
from orders.models import Order, Payment, Refund
from sandbox.seed import seller_access_token
from tenants.scope import tenant_scope
from tests.factories import make_connected_tenant
from tests.orders.conftest import synced_pos
from tests.orders.test_refunds import paid_order

pytestmark = pytest.mark.usefixtures("eager_celery")

APIS = ["instore", "v1"]
PARALLEL = 10
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="parallel writers need PostgreSQL"
)


def sandbox_refunds(client, order: Order) -> tuple[Decimal, Decimal, set[str]]:
    """What Mercado Pago says, read over HTTP from the sandbox's API: paid, refunded, and the ids
    of the refunds of ``order``'s payment."""
    auth = {"HTTP_AUTHORIZATION": f"Bearer {seller_access_token(order.tenant.site)}"}
    if order.api == "v1":
        answer = client.get(f"/sandbox/v1/orders/{order.mp_order_id}", **auth)
        assert answer.status_code == 200, answer.content
        body = answer.json()
        [payment] = body["transactions"]["payments"]
        refunds = body["transactions"].get("refunds", [])
        return (
            Decimal(payment["paid_amount"]),
            Decimal(payment["refunded_amount"]),
            {refund["id"] for refund in refunds},
        )
    with tenant_scope(order.tenant):
        mp_payment_id = Payment.objects.get(order=order).mp_payment_id
    answer = client.get(f"/sandbox/v1/payments/{mp_payment_id}", **auth)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    return (
        Decimal(str(body["transaction_amount"])),
        Decimal(str(body["transaction_amount_refunded"])),
        {str(refund["id"]) for refund in body["refunds"]},
    )


def refund_at_once(seller, order: Order, amount: Decimal, times: int) -> list:
    """``times`` refunds of ``amount`` asked for at the same moment from as many threads; what
    each got: its refunds, or the error it raised."""
    start = threading.Barrier(times, timeout=60)

    def refund() -> list[Refund] | OrderError:
        try:
            start.wait()
            return services.refund_order(tenant=seller, order=order, amount=amount)
        except OrderError as error:
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=times) as pool:
        return list(pool.map(lambda _: refund(), range(times)))


@pytest.fixture
def shop(transactional_db):
    seller = make_connected_tenant("Parrilla", site="MLA")
    return seller, synced_pos(seller)


@needs_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("api", APIS)
def test_parallel_partial_refunds_keep_the_totals_of_mercado_pago(shop, client, api):
    seller, pos = shop
    order = paid_order(seller, pos, client, api)

    outcomes = refund_at_once(seller, order, Decimal("15.00"), PARALLEL)

    made = [refund for outcome in outcomes if isinstance(outcome, list) for refund in outcome]
    assert made, outcomes
    assert {refund.status for refund in made} == {"processed"}
    for error in (outcome for outcome in outcomes if isinstance(outcome, OrderError)):
        # None waited: each was told that another refund was being made.
        assert (type(error), error.code) == (NotAllowed, "refund_in_progress"), error
    assert_local_money_is_mercado_pagos(client, order)

    while True:  # then in turn, until Mercado Pago would refuse: each gets what is left
        try:
            services.refund_order(tenant=seller, order=order, amount=Decimal("15.00"))
        except InvalidOrder:
            break

    paid, refunded, mp_refund_ids = assert_local_money_is_mercado_pagos(client, order)
    assert (paid, refunded, len(mp_refund_ids)) == (100, 90, 6)
    with tenant_scope(seller):
        keys = Refund.objects.filter(order=order).values_list("idempotency_key", flat=True)
        assert len(set(keys)) == 6


def assert_local_money_is_mercado_pagos(client, order: Order) -> tuple[Decimal, Decimal, set]:
    """The order's local totals and refunds are Mercado Pago's (read from the sandbox's API)."""
    paid, refunded, mp_refund_ids = sandbox_refunds(client, order)
    with tenant_scope(order.tenant):
        order = Order.objects.get(pk=order.pk)
        local = list(Refund.objects.filter(order=order))
        assert (order.paid_amount, order.refunded_amount) == (paid, refunded)
        assert order.amount_available_for_refund == paid - refunded
    assert {r.mp_refund_id for r in local if r.status == "processed"} == mp_refund_ids
    assert sum(r.amount for r in local if r.status == "processed") == refunded
    assert [r for r in local if r.status == "pending"] == []
    return paid, refunded, mp_refund_ids


def corrupt(order: Order, **refund_fields) -> None:
    """Make the order's last update newer than anything Mercado Pago says of it, its payment's
    refunded total lag Mercado Pago's, and give its refunds ``refund_fields``."""
    with tenant_scope(order.tenant):
        Order.objects.filter(pk=order.pk).update(mp_last_updated=timezone.now() + timedelta(days=1))
        Payment.objects.filter(order=order).update(refunded_amount=0)
        Refund.objects.filter(order=order).update(**refund_fields)


@pytest.mark.django_db
@pytest.mark.parametrize("api", APIS)
def test_a_refresh_heals_totals_that_lag_mercado_pago(seller, pos, client, api):
    order = paid_order(seller, pos, client, api)
    services.refund_order(tenant=seller, order=order, amount=Decimal("30.00"))
    corrupt(order)

    order = services.refresh_order(tenant=seller, order=order)

    assert order.status == "processed"
    assert_local_money_is_mercado_pagos(client, order)
    with tenant_scope(seller):
        assert order.amount_available_for_refund == Decimal("70.00")


@pytest.mark.django_db
def test_a_refresh_completes_a_refund_left_pending_that_mercado_pago_made(seller, pos, client):
    """The answer to a refund was lost (the Orders API's idempotent replay of it is older than
    the order's last update): the refund Mercado Pago made is matched and completed."""
    order = paid_order(seller, pos, client, "v1")
    [refund] = services.refund_order(tenant=seller, order=order, amount=Decimal("30.00"))
    corrupt(order, status="pending", mp_refund_id="")

    order = services.refresh_order(tenant=seller, order=order)

    assert_local_money_is_mercado_pagos(client, order)
    with tenant_scope(seller):
        assert Refund.objects.get().pk == refund.pk
