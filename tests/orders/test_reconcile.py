"""What beat reconciles and expires, across sellers, and how often the settings say."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from orders import services
from orders.models import Order, Refund
from tenants.scope import cross_tenant_scope
from tests.factories import make_order, make_payment, make_tenant

pytestmark = pytest.mark.django_db


def aged(order: Order, seconds: int) -> Order:
    """``order`` as if nothing had happened to it for ``seconds``."""
    with cross_tenant_scope():
        Order.objects.filter(pk=order.pk).update(
            updated_at=timezone.now() - timedelta(seconds=seconds)
        )
    return order


def test_open_orders_without_news_are_reconciled_across_sellers(settings):
    settings.ORDERS_RECONCILE_AFTER = 300
    seller_a, seller_b = make_tenant(site="MLA"), make_tenant(site="MLB")
    overdue_a = aged(make_order(seller_a, status="created"), 301)
    overdue_b = aged(make_order(seller_b, status="pending"), 600)
    aged(make_order(seller_a, status="created"), 10)  # news came recently
    aged(make_order(seller_a, status="processed"), 900)  # closed
    aged(make_order(seller_b, status="expired"), 900)
    refunding = make_payment(seller_b).order
    with cross_tenant_scope():
        Refund.objects.create(
            tenant=seller_b, order=refunding, payment=refunding.payments.get(), amount=Decimal(1)
        )

    rows = services.orders_to_reconcile(now=timezone.now())

    assert rows == [
        (seller_a.pk, overdue_a.pk),
        (seller_b.pk, overdue_b.pk),
        (seller_b.pk, refunding.pk),
    ]


def test_only_open_orders_past_their_expiry_are_expired():
    seller = make_tenant()
    now = timezone.now()
    due = make_order(seller, status="created", expires_at=now - timedelta(seconds=1))
    make_order(seller, status="created", expires_at=now + timedelta(minutes=5))
    make_order(seller, status="processed", expires_at=now - timedelta(minutes=5))

    assert services.orders_past_expiry(now=now) == [(seller.pk, due.pk)]


def test_beat_runs_reconciliation_and_expiry_as_often_as_the_settings_say():
    schedule = settings.CELERY_BEAT_SCHEDULE

    assert schedule["orders-reconcile"] == {
        "task": "orders.reconcile_orders",
        "schedule": settings.ORDERS_RECONCILE_INTERVAL,
    }
    assert schedule["orders-expire"] == {
        "task": "orders.expire_orders",
        "schedule": settings.ORDERS_EXPIRE_INTERVAL,
    }
