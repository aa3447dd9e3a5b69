"""The seller's dashboard, ``/admin/dashboard/``: today's payments per store and POS, the open
orders, and what needs attention (failed syncs, failed notifications).

"Today" is the current day in the seller's site's time zone (``tenants.sites``); an order counts
as paid today when its ``paid_at`` falls within it, whatever happened to it since (a refund
shows in the order, not here). Every figure is one grouped query: the number of queries does not
grow with the number of stores, points of sale, orders or notifications.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from orders.models import OPEN_STATUSES, Notification, Order
from pos.models import PointOfSale, Store, SyncState
from tenants.decorators import ensure_can_view
from tenants.models import Tenant
from tenants.sites import SITES

SHOWN_ROWS = 10  # open orders, failed syncs and failed notifications listed; counts are exact


@dataclass(frozen=True)
class Takings:
    """What a store, a POS or the whole seller took today: paid orders and their total."""

    name: str
    count: int
    total: Decimal


@dataclass(frozen=True)
class Dashboard:
    day: date
    currency: str
    paid: Takings
    by_store: list[Takings]
    by_pos: list[Takings]
    open_count: int
    open_orders: list[Order]
    failed_stores: list[Store]
    failed_pos: list[PointOfSale]
    failed_notification_count: int
    failed_notifications: list[Notification]


def local_day(tenant: Tenant, now: datetime) -> tuple[date, datetime, datetime]:
    """The seller's current day at ``now``, and the instants it starts and ends."""
    zone = ZoneInfo(SITES[tenant.site].time_zone)
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time.min, zone)
    return day, start, datetime.combine(day + timedelta(days=1), time.min, zone)


def dashboard(tenant: Tenant, now: datetime) -> Dashboard:
    """The dashboard of ``tenant`` at ``now`` (call it inside the tenant's scope)."""
    day, start, end = local_day(tenant, now)
    cents = SITES[tenant.site].smallest_amount  # sums come back from SQLite without their zeros
    per_pos = list(
        Order.objects.filter(paid_at__gte=start, paid_at__lt=end)
        .values("pos__store__name", "pos__name")
        .annotate(count=Count("pk"), total=Sum("total_amount"))
        .order_by("pos__store__name", "pos__name")
    )
    store_count: dict[str, int] = defaultdict(int)
    store_total: dict[str, Decimal] = defaultdict(Decimal)
    for row in per_pos:
        store_count[row["pos__store__name"]] += row["count"]
        row["total"] = row["total"].quantize(cents)
        store_total[row["pos__store__name"]] += row["total"]
    open_orders = Order.objects.filter(status__in=OPEN_STATUSES)
    failed_notifications = Notification.objects.filter(
        tenant=tenant, status=Notification.Status.FAILED
    )
    return Dashboard(
        day=day,
        currency=SITES[tenant.site].currency,
        paid=Takings(tenant.name, sum(store_count.values()), sum(store_total.values(), Decimal(0))),
        by_store=[Takings(name, store_count[name], store_total[name]) for name in store_count],
        by_pos=[
            Takings(f"{row['pos__store__name']} · {row['pos__name']}", row["count"], row["total"])
            for row in per_pos
        ],
        open_count=open_orders.count(),
        open_orders=list(open_orders.select_related("pos__store")[:SHOWN_ROWS]),
        failed_stores=list(Store.objects.filter(sync_state=SyncState.FAILED)[:SHOWN_ROWS]),
        failed_pos=list(
            PointOfSale.objects.filter(sync_state=SyncState.FAILED).select_related("store")[
                :SHOWN_ROWS
            ]
        ),
        failed_notification_count=failed_notifications.count(),
        failed_notifications=list(failed_notifications[:SHOWN_ROWS]),
    )


def dashboard_view(request: HttpRequest) -> HttpResponse:
    """The dashboard of the seller the request acts for; platform staff who have not picked a
    seller are asked to pick one."""
    ensure_can_view(request)
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "dashboard": dashboard(request.tenant, timezone.now()) if request.tenant else None,
    }
    return render(request, "admin/orders/dashboard.html", context)
