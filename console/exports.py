"""The console's list of sellers as CSV: the same sellers and columns as the page, amounts as
plain decimals beside a ``currency`` column, instants in ISO 8601 (UTC), text neutralised against
formula injection as the orders' exports do (``orders.exports.neutralised``).

The sellers are read in chunks of ``CHUNK`` with the page's grouped queries, so the number of
queries grows with the number of chunks, never with one per seller.
"""

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

from console.selectors import SellerRow, rows
from orders.exports import neutralised
from tenants.scope import cross_tenant_scope

CHUNK = 1000

HEADER = (
    "name",
    "slug",
    "site",
    "stage",
    "owner_email",
    "invited_email",
    "last_payment_at",
    "currency",
    "payments_today",
    "volume_today",
    "payments_7_days",
    "volume_7_days",
    "fees_7_days",
    "fees_all_time",
    "failed_stores",
    "failed_pos",
    "failed_notifications",
    "failed_deliveries",
    "retrying_deliveries",
    "needs_reconnect",
    "problems",
)


def csv_values(row: SellerRow) -> list[str]:
    """The cells of one seller, in ``HEADER``'s order."""
    text = [row.tenant.name, row.tenant.slug, row.tenant.site, row.stage]
    text += [row.owner_email, row.invited_email]
    return [
        *(neutralised(value) for value in text),
        row.last_payment.isoformat() if row.last_payment else "",
        row.currency,
        str(row.today_count),
        f"{row.today_volume:f}",
        str(row.week_count),
        f"{row.week_volume:f}",
        f"{row.week_fees:f}",
        f"{row.total_fees:f}",
        str(row.failed_stores),
        str(row.failed_pos),
        str(row.failed_notifications),
        str(row.failed_deliveries),
        str(row.retrying_deliveries),
        "yes" if row.needs_reconnect else "no",
        " ".join(row.problems),
    ]


def _line(values) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def lines(sellers: QuerySet, now: datetime) -> Iterator[str]:
    """The CSV's lines: the header, then every seller of ``sellers`` in its order."""
    yield _line(HEADER)
    with cross_tenant_scope():
        ids = list(sellers.values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with cross_tenant_scope():
            found = {row.tenant.pk: row for row in rows(sellers.filter(pk__in=chunk), now)}
        for pk in chunk:
            yield _line(csv_values(found[pk]))


def csv_response(sellers: QuerySet, now: datetime) -> StreamingHttpResponse:
    """``sellers`` as a streamed CSV download named ``sellers-<date>.csv``."""
    filename = f"sellers-{now:%Y-%m-%d}.csv"
    return StreamingHttpResponse(
        lines(sellers, now),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition_header(True, filename)},
    )
