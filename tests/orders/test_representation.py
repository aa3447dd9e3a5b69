"""``orders.representation`` builds exactly the JSON that DRF's field-by-field serialization of
``OrderSerializer``'s declared fields gives, for orders in every shape: so lists, creates and
webhooks could drop the ModelSerializer machinery without a client seeing a byte change."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework import serializers

from orders.api import OrderSerializer
from orders.models import Order, OrderItem, Refund
from orders.representation import order_json, with_lists
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.factories import make_connected_tenant, make_order, make_payment

pytestmark = pytest.mark.django_db


def drf_fields(order: Order, available: str) -> dict:
    """The order as DRF's ModelSerializer machinery serializes the declared fields, but for what
    is left to refund (``available``), which only the representation computes for an order."""
    shown = serializers.ModelSerializer.to_representation(OrderSerializer(), order)
    return {**shown, "amount_available_for_refund": available}


def shapes(tenant):
    """A pending order with nothing; a paid one with items, taxes, metadata, a fee, a cash-out
    and two payments, refunded in part (a processed, a pending and a failed refund); each with
    what is left to refund of it."""
    yield make_order(tenant), "0.00"
    paid = make_order(
        tenant,
        status="processed",
        total_amount=Decimal("1500.5"),
        cash_out_amount=Decimal("200"),
        marketplace_fee=Decimal("12.3"),
        taxes=[{"type": "IVA", "value": "19.00"}, {"value": "1.5"}],
        metadata={"table": "7", "waiter": "Ana"},
        qr_data="00020101021243650016COM.MERCADOLIBRE",
        mp_order_id="ORD01",
        paid_at=timezone.now(),
        closed_at=timezone.now() + timedelta(seconds=1),
    )
    with tenant_scope(tenant):
        for position, price in enumerate((Decimal("1000.25"), Decimal("250.125"))):
            OrderItem.objects.create(
                tenant=tenant,
                order=paid,
                position=position,
                title=f"Item {position}",
                unit_price=price,
                quantity=position + 1,
                sku="SKU",
            )
    first = make_payment(tenant, paid, amount=Decimal("1000"), paid_amount=Decimal("1000"))
    make_payment(
        tenant,
        paid,
        amount=Decimal("500.5"),
        paid_amount=Decimal("500.5"),
        refunded_amount=Decimal("100"),
        approved_at=timezone.now(),
        payment_method_id="visa",
        payment_method_type="credit_card",
    )
    with tenant_scope(tenant):
        for status, amount in (("processed", "100"), ("pending", "50.5"), ("failed", "9")):
            Refund.objects.create(
                tenant=tenant,
                order=paid,
                payment=first,
                amount=Decimal(amount),
                status=status,
                mp_refund_id="" if status == "pending" else f"R-{status}",
                processed_at=timezone.now() if status == "processed" else None,
                error_code="rejected" if status == "failed" else "",
            )
    yield paid, "1350.00"  # 1,500.50 paid, less 100 refunded, less the 50.50 pending


def test_the_plain_representation_is_drfs_to_the_byte(settings):
    tenant = make_connected_tenant()
    for order, available in shapes(tenant):
        with tenant_scope(tenant):
            fresh = with_lists(Order.objects.select_related("pos").get(pk=order.pk))
            expected = drf_fields(fresh, available)
            assert order_json(fresh) == expected
            assert OrderSerializer(fresh).data == expected


def test_datetimes_follow_the_current_time_zone_as_drf_does():
    tenant = make_connected_tenant()
    order = make_order(tenant)
    with tenant_scope(tenant), timezone.override("America/Argentina/Buenos_Aires"):
        fresh = with_lists(Order.objects.select_related("pos").get(pk=order.pk))
        shown = order_json(fresh)
        assert shown == drf_fields(fresh, "0.00")
        assert shown["created_at"].endswith("-03:00")


def test_a_page_of_the_list_read_as_rows_shows_each_order_as_drf_would():
    tenant = make_connected_tenant()
    expected = []
    for order, available in shapes(tenant):
        with tenant_scope(tenant):
            fresh = with_lists(Order.objects.select_related("pos").get(pk=order.pk))
            expected.insert(0, drf_fields(fresh, available))  # newest first

    listed = api_client(issue_token(tenant)).get("/api/v1/orders").json()["results"]

    assert listed == expected
