"""The seller's dashboard, ``/admin/dashboard/``: what was taken in a period (today by default)
per store and POS -- gross, refunds, net and marketplace fees -- the open orders, and what needs
attention (failed syncs, failed notifications).

The period is a range of whole days in the seller's site's time zone (``tenants.sites``), from
the ``from`` day to the ``to`` day, both included. Gross counts the orders whose ``paid_at``
falls within it, whatever happened to them since; refunds count the refunds Mercado Pago
processed within it (on the refund's own date, as accountants book them, even when the sale was
on an earlier day); net is gross minus refunds; marketplace fees are the platform's fees on the
orders paid within it. Every figure is one grouped query: the number of queries does not grow
with the number of stores, points of sale, orders, refunds or notifications.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import OPEN_STATUSES, Notification, Order, Refund
from pos.models import PointOfSale, Store, SyncState
from tenants.decorators import ensure_can_view
from tenants.models import Tenant
from tenants.sites import SITES

SHOWN_ROWS = 10  # open orders, failed syncs and failed notifications listed; counts are exact
LONGEST_PERIOD = 366  # days one page may sum
EARLIEST, LATEST = date(2000, 1, 1), date(9998, 12, 31)  # days a period may include


@dataclass(frozen=True)
class Takings:
    """What a store (``pk`` of the store), a POS (``pk`` of the POS) or the whole seller (``pk``
    None) took in the period: the number of orders paid and their ``total`` (gross), the
    refunds processed, and the marketplace fees on the orders paid."""

    name: str
    count: int
    total: Decimal
    refunds: Decimal
    fees: Decimal
    pk: int | None = None

    @property
    def net(self) -> Decimal:
        """Gross minus refunds (negative when refunds of earlier sales exceed the period's)."""
        return self.total - self.refunds

    def plus(self, other: "Takings") -> "Takings":
        """These takings with ``other``'s added (same name and ``pk``)."""
        return Takings(
            self.name,
            self.count + other.count,
            self.total + other.total,
            self.refunds + other.refunds,
            self.fees + other.fees,
            self.pk,
        )


@dataclass(frozen=True)
class Dashboard:
    """Everything the page shows about one seller from ``first`` to ``last`` (its local days)."""

    first: date
    last: date
    today: date
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


def local_period(tenant: Tenant, first: date, last: date) -> tuple[datetime, datetime]:
    """The instants (in UTC) the seller's local days ``first`` to ``last`` start (included) and
    end (excluded). A day whose midnight falls in a DST gap starts when the clocks jump; a day
    with a DST change lasts 23 or 25 hours."""
    zone = ZoneInfo(SITES[tenant.site].time_zone)
    start, end = (datetime.combine(d, time.min, zone) for d in (first, last + timedelta(days=1)))
    return start.astimezone(UTC), end.astimezone(UTC)


def local_day(tenant: Tenant, now: datetime) -> tuple[date, datetime, datetime]:
    """The seller's current day at ``now`` in its site's time zone, and the instants (in UTC) it
    starts (included) and ends (excluded)."""
    day = now.astimezone(ZoneInfo(SITES[tenant.site].time_zone)).date()
    return day, *local_period(tenant, day, day)


def requested_period(query: QueryDict, today: date) -> tuple[date, date, list[str]]:
    """The days ``from`` and ``to`` of ``query`` (ISO dates, as date inputs send them): a missing
    ``to`` is ``today`` and a missing ``from`` is ``to``. A range that cannot be read, runs
    backwards, is longer than ``LONGEST_PERIOD`` days or leaves ``EARLIEST``-``LATEST`` gives
    ``today`` and the reason."""
    try:
        last = date.fromisoformat(query.get("to") or today.isoformat())
        first = date.fromisoformat(query.get("from") or last.isoformat())
    except ValueError:
        return today, today, [_("Enter the dates as YYYY-MM-DD, for example 2026-12-31.")]
    if first < EARLIEST or last > LATEST:
        return (
            today,
            today,
            [_("Pick days from %(first)s to %(last)s.") % {"first": EARLIEST, "last": LATEST}],
        )
    if first > last:
        return today, today, [_("The first day comes after the last day.")]
    if (last - first).days >= LONGEST_PERIOD:
        return today, today, [_("Pick at most %(days)d days.") % {"days": LONGEST_PERIOD}]
    return first, last, []


def takings_between(
    tenant: Tenant, start: datetime, end: datetime
) -> list[tuple[int, str, Takings]]:
    """What each POS of ``tenant`` took in [``start``, ``end``): the orders paid then, their total
    and marketplace fees, and the refunds processed then (of orders paid whenever). One
    ``(store id, store name, the POS's takings named "store · POS")`` per POS with any, by store
    name then POS name. Two queries grouped by POS id in the database, so two stores (or POS) of
    the same name stay apart.
    """
    cents = SITES[tenant.site].smallest_amount
    pos = ("pos_id", "pos__name", "pos__store_id", "pos__store__name")
    paid = Order.objects.filter(tenant=tenant, paid_at__gte=start, paid_at__lt=end)
    refunded = Refund.objects.filter(
        tenant=tenant,
        status=Refund.Status.PROCESSED,
        processed_at__gte=start,
        processed_at__lt=end,
    )
    rows = [
        *paid.values(*pos).annotate(
            count=Count("pk"), total=Sum("total_amount"), fees=Sum("marketplace_fee")
        ),
        *refunded.values(*(f"order__{name}" for name in pos)).annotate(refunds=Sum("amount")),
    ]
    found: dict[tuple, Takings] = {}
    for row in rows:
        row = {name.removeprefix("order__"): value for name, value in row.items()}
        # SQLite sums decimals as floats, handed back as Decimal without the field's places.
        total, refunds, fees = (
            (row.get(name) or Decimal(0)).quantize(cents) for name in ("total", "refunds", "fees")
        )
        key = (row["pos__store__name"], row["pos__store_id"], row["pos__name"], row["pos_id"])
        takings = Takings(
            f"{row['pos__store__name']} · {row['pos__name']}",
            row.get("count", 0),
            total,
            refunds,
            fees,
            row["pos_id"],
        )
        found[key] = found[key].plus(takings) if key in found else takings
    return [(key[1], key[0], found[key]) for key in sorted(found)]


def dashboard(
    tenant: Tenant, now: datetime, first: date | None = None, last: date | None = None
) -> Dashboard:
    """The dashboard of ``tenant`` at ``now`` for its local days ``first`` to ``last`` (today
    when None); call it inside the tenant's scope.

    The store and seller figures are summed from the per-POS rows, so the three tables always
    agree, even while payments arrive.
    """
    today, _start, _end = local_day(tenant, now)
    first, last = first or today, last or today
    per_pos = takings_between(tenant, *local_period(tenant, first, last))
    zero = Decimal(0).quantize(SITES[tenant.site].smallest_amount)
    by_store: dict[int, Takings] = {}
    for store_pk, store_name, takings in per_pos:
        store = by_store.get(store_pk) or Takings(store_name, 0, zero, zero, zero, store_pk)
        by_store[store_pk] = store.plus(takings)
    stores = list(by_store.values())
    paid = Takings(tenant.name, 0, zero, zero, zero)
    for store in stores:
        paid = paid.plus(store)
    open_orders = Order.objects.filter(tenant=tenant, status__in=OPEN_STATUSES)
    failed_stores = Store.objects.filter(tenant=tenant, sync_state=SyncState.FAILED)
    failed_pos = PointOfSale.objects.filter(tenant=tenant, sync_state=SyncState.FAILED)
    # The inbox is platform-owned (not scoped): the tenant filter is what keeps it the seller's.
    failed_notifications = Notification.objects.filter(
        tenant=tenant, status=Notification.Status.FAILED
    )
    return Dashboard(
        first=first,
        last=last,
        today=today,
        currency=SITES[tenant.site].currency,
        paid=paid,
        by_store=stores,
        by_pos=[takings for _store_pk, _store_name, takings in per_pos],
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
    """The dashboard of the seller the request acts for, for the days ``from`` to ``to`` of the
    query string (today by default); platform staff who have not picked a seller are asked to
    pick one."""
    ensure_can_view(request)
    board, errors = None, []
    if request.tenant:
        now = timezone.now()
        first, last, errors = requested_period(request.GET, local_day(request.tenant, now)[0])
        board = dashboard(request.tenant, now, first, last)
    context = {
        **admin.site.each_context(request),
        "title": _("Dashboard"),
        "dashboard": board,
        "range_errors": errors,
    }
    return render(request, "admin/orders/dashboard.html", context)
