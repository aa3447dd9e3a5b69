"""Each time comes from its own field (issue 15, point 7): a payment's approval time is the one
Mercado Pago gives for that payment, never moved by a later refund; the order's ``paid_at`` is that
time; a legacy refund's time is the one Mercado Pago gives for that refund.

Time is moved with time-machine: the sandbox, in-process, stamps what it does with the same clock.
"""

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from orders import services
from orders.models import Payment, Refund
from orders.validation import ItemInput
from sandbox.seed import seller_access_token
from tenants.scope import tenant_scope
from tests.orders.conftest import pay, reload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

APIS = ["instore", "v1"]


@pytest.fixture
def clock():
    """Time stands still at a whole second (as Mercado Pago writes its dates) until moved."""
    with time_machine.travel(timezone.now().replace(microsecond=0), tick=False) as traveller:
        yield traveller


def create(seller, pos, api: str):
    return services.create_order(
        tenant=seller,
        pos=pos,
        api=api,
        mode="dynamic",
        external_reference=f"times-{api}",
        title="Cena",
        items=[ItemInput("Bife", Decimal("50.00"), 2)],
    )


def refund_in_mercado_pago(client, order, payment_id: str, amount: str) -> None:
    """A refund made by the seller in Mercado Pago itself, not through the platform."""
    auth = {
        "HTTP_AUTHORIZATION": f"Bearer {seller_access_token(order.tenant.site)}",
        "HTTP_X_IDEMPOTENCY_KEY": str(uuid.uuid4()),
    }
    if order.api == "v1":
        path = f"/sandbox/v1/orders/{order.mp_order_id}/refund"
        body = {"transactions": [{"id": payment_id, "amount": amount}]}
    else:
        path, body = f"/sandbox/v1/payments/{payment_id}/refunds", {"amount": float(amount)}
    made = client.post(path, json.dumps(body), content_type="application/json", **auth)
    assert made.status_code == 201, made.content


def payment_of(order) -> Payment:
    with tenant_scope(order.tenant):
        return Payment.objects.get(order=order)


def test_a_later_refund_never_moves_the_approval_time(seller, pos, client, clock):
    """An Orders API order's last update moves with its refund; its payment's approval does not.
    (The legacy API reads the approval date of each payment: test below.)"""
    paid_at = timezone.now()
    order = create(seller, pos, "v1")
    pay(client, order)
    order = services.refresh_order(tenant=seller, order=order)

    clock.shift(timedelta(hours=1))
    refunded_at = timezone.now()
    [refund] = services.refund_order(tenant=seller, order=order, amount=Decimal("10.00"))
    clock.shift(timedelta(hours=1))
    order = services.refresh_order(tenant=seller, order=order)

    assert payment_of(order).approved_at == paid_at
    assert order.paid_at == paid_at
    refund.refresh_from_db()
    assert refund.processed_at == refunded_at


@pytest.mark.parametrize("api", APIS)
def test_a_payment_first_seen_after_a_refund_keeps_its_own_times(seller, pos, client, clock, api):
    """Its notification lost, the paid order is first read after a refund made in Mercado Pago:
    the approval time is still the payment's, and the order was paid then, not when read."""
    paid_at = timezone.now()
    order = create(seller, pos, api)
    wallet = pay(client, order)

    clock.shift(timedelta(hours=1))
    refunded_at = timezone.now()
    payment_id = wallet["transaction_id"] if api == "v1" else str(wallet["payment_id"])
    refund_in_mercado_pago(client, order, payment_id, "10.00")
    clock.shift(timedelta(hours=1))
    seen_at = timezone.now()
    order = services.refresh_order(tenant=seller, order=order)

    payment = payment_of(order)
    assert (payment.approved_at, order.paid_at) == (paid_at, paid_at)
    assert payment.refunded_amount == Decimal("10.00")
    with tenant_scope(seller):
        refund = Refund.objects.get(order=order)
    # The Orders API gives a refund no date: its time is when the platform saw it made.
    assert refund.processed_at == (seen_at if api == "v1" else refunded_at)
    assert reload(order).paid_at == paid_at
