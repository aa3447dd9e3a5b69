"""Mercado Pago's account reports for each seller: configured, asked for, downloaded, and matched
with the platform's payments, refunds and disputes (docs/reconciliation.md).

Every function takes the tenant explicitly and works inside its scope.
"""

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from disputes.models import Dispute
from mpapi import MercadoPagoError, NotFound
from mpapi import reports as mp_reports
from orders import remote
from orders import services as order_services
from orders.models import Order, Payment, Refund
from reports.models import Mismatch, ReportFile, ReportKind, ReportLine
from tenants.models import MercadoPagoCredential, Tenant
from tenants.scope import cross_tenant_scope, tenant_scope
from tenants.sites import SITES

logger = logging.getLogger(__name__)

KINDS = (ReportKind.SETTLEMENT, ReportKind.RELEASE)
# The columns matching reads; ensure_config adds any a seller's configuration leaves out.
REQUIRED_COLUMNS = {
    ReportKind.SETTLEMENT: (
        "EXTERNAL_REFERENCE",
        "SOURCE_ID",
        "TRANSACTION_TYPE",
        "TRANSACTION_AMOUNT",
        "TRANSACTION_CURRENCY",
        "TRANSACTION_DATE",
        "FEE_AMOUNT",
        "SETTLEMENT_NET_AMOUNT",
        "METADATA",
        "MKP_FEE_AMOUNT",
        "ORDER_ID",
    ),
    ReportKind.RELEASE: (
        "DATE",
        "SOURCE_ID",
        "EXTERNAL_REFERENCE",
        "RECORD_TYPE",
        "DESCRIPTION",
        "NET_CREDIT_AMOUNT",
        "NET_DEBIT_AMOUNT",
        "GROSS_AMOUNT",
        "MP_FEE_AMOUNT",
    ),
}
# A line's TRANSACTION_TYPE (settlement report) or DESCRIPTION (release report), lower-cased.
PAYMENT_LINES = {"settlement", "payment"}
REFUND_LINES = {"refund"}
CHARGEBACK_LINES = {"chargeback"}
# Release report lines that are not movements (the balance before and after the period, ...).
MOVEMENT_RECORD_TYPES = {"", "release"}


def _mp_kind(kind: str) -> mp_reports.ReportKind:
    return mp_reports.ReportKind(kind)


# Configuration and download --------------------------------------------------------------------


def ensure_config(tenant: Tenant) -> None:
    """Make each report's configuration in Mercado Pago carry the columns matching reads: create
    it when the seller has none, add the missing columns to the seller's own otherwise."""
    with remote.seller_client(tenant) as seller:
        for kind in KINDS:
            required = REQUIRED_COLUMNS[kind]
            try:
                config = seller.mp.get_report_config(seller.token, _mp_kind(kind))
            except NotFound:
                request = mp_reports.ReportConfigRequest(columns=required)
                seller.mp.create_report_config(seller.token, _mp_kind(kind), request)
                continue
            missing = [column for column in required if column not in config.columns]
            if missing:
                request = mp_reports.ReportConfigRequest(columns=(*config.columns, *missing))
                seller.mp.update_report_config(seller.token, _mp_kind(kind), request)


def request_report(tenant: Tenant, kind: str, begin: datetime, end: datetime) -> ReportFile:
    """Ask Mercado Pago for ``kind`` of the period ``begin``..``end`` (once: asking again for the
    same period answers the report already asked for). When Mercado Pago creates no report
    (203: a period longer than a year) it is asked again, once, for the dates it indicates, and
    the file keeps those dates; a second refusal raises ``mpapi.ReportNotCreated``."""
    with tenant_scope(tenant):
        asked = ReportFile.objects.filter(kind=kind, begin_date=begin, end_date=end).first()
        if asked is not None:
            return asked
        with remote.seller_client(tenant) as seller:
            try:
                task = seller.mp.generate_report(
                    seller.token, _mp_kind(kind), begin_date=begin, end_date=end
                )
            except mp_reports.ReportNotCreated as refused:
                # Created nothing (203): ask once more with the dates Mercado Pago indicates.
                begin, end = refused.begin_date or begin, refused.end_date or end
                task = seller.mp.generate_report(
                    seller.token, _mp_kind(kind), begin_date=begin, end_date=end
                )
        return ReportFile.objects.create(
            tenant=tenant, kind=kind, mp_report_id=task.id, begin_date=begin, end_date=end
        )


def request_yesterdays_reports(tenant: Tenant, now: datetime | None = None) -> list[ReportFile]:
    """Both reports of yesterday, the seller's day (its site's time zone), asked for once."""
    zone = ZoneInfo(SITES[tenant.site].time_zone)
    today = (now or timezone.now()).astimezone(zone).date()
    begin = datetime.combine(today - timedelta(days=1), time.min, tzinfo=zone)
    end = begin + timedelta(days=1) - timedelta(seconds=1)
    return [request_report(tenant, kind, begin, end) for kind in KINDS]


def fetch_available(tenant: Tenant) -> list[ReportFile]:
    """Download every report Mercado Pago lists as generated that is not downloaded here yet
    (asked for here or scheduled), storing its lines; the files downloaded now."""
    downloaded = []
    with remote.seller_client(tenant) as seller:
        for kind in KINDS:
            for task in seller.mp.list_reports(seller.token, _mp_kind(kind)):
                if not task.available:
                    continue
                report = _record(tenant, kind, task)
                if report.status == ReportFile.Status.DOWNLOADED:
                    continue
                if _download(tenant, seller, report):
                    downloaded.append(report)
    return downloaded


def _record(tenant: Tenant, kind: str, task: mp_reports.ReportTask) -> ReportFile:
    """The local row of a generated report: the one asked for (by id), else by file name."""
    with tenant_scope(tenant):
        same = Q(mp_report_id=task.id) | Q(file_name=task.file_name)
        report = ReportFile.objects.filter(same, kind=kind).first()
        if report is None:
            return ReportFile.objects.create(
                tenant=tenant,
                kind=kind,
                mp_report_id=task.id,
                file_name=task.file_name,
                begin_date=task.begin_date or task.date_created or timezone.now(),
                end_date=task.end_date or task.date_created or timezone.now(),
                status=ReportFile.Status.AVAILABLE,
            )
        if report.status == ReportFile.Status.REQUESTED:
            report.file_name, report.status = task.file_name, ReportFile.Status.AVAILABLE
            report.save(update_fields=["file_name", "status"])
        return report


def _download(tenant: Tenant, seller: remote.Seller, report: ReportFile) -> bool:
    """Download ``report`` and store its lines; whether it worked (else it is ``failed``, and
    the next fetch tries again)."""
    try:
        lines = seller.mp.download_report_lines(
            seller.token, _mp_kind(report.kind), report.file_name
        )
    except (MercadoPagoError, ValueError) as error:
        logger.warning("report %s of seller %s not downloaded: %s", report.pk, tenant.pk, error)
        with tenant_scope(tenant):
            report.status, report.error = ReportFile.Status.FAILED, str(error)[:1000]
            report.save(update_fields=["status", "error"])
        return False
    with tenant_scope(tenant), transaction.atomic():
        report.lines.all().delete()
        ReportLine.objects.bulk_create(
            _line(tenant, report, number, line) for number, line in enumerate(lines, start=1)
        )
        report.status, report.error = ReportFile.Status.DOWNLOADED, ""
        report.line_count, report.downloaded_at = len(lines), timezone.now()
        report.save(update_fields=["status", "error", "line_count", "downloaded_at"])
    return True


def _line(tenant: Tenant, report: ReportFile, number: int, line: mp_reports.ReportLine):
    return ReportLine(
        tenant=tenant,
        report=report,
        number=number,
        kind=line.kind or "",
        record_type=line.record_type or "",
        source_id=line.source_id or "",
        external_reference=line.external_reference or "",
        mp_order_id=line.order_id or "",
        refund_id=_refund_id(line.values.get("METADATA")),
        currency=(line.currency or "")[:3],
        gross_amount=line.gross_amount,
        fee_amount=line.fee_amount,
        marketplace_fee_amount=line.marketplace_fee_amount,
        net_amount=line.net_amount,
        date=line.date,
        values=dict(line.values),
    )


def _refund_id(metadata: str | None) -> str:
    """The ``refund_id`` of a refund line's ``METADATA`` (``[{"refund_id": "…"}]``)."""
    try:
        entries = json.loads(metadata or "[]")
    except json.JSONDecodeError:
        return ""
    for entry in entries if isinstance(entries, list) else [entries]:
        if isinstance(entry, dict) and entry.get("refund_id"):
            return str(entry["refund_id"])
    return ""


# Matching --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A mismatch as matching finds it (what identifies it: kind, field, line, payment,
    refund)."""

    kind: str
    line: ReportLine | None = None
    field: str = ""
    order: Order | None = None
    payment: Payment | None = None
    refund: Refund | None = None
    currency: str = ""
    expected: Decimal | None = None
    found: Decimal | None = None

    @property
    def key(self) -> tuple:
        return (
            self.kind,
            self.field,
            self.line.pk if self.line else None,
            self.payment.pk if self.payment else None,
            self.refund.pk if self.refund else None,
        )


def _key(mismatch: Mismatch) -> tuple:
    return (
        mismatch.kind,
        mismatch.field,
        mismatch.line_id,
        mismatch.payment_id,
        mismatch.refund_id,
    )


def match(tenant: Tenant, report_file: ReportFile) -> list[Mismatch]:
    """Match a downloaded report with local payments, refunds and disputes (the rules are in
    docs/reconciliation.md); the report's open mismatches afterwards.

    Idempotent: an open mismatch found again stays (its amounts updated), one no longer found is
    resolved (``rematched``), a resolved one stays resolved and is not opened again.
    """
    with tenant_scope(tenant), transaction.atomic():
        report = ReportFile.objects.select_for_update().get(pk=report_file.pk)
        findings = {finding.key: finding for finding in _findings(report)}
        now = timezone.now()
        for mismatch in report.mismatches.all():
            finding = findings.pop(_key(mismatch), None)
            if not mismatch.is_open:
                continue
            if finding is None:
                mismatch.resolved_at, mismatch.resolution = now, Mismatch.Resolution.REMATCHED
            else:
                mismatch.expected, mismatch.found = finding.expected, finding.found
            mismatch.save(update_fields=["resolved_at", "resolution", "expected", "found"])
        Mismatch.objects.bulk_create(
            Mismatch(
                tenant=tenant,
                report=report,
                line=finding.line,
                kind=finding.kind,
                field=finding.field,
                order=finding.order or (finding.payment.order if finding.payment else None),
                payment=finding.payment,
                refund=finding.refund,
                currency=finding.currency,
                expected=finding.expected,
                found=finding.found,
            )
            for finding in findings.values()
        )
        report.matched_at = now
        report.save(update_fields=["matched_at"])
        return list(report.mismatches.filter(resolved_at__isnull=True).order_by("pk"))


def _findings(report: ReportFile) -> Iterable[Finding]:
    lines = [
        line
        for line in report.lines.order_by("number")
        if line.record_type.lower() in MOVEMENT_RECORD_TYPES
    ]
    payments = _Payments(lines)
    matched_payments: set[int] = set()
    matched_refunds: set[int] = set()
    for line in lines:
        kind = line.kind.lower()
        if kind in PAYMENT_LINES:
            yield from _payment_line(line, payments, matched_payments)
        elif kind in REFUND_LINES:
            yield from _refund_line(line, payments, matched_refunds)
        elif kind in CHARGEBACK_LINES:
            yield from _chargeback_line(line, payments)
    if report.kind == ReportKind.SETTLEMENT:
        yield from _missing_in_report(report, matched_payments, matched_refunds)


class _Payments:
    """The local payments a report's lines name, read at once: by Mercado Pago payment id
    (``reference_id``, or ``mp_payment_id`` for the legacy API), else by external reference."""

    def __init__(self, lines: list[ReportLine]):
        ids = {line.source_id for line in lines if line.source_id}
        references = {line.external_reference for line in lines if line.external_reference}
        rows = Payment.objects.select_related("order").filter(
            Q(reference_id__in=ids)
            | Q(mp_payment_id__in=ids)
            | Q(order__external_reference__in=references)
        )
        self.by_id: dict[str, Payment] = {}
        self.by_reference: dict[str, list[Payment]] = {}
        for payment in rows:
            for payment_id in {payment.reference_id, payment.mp_payment_id} & ids:
                self.by_id[payment_id] = payment
            self.by_reference.setdefault(payment.order.external_reference, []).append(payment)

    def of(self, line: ReportLine) -> Payment | None:
        found = self.by_id.get(line.source_id)
        if found is not None:
            return found
        candidates = self.by_reference.get(line.external_reference, [])
        paid = [payment for payment in candidates if payment.paid_amount > 0]  # not a declined one
        return paid[0] if len(paid) == 1 else None


def _order_of(line: ReportLine) -> Order | None:
    """The local order a line names by external reference or Mercado Pago order id."""
    named = Q(external_reference=line.external_reference) if line.external_reference else Q()
    if line.mp_order_id:
        named |= Q(mp_order_id=line.mp_order_id)
    return Order.objects.filter(named).first() if named else None


def _payment_line(line: ReportLine, payments: _Payments, matched: set[int]) -> Iterable[Finding]:
    payment = payments.of(line)
    if payment is None:
        yield Finding(
            Mismatch.Kind.UNKNOWN_PAYMENT,
            line,
            order=_order_of(line),
            currency=line.currency,
            found=line.gross_amount,
        )
        return
    matched.add(payment.pk)
    order = payment.order
    if line.gross_amount is not None and line.gross_amount != payment.paid_amount:
        yield Finding(
            Mismatch.Kind.AMOUNT_DIFFERS,
            line,
            Mismatch.Field.GROSS,
            payment=payment,
            currency=order.currency,
            expected=payment.paid_amount,
            found=line.gross_amount,
        )
    if line.marketplace_fee_amount is not None:
        charged = -line.marketplace_fee_amount
        recorded = order.marketplace_fee or Decimal(0)
        if charged != recorded:
            yield Finding(
                Mismatch.Kind.AMOUNT_DIFFERS,
                line,
                Mismatch.Field.MARKETPLACE_FEE,
                payment=payment,
                currency=order.currency,
                expected=recorded,
                found=charged,
            )


def _refund_line(line: ReportLine, payments: _Payments, matched: set[int]) -> Iterable[Finding]:
    """A refund line matches the local refund with its Mercado Pago id, else a completed refund
    of the same payment and amount not matched yet; it must be completed here too."""
    amount = -line.gross_amount if line.gross_amount is not None else None
    payment = payments.of(line)
    refund = None
    if line.refund_id:
        refund = Refund.objects.filter(mp_refund_id=line.refund_id).first()
    if refund is None and payment is not None:
        refund = (
            Refund.objects.filter(payment=payment, amount=amount, status=Refund.Status.PROCESSED)
            .exclude(pk__in=matched)
            .order_by("pk")
            .first()
        )
    if refund is None or refund.status != Refund.Status.PROCESSED:
        yield Finding(
            Mismatch.Kind.REFUND_MISSING_HERE,
            line,
            order=payment.order if payment else _order_of(line),
            payment=payment,
            refund=refund,
            currency=line.currency,
            expected=refund.amount if refund else None,
            found=amount,
        )
        return
    matched.add(refund.pk)
    if amount is not None and refund.amount != amount:
        yield Finding(
            Mismatch.Kind.AMOUNT_DIFFERS,
            line,
            Mismatch.Field.REFUND,
            order=refund.order,
            payment=refund.payment,
            refund=refund,
            currency=line.currency,
            expected=refund.amount,
            found=amount,
        )


def _chargeback_line(line: ReportLine, payments: _Payments) -> Iterable[Finding]:
    """A chargeback line matches a dispute of the same payment."""
    payment = payments.of(line)
    disputed = Q(mp_payment_id=line.source_id) if line.source_id else Q(pk__in=[])
    if payment is not None:
        disputed |= Q(payment=payment)
    if not Dispute.objects.filter(disputed).exists():
        yield Finding(
            Mismatch.Kind.CHARGEBACK_UNKNOWN,
            line,
            order=payment.order if payment else _order_of(line),
            payment=payment,
            currency=line.currency,
            found=line.gross_amount,
        )


def _missing_in_report(
    report: ReportFile, matched_payments: set[int], matched_refunds: set[int]
) -> Iterable[Finding]:
    """Payments approved and refunds completed here inside the report's period, with no line."""
    period = (report.begin_date, report.end_date)
    paid = Payment.objects.select_related("order").filter(
        approved_at__range=period, paid_amount__gt=0
    )
    for payment in paid.exclude(pk__in=matched_payments):
        yield Finding(
            Mismatch.Kind.PAYMENT_MISSING_IN_REPORT,
            payment=payment,
            currency=payment.order.currency,
            expected=payment.paid_amount,
        )
    refunds = Refund.objects.select_related("order", "payment").filter(
        status=Refund.Status.PROCESSED, processed_at__range=period
    )
    for refund in refunds.exclude(pk__in=matched_refunds):
        yield Finding(
            Mismatch.Kind.REFUND_MISSING_IN_REPORT,
            payment=refund.payment,
            refund=refund,
            currency=refund.order.currency,
            expected=refund.amount,
        )


def fetch_and_match(tenant: Tenant) -> list[Mismatch]:
    """Download the reports Mercado Pago has generated and match each; the open mismatches
    they left."""
    return [mismatch for report in fetch_available(tenant) for mismatch in match(tenant, report)]


def resolve_by_refresh(tenant: Tenant, mismatch: Mismatch) -> bool:
    """Refresh the mismatch's order from Mercado Pago, then match its report again; whether the
    mismatch is gone (then resolved as ``refreshed``)."""
    with tenant_scope(tenant):
        mismatch = Mismatch.objects.select_related("order", "line").get(pk=mismatch.pk)
        if not mismatch.is_open:
            return True
        order = mismatch.order or (_order_of(mismatch.line) if mismatch.line else None)
    if order is not None:
        order_services.refresh_order(tenant=tenant, order=order)
    with tenant_scope(tenant), transaction.atomic():
        match(tenant, mismatch.report)
        mismatch.refresh_from_db()
        if mismatch.resolution == Mismatch.Resolution.REMATCHED:
            mismatch.resolution = Mismatch.Resolution.REFRESHED
            mismatch.save(update_fields=["resolution"])
    return not mismatch.is_open


def connected_tenants() -> list[Tenant]:
    """Active sellers with a usable Mercado Pago connection (whose reports are fetched)."""
    with cross_tenant_scope():
        connected = MercadoPagoCredential.objects.filter(
            status=MercadoPagoCredential.Status.CONNECTED
        ).values("tenant_id")
        return list(Tenant.objects.filter(status=Tenant.Status.ACTIVE, pk__in=connected))
