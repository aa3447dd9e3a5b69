"""A seller's orders, payments or refunds of a range of its local days, as CSV or XLSX: from the
dashboard's links and from the partner API (``GET /api/v1/orders/export.csv``, docs/api.md).

Files are for programs as much as for people: a header of stable ``snake_case`` names; amounts
as plain decimals with a dot (CSV) or numeric cells with a number format (XLSX), always beside a
``currency`` column; instants in ISO 8601 with the offset of the seller's time zone. Text that a
spreadsheet would run as a formula (``=HYPERLINK(...)``, typed as an order's description) is
neutralised with a leading single quote (OWASP, "CSV injection"). CSV is streamed row by row from
a database cursor (``iterator(chunk_size=...)``); XLSX is written by openpyxl's write-only mode
to a temporary file. Neither holds every row in memory.

Which rows a range holds: the orders *created* in it (every status, with when they were paid),
the payments *approved* in it, and the refunds *processed* in it (a refund not processed yet, by
when it was asked for). The range is read by ``orders.dashboard.parse_period``: up to 366 days.
"""

import csv
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import DecimalField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.http import FileResponse, QueryDict, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from orders.dashboard import local_period, local_zone, parse_period
from orders.models import Order, Payment, Refund
from tenants.models import Tenant
from tenants.sites import SITES

CHUNK_SIZE = 2000  # rows fetched from the database cursor at a time
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")  # OWASP's list of a formula's first characters
AMOUNT_FORMATS = {0: "#,##0", 2: "#,##0.00"}  # XLSX number formats by the currency's decimals
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralised(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it: a leading single quote before a
    character that starts a formula."""
    return f"'{text}" if text.startswith(FORMULA_TRIGGERS) else text


@dataclass(frozen=True)
class Column:
    """A column of an export: its header, the ``values_list`` lookup it reads, and its type
    (``text``, ``amount`` or ``instant``)."""

    header: str
    lookup: str
    type: str = "text"


def _text(header: str, lookup: str | None = None) -> Column:
    return Column(header, lookup or header)


def _amount(header: str, lookup: str | None = None) -> Column:
    return Column(header, lookup or header, "amount")


def _instant(header: str, lookup: str | None = None) -> Column:
    return Column(header, lookup or header, "instant")


POS_COLUMNS = (_text("store", "order__pos__store__name"), _text("pos", "order__pos__name"))
ORDER_OF = (
    _text("order_uid", "order__uid"),
    _text("external_reference", "order__external_reference"),
)


def _orders(tenant: Tenant, start: datetime, end: datetime) -> QuerySet:
    zero = Value(Decimal(0), output_field=DecimalField())
    # Named apart from Order's properties of the same meaning, which read loaded payments.
    return Order.objects.filter(tenant=tenant, created_at__gte=start, created_at__lt=end).annotate(
        paid_total=Coalesce(Sum("payments__paid_amount"), zero),
        refunded_total=Coalesce(Sum("payments__refunded_amount"), zero),
    )


def _payments(tenant: Tenant, start: datetime, end: datetime) -> QuerySet:
    return Payment.objects.filter(tenant=tenant, approved_at__gte=start, approved_at__lt=end)


def _refunds(tenant: Tenant, start: datetime, end: datetime) -> QuerySet:
    return Refund.objects.annotate(booked_at=Coalesce("processed_at", "created_at")).filter(
        tenant=tenant, booked_at__gte=start, booked_at__lt=end
    )


@dataclass(frozen=True)
class Kind:
    """What one export holds: its rows of a period (``[start, end)``, in the seller's scope),
    their order, and its columns."""

    name: str
    rows: Callable[[Tenant, datetime, datetime], QuerySet]
    ordering: tuple[str, ...]
    columns: tuple[Column, ...]


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "orders",
            _orders,
            ("created_at", "pk"),
            (
                _text("uid"),
                _text("external_reference"),
                _instant("created_at"),
                _instant("paid_at"),
                _instant("closed_at"),
                _text("status"),
                _text("store", "pos__store__name"),
                _text("pos", "pos__name"),
                _text("title"),
                _text("description"),
                _text("currency"),
                _amount("total_amount"),
                _amount("paid_amount", "paid_total"),
                _amount("refunded_amount", "refunded_total"),
                _amount("marketplace_fee"),
                _text("api"),
                _text("mode"),
                _text("mp_order_id"),
            ),
        ),
        Kind(
            "payments",
            _payments,
            ("approved_at", "pk"),
            (
                _text("mp_payment_id"),
                _text("reference_id"),
                *ORDER_OF,
                _instant("approved_at"),
                _text("status"),
                _text("status_detail"),
                _text("payment_method_id"),
                _text("payment_method_type"),
                *POS_COLUMNS,
                _text("currency", "order__currency"),
                _amount("amount"),
                _amount("paid_amount"),
                _amount("refunded_amount"),
            ),
        ),
        Kind(
            "refunds",
            _refunds,
            ("booked_at", "pk"),
            (
                _text("mp_refund_id"),
                *ORDER_OF,
                _text("payment_id", "payment__mp_payment_id"),
                _instant("created_at"),
                _instant("processed_at"),
                _text("status"),
                _text("error_code"),
                *POS_COLUMNS,
                _text("currency", "order__currency"),
                _amount("amount"),
            ),
        ),
    )
}


@dataclass(frozen=True)
class Export:
    """One seller's rows of ``kind`` from its local day ``first`` to ``last``."""

    tenant: Tenant
    kind: Kind
    first: date
    last: date

    def filename(self, extension: str) -> str:
        """``parrilla-orders-2026-12-01-to-2026-12-31.csv`` (one day: ``...-orders-2026-12-01``)."""
        period = str(self.first) if self.first == self.last else f"{self.first}-to-{self.last}"
        return f"{self.tenant.slug}-{self.kind.name}-{period}.{extension}"

    def headers(self) -> list[str]:
        return [column.header for column in self.kind.columns]

    def rows(self) -> Iterator[tuple]:
        """The rows, oldest first, read from a cursor in chunks. The queryset is built (and
        filtered on the tenant) at once, inside the caller's scope, so a streamed response may
        read it after the view has returned."""
        rows = (
            self.kind.rows(self.tenant, *local_period(self.tenant, self.first, self.last))
            .order_by(*self.kind.ordering)
            .values_list(*(column.lookup for column in self.kind.columns))
        )
        return rows.iterator(chunk_size=CHUNK_SIZE)


def requested_export(tenant: Tenant, query: QueryDict, today: date) -> Export:
    """The export ``query`` asks for: ``kind`` (``orders`` by default) and the days ``from`` and
    ``to`` (as the dashboard reads them). Raises ``ValidationError`` saying what is wrong."""
    name = query.get("kind") or "orders"
    if name not in KINDS:
        message = _("Pick what to export: %(kinds)s.") % {"kinds": ", ".join(KINDS)}
        raise ValidationError({"kind": ValidationError(message, code="invalid_choice")})
    return Export(tenant, KINDS[name], *parse_period(query, today))


class _Cells:
    """Turns a database row into the cells of a file: text neutralised, instants in the seller's
    zone; amounts quantised to the currency's decimals and left to ``amount``."""

    def __init__(self, export: Export, amount: Callable[[Decimal], Any]) -> None:
        self.columns = export.kind.columns
        self.zone = local_zone(export.tenant)
        self.cents = SITES[export.tenant.site].smallest_amount
        self.amount = amount

    def __call__(self, row: tuple) -> list:
        return [self.cell(column, value) for column, value in zip(self.columns, row, strict=True)]

    def cell(self, column: Column, value: Any) -> Any:
        if value is None:
            return ""
        if column.type == "amount":
            return self.amount(value.quantize(self.cents))
        if column.type == "instant":
            return value.astimezone(self.zone).isoformat()
        return neutralised(str(value))


class _Line:
    """A file-like that hands back what ``csv.writer`` writes to it (Django's streaming CSV)."""

    def write(self, line: str) -> str:
        return line


def csv_response(export: Export) -> StreamingHttpResponse:
    """The export as a streamed UTF-8 CSV download; amounts like ``1500.50``."""
    writer, cells = csv.writer(_Line()), _Cells(export, lambda amount: f"{amount:f}")
    lines = (writer.writerow(line) for line in _with_header(export, map(cells, export.rows())))
    return StreamingHttpResponse(
        lines,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": _attachment(export.filename("csv"))},
    )


def xlsx_response(export: Export) -> FileResponse:
    """The export as an XLSX download: one sheet, a bold header, amounts as numeric cells with
    the currency's number format."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(export.kind.name)
    amount_format = AMOUNT_FORMATS[SITES[export.tenant.site].decimal_places]

    def amount_cell(amount: Decimal) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=amount)
        cell.number_format = amount_format
        return cell

    def header_cell(header: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = Font(bold=True)
        return cell

    cells = _Cells(export, amount_cell)
    sheet.append([header_cell(header) for header in export.headers()])
    for row in export.rows():  # XML has no place for most control characters: dropped
        sheet.append(
            [
                ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value
                for value in cells(row)
            ]
        )
    file = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it once sent)
    workbook.save(file)
    file.seek(0)
    return FileResponse(
        file,
        as_attachment=True,
        filename=export.filename("xlsx"),
        content_type=XLSX_CONTENT_TYPE,
    )


def _with_header(export: Export, rows: Iterator[list]) -> Iterator[list]:
    yield export.headers()
    yield from rows


def _attachment(filename: str) -> str:
    return content_disposition_header(as_attachment=True, filename=filename)
