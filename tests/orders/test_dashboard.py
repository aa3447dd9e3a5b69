"""The seller's dashboard (``orders/dashboard.py``), beyond ``test_tenant_dashboard.py``: stores
and POS of the same name, both ends of the local day in other time zones, whole-peso currencies,
what "paid" includes, exact counts past the listed rows, platform staff acting for a seller, the
admin index link, and a query budget with many rows of every kind."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.dashboard import SHOWN_ROWS, dashboard, local_day
from orders.models import Notification
from pos.models import SyncState
from tenants.middleware import SESSION_KEY
from tenants.scope import tenant_scope
from tests.factories import (
    make_member,
    make_order,
    make_payment,
    make_pos,
    make_store,
    make_tenant,
    make_user,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)  # 13:00 in Buenos Aires and São Paulo (UTC-3)
TODAY = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def paid(tenant, pos, amount: str, at: datetime = TODAY, status: str = "processed"):
    order = make_order(
        tenant, pos, status=status, total_amount=Decimal(amount), paid_at=at, closed_at=at
    )
    make_payment(tenant, order, approved_at=at)  # one payment each: it must not double a sum
    return order


def failed_notification(tenant):
    return Notification.objects.create(
        kind=Notification.Kind.WEBHOOK, status=Notification.Status.FAILED, tenant=tenant
    )


def fail_sync(row):
    with tenant_scope(row.tenant):
        type(row).objects.filter(pk=row.pk).update(
            sync_state=SyncState.FAILED, sync_error_code="E", sync_error_message="refused"
        )


def dashboard_of(client, user, tenant_id=None):
    client.force_login(user)
    if tenant_id is not None:
        session = client.session
        session[SESSION_KEY] = tenant_id
        session.save()
    with time_machine.travel(NOW, tick=False):
        response = client.get("/admin/dashboard/")
    assert response.status_code == 200
    return response.context["dashboard"], response.text


def figures(rows):
    return [(row.name, row.count, row.total) for row in rows]


def test_stores_and_pos_of_the_same_name_are_not_merged(client, tenant_a):
    first, second = make_store(tenant_a, name="Centro"), make_store(tenant_a, name="Centro")
    first_pos, second_pos = (
        make_pos(tenant_a, first, name="Caja 1"),
        make_pos(tenant_a, second, name="Caja 1"),
    )
    paid(tenant_a, first_pos, "10.00")
    paid(tenant_a, first_pos, "0.50")
    paid(tenant_a, second_pos, "3.25")

    board, page = dashboard_of(client, make_member(tenant_a, "viewer"))

    assert sorted((r.pk, r.count, r.total) for r in board.by_store) == [
        (first.pk, 2, Decimal("10.50")),
        (second.pk, 1, Decimal("3.25")),
    ]
    assert sorted((r.pk, r.count, r.total) for r in board.by_pos) == [
        (first_pos.pk, 2, Decimal("10.50")),
        (second_pos.pk, 1, Decimal("3.25")),
    ]
    assert (board.paid.count, board.paid.total) == (3, Decimal("13.75"))
    for row in (first, second):
        assert f"/admin/pos/store/{row.pk}/change/" in page
    for row in (first_pos, second_pos):
        assert f"/admin/pos/pointofsale/{row.pk}/change/" in page


@pytest.mark.parametrize(
    ("site", "start"),
    [
        ("MLB", datetime(2026, 12, 2, 3, 0, tzinfo=UTC)),  # São Paulo, UTC-3
        ("MLM", datetime(2026, 12, 2, 6, 0, tzinfo=UTC)),  # Mexico City, UTC-6
    ],
)
def test_the_day_includes_its_first_instant_and_excludes_the_next_days(client, site, start):
    tenant = make_tenant(site=site)
    pos = make_pos(tenant)
    just_before = start - timedelta(microseconds=1)
    paid(tenant, pos, "1.00", at=start)
    paid(tenant, pos, "2.00", at=start + timedelta(days=1) - timedelta(microseconds=1))
    paid(tenant, pos, "40.00", at=just_before)  # yesterday, local time
    paid(tenant, pos, "80.00", at=start + timedelta(days=1))  # tomorrow, local time

    with tenant_scope(tenant):
        board = dashboard(tenant, start + timedelta(hours=12))

    assert (board.paid.count, board.paid.total) == (2, Decimal("3.00"))
    assert local_day(tenant, just_before)[0] == start.date() - timedelta(days=1)


def test_a_day_that_starts_in_a_dst_gap_starts_when_the_clocks_jump():
    # Chile's clocks go from Saturday 24:00 (UTC-4) to Sunday 01:00 (UTC-3) on 6 Sep 2026.
    chile = make_tenant(site="MLC")

    day, start, end = local_day(chile, datetime(2026, 9, 6, 15, 0, tzinfo=UTC))

    assert day == date(2026, 9, 6)
    assert start == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)  # 01:00 local, 00:00 never was
    assert end == datetime(2026, 9, 7, 3, 0, tzinfo=UTC)  # a 23-hour day


def test_whole_peso_currencies_show_whole_totals(client):
    chile = make_tenant(site="MLC")
    pos = make_pos(chile)
    paid(chile, pos, "1500", at=datetime(2026, 12, 2, 15, 0, tzinfo=UTC))
    paid(chile, pos, "990", at=datetime(2026, 12, 2, 15, 0, tzinfo=UTC))

    board, page = dashboard_of(client, make_member(chile, "viewer"))

    assert (board.currency, board.paid.count, board.paid.total) == ("CLP", 2, Decimal("2490"))
    assert "CLP\u00a02.490<" in page  # Chile's thousands separator, no cents
    assert "2.490,00" not in page


def test_paid_means_paid_today_even_if_refunded_since_and_nothing_unpaid(client, tenant_a):
    pos = make_pos(tenant_a, make_store(tenant_a, name="Centro"), name="Caja 1")
    paid(tenant_a, pos, "100.00")
    paid(tenant_a, pos, "25.00", status="refunded")  # paid today, refunded later: still taken
    for status in ("pending", "created", "canceled", "expired", "failed"):
        make_order(tenant_a, pos, status=status, total_amount=Decimal("999.00"))

    board, _page = dashboard_of(client, make_member(tenant_a, "viewer"))

    assert figures(board.by_pos) == [("Centro · Caja 1", 2, Decimal("125.00"))]
    assert board.open_count == 2  # pending and created


def test_counts_are_exact_past_the_rows_listed(client, tenant_a):
    store = make_store(tenant_a)
    orders = [make_order(tenant_a, make_pos(tenant_a, store)) for _ in range(SHOWN_ROWS + 2)]
    for row in [make_store(tenant_a) for _ in range(SHOWN_ROWS + 1)]:
        fail_sync(row)
    for row in orders[:3]:
        fail_sync(row.pos)
    for _ in range(SHOWN_ROWS + 3):
        failed_notification(tenant_a)

    board, page = dashboard_of(client, make_member(tenant_a, "viewer"))

    assert (board.open_count, len(board.open_orders)) == (SHOWN_ROWS + 2, SHOWN_ROWS)
    assert {o.pk for o in board.open_orders} == {o.pk for o in orders[-SHOWN_ROWS:]}  # newest
    assert (board.failed_store_count, len(board.failed_stores)) == (SHOWN_ROWS + 1, SHOWN_ROWS)
    assert (board.failed_pos_count, len(board.failed_pos)) == (3, 3)
    assert (board.failed_notification_count, len(board.failed_notifications)) == (
        SHOWN_ROWS + 3,
        SHOWN_ROWS,
    )
    for changelist in (
        "/admin/orders/order/?status__in=pending,created",
        "/admin/pos/store/?sync_state__exact=failed",
        "/admin/pos/pointofsale/?sync_state__exact=failed",
        "/admin/orders/notification/?status__exact=failed",
    ):
        assert f'href="{changelist}"' in page
        listing = client.get(changelist)
        assert listing.status_code == 200  # a filter the admin accepts (no ?e=1 redirect)
    assert client.get("/admin/orders/order/?status__in=pending,created").context[
        "cl"
    ].result_count == (SHOWN_ROWS + 2)


def test_platform_staff_see_the_seller_they_picked_and_only_it(client, tenant_a, tenant_b):
    paid(tenant_a, make_pos(tenant_a, name="A's POS"), "10.00")
    their_pos = make_pos(tenant_b, name="B's POS")
    paid(tenant_b, their_pos, "777.00")
    fail_sync(their_pos)
    failed_notification(tenant_b)
    staff = make_user("integrator", is_staff=True, is_platform_staff=True)

    board, page = dashboard_of(client, staff, tenant_id=tenant_a.pk)

    assert (board.currency, board.paid.count, board.paid.total) == ("ARS", 1, Decimal("10.00"))
    assert (board.failed_pos_count, board.failed_notification_count) == (0, 0)
    assert "B's POS" not in page
    assert "777.00" not in page

    board, page = dashboard_of(client, staff, tenant_id=tenant_b.pk)

    assert (board.currency, board.paid.count, board.paid.total) == ("BRL", 1, Decimal("777.00"))
    assert (board.failed_pos_count, board.failed_notification_count) == (1, 1)


def test_a_member_cannot_pick_another_sellers_dashboard(client, tenant_a, tenant_b):
    paid(tenant_a, make_pos(tenant_a, name="A's POS"), "10.00")
    paid(tenant_b, make_pos(tenant_b), "5.00")

    board, page = dashboard_of(client, make_member(tenant_b, "owner"), tenant_id=tenant_a.pk)

    assert (board.currency, board.paid.count, board.paid.total) == ("BRL", 1, Decimal("5.00"))
    assert "A's POS" not in page


@pytest.mark.parametrize("role", ["owner", "manager", "cashier", "viewer"])
def test_every_role_sees_it_and_the_admin_index_links_to_it(client, tenant_a, role):
    paid(tenant_a, make_pos(tenant_a), "1.00")
    member = make_member(tenant_a, role)
    type(member).objects.filter(pk=member.pk).update(language="en")  # the index's wording

    board, _page = dashboard_of(client, member)
    index = client.get("/admin/").text

    assert board.paid.total == Decimal("1.00")
    assert 'id="dashboard-module"' in index
    assert 'href="/admin/dashboard/"' in index
    assert "Today at Seller A" in index


@pytest.mark.parametrize("is_staff", [True, False])
def test_users_who_are_not_members_get_no_data(client, tenant_a, is_staff):
    paid(tenant_a, make_pos(tenant_a), "10.00")
    client.force_login(make_user(is_staff=is_staff))  # signed in, a member of no seller
    session = client.session
    session[SESSION_KEY] = tenant_a.pk  # even with a seller's id planted in the session
    session.save()

    response = client.get("/admin/dashboard/")

    assert response.status_code == 302
    assert response["Location"].startswith("/tenants/select/")
    assert SESSION_KEY not in client.session


def test_the_query_count_is_the_same_for_one_row_and_for_many(
    client, tenant_a, django_assert_num_queries
):
    viewer = make_member(tenant_a, "viewer")
    paid(tenant_a, make_pos(tenant_a), "1.00")
    dashboard_of(client, viewer)  # the first visit keeps the seller in the session

    with CaptureQueriesContext(connection) as one:
        dashboard_of(client, viewer)
    for _ in range(30):
        store = make_store(tenant_a)
        pos = make_pos(tenant_a, store)
        paid(tenant_a, pos, "2.00")
        make_order(tenant_a, pos)
        fail_sync(store)
        fail_sync(pos)
        failed_notification(tenant_a)

    with django_assert_num_queries(len(one)):
        board, _page = dashboard_of(client, viewer)

    assert (board.paid.count, board.paid.total) == (31, Decimal("61.00"))
    assert (len(board.by_store), len(board.by_pos), board.open_count) == (31, 31, 30)
