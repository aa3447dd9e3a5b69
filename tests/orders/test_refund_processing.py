"""Refunds that Mercado Pago answers in process (``processing``, ``in_process``) and completes
later, on both APIs, against the sandbox in-process.

A refund Mercado Pago has made but not completed stays ``pending`` with its Mercado Pago id: it
is not counted as refunded money, its amount stays reserved (not refundable twice), and it is
completed by the notification Mercado Pago sends when it completes it, or by a refresh or the
reconciliation without any notification. One that fails is ``failed`` and its amount is
refundable again. The sandbox's fault setting ``refund_outcome`` keeps refunds in process or
rejects them; ``/sandbox/_control/refunds/settle`` completes them now.
"""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from orders import services
from orders.models import Api, Refund
from sandbox.models import Event
from tenants.roles import Role
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.faults import set_faults
from tests.orders.conftest import reload
from tests.orders.test_order_admin_actions import member
from tests.orders.test_refunds import paid_order, payment_of
from tests.orders.test_webhooks import deliver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

APIS = [Api.V1, Api.INSTORE]


def settle(client, outcome: str = "approved") -> list[int]:
    """The sandbox completes every refund in process now; the ids of those it completed."""
    answer = client.post(
        "/sandbox/_control/refunds/settle", {"outcome": outcome}, content_type="application/json"
    )
    assert answer.status_code == 200, answer.content
    return answer.json()["settled"]


def in_process(seller, pos, client, api: str, amount: str = "30.00"):
    """A paid order of 100.00 with a refund of ``amount`` that Mercado Pago keeps in process."""
    order = paid_order(seller, pos, client, api)
    set_faults(client, refund_outcome="pending")
    [refund] = services.refund_order(tenant=seller, order=order, amount=Decimal(amount))
    return reload(order), refund


def notification_of_the_refund(order) -> Event:
    """What the sandbox sends when it completes the refund: the order's webhook (Orders API)
    or the payment's IPN (legacy)."""
    if order.api == Api.V1:
        return Event.objects.filter(kind=Event.Kind.WEBHOOK, resource_id=order.mp_order_id).latest(
            "pk"
        )
    return Event.objects.filter(kind=Event.Kind.IPN, topic="payment").latest("pk")


def partner_view(seller, order) -> dict:
    answer = api_client(issue_token(seller)).get(f"/api/v1/orders/{order.uid}")
    assert answer.status_code == 200, answer.content
    return answer.json()


@pytest.mark.parametrize("api", APIS)
def test_a_refund_in_process_is_shown_pending_and_not_counted_as_refunded(seller, pos, client, api):
    order, refund = in_process(seller, pos, client, api)

    assert refund.status == Refund.Status.PENDING
    assert refund.mp_refund_id  # Mercado Pago made it
    order = services.refresh_order(tenant=seller, order=order)  # still in process there
    with tenant_scope(seller):
        refund.refresh_from_db()
        assert refund.status == Refund.Status.PENDING
        assert (order.status, order.refunded_amount) == ("processed", Decimal("0.00"))
        assert payment_of(order).refunded_amount == Decimal("0.00")
        assert services.refundable_amount(order) == Decimal("70.00")  # reserved, not twice
    seen = partner_view(seller, order)
    assert seen["refunded_amount"] == "0.00"
    assert [
        (r["amount"], r["status"], bool(r["mercadopago_refund_id"])) for r in seen["refunds"]
    ] == [("30.00", "pending", True)]


@pytest.mark.parametrize("api", APIS)
def test_a_refund_in_process_is_completed_by_mercado_pagos_notification(
    seller, pos, client, committed, api
):
    order, refund = in_process(seller, pos, client, api, amount="100.00")
    set_faults(client)
    assert len(settle(client)) == 1

    with committed():
        assert deliver(client, notification_of_the_refund(order)).status_code == 200

    order = reload(order)
    with tenant_scope(seller):
        refund.refresh_from_db()
        assert (refund.status, refund.processed_at is not None) == (Refund.Status.PROCESSED, True)
        assert (order.status, order.refunded_amount) == ("refunded", Decimal("100.00"))
        assert services.refundable_amount(order) == 0


@pytest.mark.parametrize("api", APIS)
def test_a_refund_in_process_is_completed_by_reconciliation_without_a_notification(
    seller, pos, client, api
):
    order, refund = in_process(seller, pos, client, api)
    set_faults(client)
    settle(client)  # its notification never reaches the platform

    due = services.orders_to_reconcile(now=timezone.now())
    assert (seller.pk, order.pk) in due
    services.refresh_order(tenant=seller, order=order)  # what orders.reconcile_orders runs

    order = reload(order)
    with tenant_scope(seller):
        refund.refresh_from_db()
        assert refund.status == Refund.Status.PROCESSED
        assert (order.status, order.status_detail) == ("processed", "partially_refunded")
        assert order.refunded_amount == Decimal("30.00")
        assert services.refundable_amount(order) == Decimal("70.00")
    assert (seller.pk, order.pk) not in services.orders_to_reconcile(now=timezone.now())


@pytest.mark.parametrize("api", APIS)
def test_a_refund_mercado_pago_rejects_fails_and_its_amount_is_refundable_again(
    seller, pos, client, api
):
    order, refund = in_process(seller, pos, client, api)
    settle(client, outcome="rejected")

    order = services.refresh_order(tenant=seller, order=order)

    with tenant_scope(seller):
        refund.refresh_from_db()
        assert refund.status == Refund.Status.FAILED
        assert (order.status, order.refunded_amount) == ("processed", Decimal("0.00"))
        assert services.refundable_amount(order) == Decimal("100.00")
    assert partner_view(seller, order)["refunds"][0]["status"] == "failed"
    set_faults(client)
    [again] = services.refund_order(tenant=seller, order=order)
    assert (again.status, again.amount) == (Refund.Status.PROCESSED, Decimal("100.00"))
    assert reload(order).status == "refunded"


@pytest.mark.parametrize("api", APIS)
def test_a_refund_rejected_at_once_is_failed_by_its_notification(
    seller, pos, client, committed, api
):
    order = paid_order(seller, pos, client, api)
    set_faults(client, refund_outcome="rejected")
    [refund] = services.refund_order(tenant=seller, order=order, amount=Decimal("40.00"))

    with committed():
        assert deliver(client, notification_of_the_refund(reload(order))).status_code == 200

    with tenant_scope(seller):
        refund.refresh_from_db()
        assert refund.status == Refund.Status.FAILED
        assert services.refundable_amount(reload(order)) == Decimal("100.00")


def test_the_legacy_refresh_reads_a_made_refund_by_its_id(seller, pos, client):
    order, refund = in_process(seller, pos, client, Api.INSTORE)
    settle(client, outcome="rejected")

    services.refresh_order(tenant=seller, order=order)

    with tenant_scope(seller):
        paths = list(order.calls.filter(method="GET").values_list("path", flat=True))
    payment_id = payment_of(order).mp_payment_id
    assert f"/v1/payments/{payment_id}/refunds/{refund.mp_refund_id}" in paths


def test_the_order_admin_tells_a_refund_in_process_from_one_not_answered_yet(seller, pos, client):
    order, refund = in_process(seller, pos, client, Api.V1)
    client.force_login(member(seller, Role.VIEWER, language="en"))

    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert page.status_code == 200
    assert "Processing in Mercado Pago" in page.content.decode()
    with tenant_scope(seller):
        Refund.objects.filter(pk=refund.pk).update(mp_refund_id="")
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert "Waiting for Mercado Pago&#x27;s answer" in page.content.decode()
