"""Refund events for partners: ``refund.created`` when a refund is recorded (asked for here, or
found in Mercado Pago), ``refund.succeeded`` and ``refund.failed`` when it settles, and
``order.partially_refunded`` when a processed refund leaves the order not wholly refunded (a
whole one is ``order.refunded``); each with the refund and its order as the API shows them,
written with the change. Against the sandbox in-process."""

from decimal import Decimal

import pytest

from orders import services
from partners.models import Event
from sandbox import lifecycle
from sandbox import models as sandbox_models
from tenants.scope import tenant_scope
from tests.api.paid_orders import local, paid, post
from tests.faults import set_faults
from tests.orders.test_refund_processing import settle

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

REFUNDS = "/api/v1/refunds"


def events_since(seller, last: int = 0) -> list[Event]:
    with tenant_scope(seller):
        return list(Event.objects.filter(pk__gt=last).order_by("pk"))


def last_event(seller) -> int:
    with tenant_scope(seller):
        return Event.objects.order_by("pk").values_list("pk", flat=True).last() or 0


@pytest.mark.parametrize("api", ["v1", "instore"])
def test_a_partial_then_a_whole_refund(partner, seller, pos, client, api):
    order = paid(partner, seller, pos, client, api=api)
    before = last_event(seller)

    partial = post(partner, REFUNDS, {"order": order["uid"], "amount": "40.00"}).json()
    middle = last_event(seller)
    whole = post(partner, REFUNDS, {"order": order["uid"]}).json()

    second = events_since(seller, middle)
    first = [event for event in events_since(seller, before) if event.pk <= middle]
    assert [e.type for e in first] == [
        "refund.created",
        "refund.succeeded",
        "order.partially_refunded",
    ]
    assert [e.type for e in second] == ["refund.created", "refund.succeeded", "order.refunded"]
    created, succeeded, partially = first
    assert created.data["refund"]["id"] == succeeded.data["refund"]["id"] == partial["id"]
    assert (created.data["refund"]["status"], succeeded.data["refund"]["status"]) == (
        "pending",
        "processed",
    )
    assert succeeded.data["order"]["uid"] == partially.data["order"]["uid"] == order["uid"]
    assert partially.data["order"]["refunded_amount"] == "40.00"
    assert partially.data["refund"]["amount"] == "40.00"
    assert second[1].data["refund"]["id"] == whole["id"]
    assert second[2].data["order"]["status"] == "refunded"


def test_a_refund_in_process_succeeds_when_it_settles(partner, seller, pos, client):
    order = paid(partner, seller, pos, client)
    set_faults(client, refund_outcome="pending")
    before = last_event(seller)

    made = post(partner, REFUNDS, {"order": order["uid"], "amount": "30.00"}).json()
    asked = last_event(seller)
    settle(client, "approved")
    services.refresh_order(tenant=seller, order=local(seller, order["uid"]))

    assert [e.type for e in events_since(seller, before)] == [
        "refund.created",
        "refund.succeeded",
        "order.partially_refunded",
    ]
    assert events_since(seller, before)[0].pk == asked  # only refund.created until it settled
    assert events_since(seller, asked)[0].data["refund"]["id"] == made["id"]


def test_a_refund_rejected_by_mercado_pago_later_fails(partner, seller, pos, client):
    order = paid(partner, seller, pos, client)
    set_faults(client, refund_outcome="pending")
    made = post(partner, REFUNDS, {"order": order["uid"], "amount": "30.00"}).json()
    asked = last_event(seller)

    settle(client, "rejected")
    services.refresh_order(tenant=seller, order=local(seller, order["uid"]))

    (failed,) = events_since(seller, asked)
    assert failed.type == "refund.failed"
    assert (failed.data["refund"]["id"], failed.data["refund"]["status"]) == (made["id"], "failed")
    assert failed.data["order"]["amount_available_for_refund"] == "100.00"


def test_a_refund_mercado_pago_refuses_at_once_fails(partner, seller, pos, client):
    order = paid(partner, seller, pos, client)
    set_faults(client, error_rate=1, error_statuses=[400], path_regex="/refund")
    before = last_event(seller)

    refused = post(partner, REFUNDS, {"order": order["uid"], "amount": "30.00"})

    assert refused.status_code == 422
    created, failed = events_since(seller, before)
    assert (created.type, failed.type) == ("refund.created", "refund.failed")
    assert failed.data["refund"]["status"] == "failed"
    assert failed.data["refund"]["error_code"] == "bad_request"
    assert failed.data["refund"]["id"] == created.data["refund"]["id"]


def test_a_refund_made_elsewhere_is_created_and_succeeds(partner, seller, pos, client):
    order = paid(partner, seller, pos, client, api="instore")
    lifecycle.refund_payment(sandbox_models.Payment.objects.get(), Decimal("10.00"))
    settle(client, "approved")
    before = last_event(seller)

    services.refresh_order(tenant=seller, order=local(seller, order["uid"]))

    events = events_since(seller, before)
    assert [e.type for e in events] == [
        "refund.created",
        "refund.succeeded",
        "order.partially_refunded",
    ]
    assert events[0].data["refund"]["amount"] == "10.00"
    assert events[0].data["refund"]["mercadopago_refund_id"]
