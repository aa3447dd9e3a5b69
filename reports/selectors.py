"""Reads over the reports for the integrator: the marketplace fees it earned per seller and
month, as recorded here and as Mercado Pago's settlement reports show them."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import TruncMonth

from orders.models import Order, Status
from reports.models import ReportFile, ReportKind, ReportLine
from reports.services import PAYMENT_LINES, REFUND_LINES
from tenants.models import Tenant
from tenants.sites import SITES

PAID_STATUSES = (Status.PROCESSED, Status.REFUNDED)
ZERO = Decimal(0)


@dataclass
class FeeMonth:
    """One seller's marketplace fees of one month (UTC), in its ``currency``.

    ``recorded``: the fees of the orders paid that month here; ``reported``: the fees Mercado
    Pago's settlement reports charged on that month's payments (``MKP_FEE_AMOUNT``);
    ``given_back``: the fees its refunds gave back that month.
    """

    tenant: Tenant
    month: date
    currency: str
    recorded: Decimal = ZERO
    reported: Decimal = ZERO
    given_back: Decimal = ZERO

    @property
    def difference(self) -> Decimal:
        """Recorded here less reported by Mercado Pago (0 when they agree)."""
        return self.recorded - self.reported


def marketplace_fees() -> list[FeeMonth]:
    """Every seller's marketplace fees per month, newest month first, then by seller name; call
    inside a cross-tenant scope. A line found in two downloaded reports counts once."""
    months: dict[tuple[int, date], FeeMonth] = {}
    tenants = {tenant.pk: tenant for tenant in Tenant.objects.all()}

    def month_of(tenant_id: int, month) -> FeeMonth:
        key = (tenant_id, month.date() if hasattr(month, "date") else month)
        if key not in months:
            tenant = tenants[tenant_id]
            months[key] = FeeMonth(tenant, key[1], SITES[tenant.site].currency)
        return months[key]

    recorded = (
        Order.objects.filter(status__in=PAID_STATUSES, paid_at__isnull=False)
        .order_by()
        .values("tenant_id", month=TruncMonth("paid_at"))
        .annotate(fees=Sum("marketplace_fee"))
    )
    for row in recorded:
        if row["fees"]:
            month_of(row["tenant_id"], row["month"]).recorded += row["fees"]
    lines = (
        ReportLine.objects.filter(
            report__kind=ReportKind.SETTLEMENT,
            report__status=ReportFile.Status.DOWNLOADED,
            marketplace_fee_amount__isnull=False,
            date__isnull=False,
        )
        .order_by()
        .values_list(
            "tenant_id", "kind", "source_id", "refund_id", "date", "marketplace_fee_amount"
        )
        .distinct()
    )
    totals: dict[tuple[int, date, str], Decimal] = defaultdict(Decimal)
    for tenant_id, kind, _source, _refund, moment, fee in lines:
        month = moment.date().replace(day=1)
        totals[tenant_id, month, kind.lower()] += fee
    for (tenant_id, month, kind), fee in totals.items():
        if kind in PAYMENT_LINES:
            month_of(tenant_id, month).reported += -fee
        elif kind in REFUND_LINES:
            month_of(tenant_id, month).given_back += fee
    return sorted(months.values(), key=lambda row: (-row.month.toordinal(), row.tenant.name))
