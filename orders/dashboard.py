"""The seller's dashboard, ``/admin/dashboard/``: today's payments per store and POS, the open
orders, and what needs attention (failed syncs, failed notifications).

"Today" is the current day in the seller's site's time zone (``tenants.sites``); an order counts
as paid today when its ``paid_at`` falls within it, whatever happened to it since (a refund
shows in the order, not here). Every figure is one grouped query: the number of queries does not
grow with the number of stores, points of sale, orders or notifications.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
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
    """What a store (``pk`` of the store), a POS (``pk`` of the POS) or the whole seller (``pk``
    None) took today: the number of orders paid and their total."""

    name: str
    count: int
    total: Decimal
    pk: int | None = None


@dataclass(frozen=True)
class Dashboard:
    """Everything the page shows about one seller on ``day`` (its local day)."""

    day: date
    currency: str
    paid: Takings
    by_store: list[Takings]
    by_pos: list[Takings]
    open_count: int
    open_orders: list[Order]  # the newest SHOWN_ROWS
    failed_store_count: int
    failed_stores: list[Store]  # the first SHOWN_ROWS by name
    failed_pos_count: int
    failed_pos: list[PointOfSale]
    failed_notification_count: int
    failed_notifications: list[Notification]  # the newest SHOWN_ROWS


def local_day(tenant: Tenant, now: datetime) -> tuple[date, datetime, datetime]:
    """The seller's current day at ``now`` in its site's time zone, and the instants (in UTC) it
    starts (included) and ends (excluded). A day whose midnight falls in a DST gap starts when
    the clocks jump; a day with a DST change lasts 23 or 25 hours."""
    zone = ZoneInfo(SITES[tenant.site].time_zone)
    day = now.astimezone(zone).date()
    start, end = (datetime.combine(d, time.min, zone) for d in (day, day + timedelta(days=1)))
    return day, start.astimezone(UTC), end.astimezone(UTC)


def takings_between(tenant: Tenant, start: datetime, end: datetime) -> list[dict]:
    """The orders of ``tenant`` paid in [``start``, ``end``), grouped by POS in the database:
    one dict per POS with ``pos_id``, ``pos__name``, ``pos__store_id``, ``pos__store__name``,
    ``count`` and ``total`` (a ``Decimal`` in the seller's currency), by store name then POS name.

    Grouped by id, not by name: two stores (or POS) of the same name stay apart.
    """
    cents = SITES[tenant.site].smallest_amount
    rows = list(
        Order.objects.filter(tenant=tenant, paid_at__gte=start, paid_at__lt=end)
        .values("pos_id", "pos__name", "pos__store_id", "pos__store__name")
        .annotate(count=Count("pk"), total=Sum("total_amount"))
        .order_by("pos__store__name", "pos__store_id", "pos__name", "pos_id")
    )
    for row in rows:
        # SQLite sums decimals as floats, handed back as Decimal without the field's places.
        row["total"] = row["total"].quantize(cents)
    return rows


def dashboard(tenant: Tenant, now: datetime) -> Dashboard:
    """The dashboard of ``tenant`` at ``now`` (call it inside the tenant's scope).

    The store and seller figures are summed from the per-POS rows of one query, so the three
    tables always agree, even while payments arrive.
    """
    day, start, end = local_day(tenant, now)
    per_pos = takings_between(tenant, start, end)
    by_store: dict[int, Takings] = {}
    for row in per_pos:
        store = by_store.get(row["pos__store_id"]) or Takings(
            row["pos__store__name"], 0, Decimal(0), row["pos__store_id"]
        )
        by_store[row["pos__store_id"]] = Takings(
            store.name, store.count + row["count"], store.total + row["total"], store.pk
        )
    stores = list(by_store.values())
    open_orders = Order.objects.filter(tenant=tenant, status__in=OPEN_STATUSES)
    failed_stores = Store.objects.filter(tenant=tenant, sync_state=SyncState.FAILED)
    failed_pos = PointOfSale.objects.filter(tenant=tenant, sync_state=SyncState.FAILED)
    # The inbox is platform-owned (not scoped): the tenant filter is what keeps it the seller's.
    failed_notifications = Notification.objects.filter(
        tenant=tenant, status=Notification.Status.FAILED
    )
    return Dashboard(
        day=day,
        currency=SITES[tenant.site].currency,
        paid=Takings(
            tenant.name,
            sum(store.count for store in stores),
            sum((store.total for store in stores), Decimal(0)).quantize(
                SITES[tenant.site].smallest_amount
            ),
        ),
        by_store=stores,
        by_pos=[
            Takings(
                f"{row['pos__store__name']} · {row['pos__name']}",
                row["count"],
                row["total"],
                row["pos_id"],
            )
            for row in per_pos
        ],
        open_count=open_orders.count(),
        open_orders=list(open_orders.select_related("pos__store")[:SHOWN_ROWS]),
        failed_store_count=failed_stores.count(),
        failed_stores=list(failed_stores[:SHOWN_ROWS]),
        failed_pos_count=failed_pos.count(),
        failed_pos=list(failed_pos.select_related("store")[:SHOWN_ROWS]),
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
