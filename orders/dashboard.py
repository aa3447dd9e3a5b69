"""The seller's dashboard, ``/admin/dashboard/``: what was taken in a period (today by default)
per store and POS -- gross, refunds, net and marketplace fees -- and per day (a bar chart), the
open orders, and what needs attention (failed syncs, failed notifications).

The period is a range of whole days in the seller's site's time zone (``tenants.sites``), from
the ``from`` day to the ``to`` day, both included. Gross counts the orders whose ``paid_at``
falls within it, whatever happened to them since; refunds count the refunds Mercado Pago
processed within it (on the refund's own date, as accountants book them, even when the sale was
on an earlier day); net is gross minus refunds; marketplace fees are the platform's fees on the
orders paid within it. Every figure is one grouped query: the number of queries does not grow
with the number of days, stores, points of sale, orders, refunds or notifications.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.models import OPEN_STATUSES, Notification, Order, Refund
from pos.models import PointOfSale, Store, SyncState
from tenants.decorators import ensure_can_view
from tenants.models import Tenant
from tenants.sites import SITES

SHOWN_ROWS = 10  # open orders, failed syncs and failed notifications listed; counts are exact
LONGEST_PERIOD = 366  # days one page (or one export) may sum
EARLIEST, LATEST = date(2000, 1, 1), date(9998, 12, 31)  # days a period may include
CHART_WIDTH, CHART_HEIGHT = 1000, 300  # the chart's viewBox; the page stretches it to its width


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
class DayTakings:
    """What the seller took on one of its local days: the total of the orders paid that day
    (gross) and the refunds processed that day."""

    day: date
    total: Decimal
    refunds: Decimal

    @property
    def net(self) -> Decimal:
        return self.total - self.refunds


@dataclass(frozen=True)
class Bar:
    """One day of the chart, in ``viewBox`` units: the gross bar and, narrower in front of it,
    the net bar; both rise from the zero line, a negative net hangs below it."""

    takings: DayTakings
    x: Decimal
    width: Decimal
    y: Decimal
    height: Decimal
    net_x: Decimal
    net_width: Decimal
    net_y: Decimal
    net_height: Decimal


@dataclass(frozen=True)
class Chart:
    """Gross and net per day as bars scaled to the period's extremes: ``top`` (the highest gross
    or net) at the top edge, ``bottom`` (0, or the lowest negative net) at the bottom edge."""

    top: Decimal
    bottom: Decimal
    zero_y: Decimal
    bars: list[Bar]
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT

    @property
    def lowest(self) -> Decimal:
        """The amount at the bottom edge: 0, or the lowest (negative) net."""
        return -self.bottom

    @property
    def best(self) -> DayTakings:
        """The day of the highest gross (the first of equals)."""
        return max((bar.takings for bar in self.bars), key=lambda takings: takings.total)


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
    days: list[DayTakings]  # every day of the period, oldest first, zero when nothing happened
    chart: Chart
    open_count: int
    open_orders: list[Order]  # the newest SHOWN_ROWS
    failed_store_count: int
    failed_stores: list[Store]  # the first SHOWN_ROWS by name
    failed_pos_count: int
    failed_pos: list[PointOfSale]
    failed_notification_count: int
    failed_notifications: list[Notification]  # the newest SHOWN_ROWS


def local_zone(tenant: Tenant) -> ZoneInfo:
    """The time zone the seller's days are counted in (its site's capital's)."""
    return ZoneInfo(SITES[tenant.site].time_zone)


def local_period(tenant: Tenant, first: date, last: date) -> tuple[datetime, datetime]:
    """The instants (in UTC) the seller's local days ``first`` to ``last`` start (included) and
    end (excluded). A day whose midnight falls in a DST gap starts when the clocks jump; a day
    with a DST change lasts 23 or 25 hours."""
    zone = local_zone(tenant)
    start, end = (datetime.combine(d, time.min, zone) for d in (first, last + timedelta(days=1)))
    return start.astimezone(UTC), end.astimezone(UTC)


def local_day(tenant: Tenant, now: datetime) -> tuple[date, datetime, datetime]:
    """The seller's current day at ``now`` in its site's time zone, and the instants (in UTC) it
    starts (included) and ends (excluded)."""
    day = now.astimezone(local_zone(tenant)).date()
    return day, *local_period(tenant, day, day)


def parse_period(query: QueryDict, today: date) -> tuple[date, date]:
    """The days ``from`` and ``to`` of ``query`` (ISO dates, as date inputs send them): a missing
    ``to`` is ``today`` and a missing ``from`` is ``to``. Raises ``ValidationError`` saying why
    when the range cannot be read, runs backwards, is longer than ``LONGEST_PERIOD`` days or
    leaves ``EARLIEST``-``LATEST``."""
    try:
        last = date.fromisoformat(query.get("to") or today.isoformat())
        first = date.fromisoformat(query.get("from") or last.isoformat())
    except ValueError as error:
        message = _("Enter the dates as YYYY-MM-DD, for example 2026-12-31.")
        raise ValidationError(message, code="invalid_date") from error
    if first < EARLIEST or last > LATEST:
        message = _("Pick days from %(first)s to %(last)s.") % {"first": EARLIEST, "last": LATEST}
        raise ValidationError(message, code="date_out_of_range")
    if first > last:
        raise ValidationError(_("The first day comes after the last day."), code="period_backwards")
    if (last - first).days >= LONGEST_PERIOD:
        message = _("Pick at most %(days)d days.") % {"days": LONGEST_PERIOD}
        raise ValidationError(message, code="period_too_long")
    return first, last


def requested_period(query: QueryDict, today: date) -> tuple[date, date, list[str]]:
    """``parse_period``'s days, or ``today`` and the reason when the range cannot be shown."""
    try:
        return *parse_period(query, today), []
    except ValidationError as error:
        return today, today, error.messages


def paid_between(tenant: Tenant, start: datetime, end: datetime) -> QuerySet[Order]:
    """The orders of ``tenant`` paid in [``start``, ``end``): the period's gross."""
    return Order.objects.filter(tenant=tenant, paid_at__gte=start, paid_at__lt=end)


def refunded_between(tenant: Tenant, start: datetime, end: datetime) -> QuerySet[Refund]:
    """The refunds of ``tenant`` Mercado Pago processed in [``start``, ``end``)."""
    return Refund.objects.filter(
        tenant=tenant,
        status=Refund.Status.PROCESSED,
        processed_at__gte=start,
        processed_at__lt=end,
    )


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
    rows = [
        *paid_between(tenant, start, end)
        .values(*pos)
        .annotate(count=Count("pk"), total=Sum("total_amount"), fees=Sum("marketplace_fee")),
        *refunded_between(tenant, start, end)
        .values(*(f"order__{name}" for name in pos))
        .annotate(refunds=Sum("amount")),
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


def takings_per_day(tenant: Tenant, first: date, last: date) -> list[DayTakings]:
    """Gross and refunds of each of the seller's local days ``first`` to ``last``, zero on a day
    with neither. Two queries grouped by the local date in the database (``TruncDate`` in the
    seller's time zone), however many orders and refunds there are."""
    zone, cents = local_zone(tenant), SITES[tenant.site].smallest_amount
    start, end = local_period(tenant, first, last)
    paid = paid_between(tenant, start, end).annotate(day=TruncDate("paid_at", tzinfo=zone))
    refunded = refunded_between(tenant, start, end).annotate(
        day=TruncDate("processed_at", tzinfo=zone)
    )
    totals, refunds = (
        {row["day"]: row["sum"].quantize(cents) for row in rows.values("day").annotate(sum=sum_)}
        for rows, sum_ in ((paid, Sum("total_amount")), (refunded, Sum("amount")))
    )
    zero = Decimal(0).quantize(cents)
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [DayTakings(day, totals.get(day, zero), refunds.get(day, zero)) for day in days]


def takings_chart(days: list[DayTakings]) -> Chart:
    """``days`` as bars in a ``CHART_WIDTH`` x ``CHART_HEIGHT`` box: one slot per day, the zero
    line where the highest amount above it and the lowest negative net below it fill the
    height."""
    top = max(0, *(day.total for day in days), *(day.net for day in days))
    bottom = max(0, *(-day.net for day in days))
    unit = CHART_HEIGHT / (top + bottom) if top + bottom else Decimal(0)
    zero_y = top * unit if unit else Decimal(CHART_HEIGHT)
    slot = Decimal(CHART_WIDTH) / len(days)
    step = Decimal("0.01")

    def span(amount: Decimal) -> tuple[Decimal, Decimal]:
        """The top and the height of a bar of ``amount``."""
        height = abs(amount) * unit
        return (zero_y - height if amount > 0 else zero_y).quantize(step), height.quantize(step)

    bars = []
    for index, day in enumerate(days):
        left = index * slot
        bars.append(
            Bar(
                day,
                (left + slot / 10).quantize(step),
                (slot * 8 / 10).quantize(step),
                *span(day.total),
                (left + slot * 3 / 10).quantize(step),
                (slot * 4 / 10).quantize(step),
                *span(day.net),
            )
        )
    return Chart(Decimal(top), Decimal(bottom), zero_y.quantize(step), bars)


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
    days = takings_per_day(tenant, first, last)
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
        days=days,
        chart=takings_chart(days),
        open_count=open_orders.count(),
        open_orders=list(open_orders.select_related("pos__store")[:SHOWN_ROWS]),
        failed_store_count=failed_stores.count(),
        failed_stores=list(failed_stores[:SHOWN_ROWS]),
        failed_pos_count=failed_pos.count(),
        failed_pos=list(failed_pos.select_related("store")[:SHOWN_ROWS]),
        failed_notification_count=failed_notifications.count(),
        failed_notifications=list(failed_notifications[:SHOWN_ROWS]),
    )


EXPORT_KINDS = [
    ("orders", gettext_lazy("Orders")),
    ("payments", gettext_lazy("Payments")),
    ("refunds", gettext_lazy("Refunds")),
]
EXPORT_FORMATS = [("csv", "api:order-export-csv"), ("xlsx", "api:order-export-xlsx")]


def recent_periods(today: date) -> list[tuple[str, date, date]]:
    """Ranges a person often wants, ending ``today``: ``(label, first day, last day)``."""
    return [
        (_("Last 7 days"), today - timedelta(days=6), today),
        (_("Last 30 days"), today - timedelta(days=29), today),
    ]


def dashboard_view(request: HttpRequest) -> HttpResponse:
    """The dashboard of the seller the request acts for, for the days ``from`` to ``to`` of the
    query string (today by default); platform staff who have not picked a seller are asked to
    pick one. Members whose role may view orders get links to export the period (the partner
    API's export, which acts for the seller chosen in the session)."""
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
        "recent_periods": recent_periods(board.today) if board else [],
        "export_kinds": EXPORT_KINDS,
        "export_formats": EXPORT_FORMATS,
    }
    return render(request, "admin/orders/dashboard.html", context)
