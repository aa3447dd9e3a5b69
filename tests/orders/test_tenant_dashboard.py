"""The seller's dashboard: today's takings per store and POS in the seller's time zone, open
orders, failed syncs and failed notifications, for one seller only (edge cases, query count and
access in test_dashboard.py)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

from orders.dashboard import local_day
from orders.models import Notification
from pos.models import SyncState
from tenants.scope import tenant_scope
from tests.factories import make_member, make_order, make_pos, make_store, make_tenant

pytestmark = pytest.mark.django_db

# 13:00 in Buenos Aires (UTC-3): its day began at 03:00 UTC.
NOW = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
TODAY = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)  # 00:30 in Buenos Aires
YESTERDAY = datetime(2026, 12, 2, 2, 30, tzinfo=UTC)  # 23:30 of Dec 1 in Buenos Aires


def paid(tenant, pos, amount: str, at: datetime = TODAY):
    return make_order(
        tenant, pos, status="processed", total_amount=Decimal(amount), paid_at=at, closed_at=at
    )


def failed_notification(tenant, detail="Mercado Pago answered 500"):
    return Notification.objects.create(
        kind=Notification.Kind.WEBHOOK,
        status=Notification.Status.FAILED,
        tenant=tenant,
        detail=detail,
    )


def failed(row, message):
    with tenant_scope(row.tenant):
        type(row).objects.filter(pk=row.pk).update(
            sync_state=SyncState.FAILED, sync_error_code="INVALID_NAME", sync_error_message=message
        )


def dashboard_of(client, user):
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        response = client.get("/admin/dashboard/")
    assert response.status_code == 200
    return response.context["dashboard"], response.text


def test_today_is_the_sellers_local_day():
    day, start, end = local_day(make_tenant(site="MLA"), NOW)

    assert str(day) == "2026-12-02"
    assert start == datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # midnight in Buenos Aires
    assert end == datetime(2026, 12, 3, 3, 0, tzinfo=UTC)


def test_the_dashboard_sums_todays_payments_per_store_and_pos(client, tenant_a):
    centro, norte = make_store(tenant_a, name="Centro"), make_store(tenant_a, name="Norte")
    caja1, caja2 = (
        make_pos(tenant_a, centro, name="Caja 1"),
        make_pos(tenant_a, centro, name="Caja 2"),
    )
    norte1 = make_pos(tenant_a, norte, name="Caja 1")
    paid(tenant_a, caja1, "100.10")
    paid(tenant_a, caja1, "200.20")
    paid(tenant_a, caja2, "0.01")
    paid(tenant_a, norte1, "50.00")
    paid(tenant_a, norte1, "999.00", at=YESTERDAY)  # yesterday in Buenos Aires, today in UTC
    make_order(tenant_a, norte1)  # open, not paid

    dashboard, page = dashboard_of(client, make_member(tenant_a, "viewer"))

    assert (dashboard.paid.count, dashboard.paid.total) == (4, Decimal("350.31"))
    assert [(r.name, r.count, r.total) for r in dashboard.by_store] == [
        ("Centro", 3, Decimal("300.31")),
        ("Norte", 1, Decimal("50.00")),
    ]
    assert [(r.name, r.count, r.total) for r in dashboard.by_pos] == [
        ("Centro · Caja 1", 2, Decimal("300.30")),
        ("Centro · Caja 2", 1, Decimal("0.01")),
        ("Norte · Caja 1", 1, Decimal("50.00")),
    ]
    assert dashboard.open_count == 1
    assert "ARS\u00a0350,31" in page  # in the viewer's locale (the seller's: es-AR)
    assert "ARS\u00a050,00" in page  # a whole sum keeps its cents


def test_open_orders_failed_syncs_and_notifications_are_listed_with_links(client, tenant_a):
    store = make_store(tenant_a, name="Centro")
    pos = make_pos(tenant_a, store, name="Caja 1")
    order = make_order(tenant_a, pos, external_reference="mesa-4")
    failed(store, "The name is too long")
    failed(pos, "The POS name is refused")
    notification = failed_notification(tenant_a)

    dashboard, page = dashboard_of(client, make_member(tenant_a, "cashier"))

    assert [o.pk for o in dashboard.open_orders] == [order.pk]
    assert f"/admin/orders/order/{order.pk}/change/" in page
    assert f"/admin/pos/store/{store.pk}/change/" in page
    assert "INVALID_NAME: The name is too long" in page
    assert f"/admin/pos/pointofsale/{pos.pk}/change/" in page
    assert dashboard.failed_notification_count == 1
    assert f"/admin/orders/notification/{notification.pk}/change/" in page


def test_another_sellers_figures_never_show(client, tenant_a, tenant_b):
    paid(tenant_a, make_pos(tenant_a), "10.00")
    other_pos = make_pos(tenant_b, name="Their POS")
    paid(tenant_b, other_pos, "777.00")
    make_order(tenant_b, other_pos, external_reference="their-open-order")
    failed(other_pos, "Their sync error")
    failed_notification(tenant_b, detail="Their notification")
    failed_notification(None, detail="Nobody-s notification")

    dashboard, page = dashboard_of(client, make_member(tenant_a, "owner"))

    assert (dashboard.paid.count, dashboard.paid.total) == (1, Decimal("10.00"))
    assert (dashboard.open_count, dashboard.failed_pos, dashboard.failed_notification_count) == (
        0,
        [],
        0,
    )
    theirs = ("777.00", "Their POS", "their-open-order", "Their sync error", "Their notification")
    for text in (*theirs, "Nobody-s notification"):
        assert text not in page


def test_the_header_links_to_the_dashboard(client, tenant_a):
    client.force_login(make_member(tenant_a, "viewer"))

    assert 'id="dashboard-link"' in client.get("/admin/").text


def test_platform_staff_pick_a_seller_first(client, django_user_model):
    staff = django_user_model.objects.create_user(
        "integrator", is_staff=True, is_superuser=True, password="x"
    )

    dashboard, page = dashboard_of(client, staff)

    assert dashboard is None
    assert "choose a seller" in page
