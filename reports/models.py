"""Mercado Pago's account reports as downloaded for each seller, their lines, and what matching
them with the platform's own payments, refunds and disputes found (docs/reconciliation.md).

Only ``reports.services`` writes these rows.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orders.models import AMOUNT, Order, Payment, Refund
from tenants.models import TenantOwnedModel


class ReportKind(models.TextChoices):
    """Which report; the value is Mercado Pago's path segment (``mpapi.reports.ReportKind``)."""

    SETTLEMENT = "settlement_report", _("Settlement report")
    RELEASE = "release_report", _("Release report")


class ReportFile(TenantOwnedModel):
    """One report of a seller's account for a period: asked for, then downloaded by name.

    A report asked for here is ``requested`` (no file name yet) until Mercado Pago lists it
    generated; one Mercado Pago generated on a schedule is recorded when first listed.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        AVAILABLE = "available", _("Available")
        DOWNLOADED = "downloaded", _("Downloaded")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("report"), max_length=20, choices=ReportKind.choices)
    mp_report_id = models.BigIntegerField(_("Mercado Pago report id"), null=True, blank=True)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    begin_date = models.DateTimeField(_("period begins"))
    end_date = models.DateTimeField(_("period ends"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED
    )
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    error = models.TextField(_("error"), blank=True)
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    downloaded_at = models.DateTimeField(_("downloaded at"), null=True, blank=True)
    matched_at = models.DateTimeField(_("matched at"), null=True, blank=True)

    class Meta:
        verbose_name = _("report file")
        verbose_name_plural = _("report files")
        ordering = ["-end_date", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "file_name"],
                condition=~Q(file_name=""),
                name="report_file_name_unique_per_tenant",
            ),
            models.UniqueConstraint(
                fields=["tenant", "kind", "mp_report_id"],
                condition=Q(mp_report_id__isnull=False),
                name="report_mp_id_unique_per_tenant",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status"], name="report_file_tenant_status")]

    def __str__(self) -> str:
        return self.file_name or f"{self.get_kind_display()} {self.begin_date:%Y-%m-%d}"


class ReportLine(TenantOwnedModel):
    """One line of a downloaded report: the fields matching reads, and every column as written.

    ``kind`` is the line's ``TRANSACTION_TYPE`` (settlement report) or ``DESCRIPTION`` (release
    report) as written; amounts are signed from the seller's side (fees and refunds negative).
    """

    report = models.ForeignKey(
        ReportFile, on_delete=models.CASCADE, related_name="lines", verbose_name=_("report")
    )
    number = models.PositiveIntegerField(_("line"))
    kind = models.CharField(_("type"), max_length=40, blank=True)
    record_type = models.CharField(_("record type"), max_length=40, blank=True)
    source_id = models.CharField(_("source id"), max_length=40, blank=True)
    external_reference = models.CharField(_("external reference"), max_length=256, blank=True)
    mp_order_id = models.CharField(_("order id"), max_length=40, blank=True)
    refund_id = models.CharField(_("refund id"), max_length=40, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    gross_amount = models.DecimalField(**AMOUNT, null=True, blank=True, verbose_name=_("gross"))
    fee_amount = models.DecimalField(**AMOUNT, null=True, blank=True, verbose_name=_("fees"))
    marketplace_fee_amount = models.DecimalField(
        **AMOUNT, null=True, blank=True, verbose_name=_("marketplace fee")
    )
    net_amount = models.DecimalField(**AMOUNT, null=True, blank=True, verbose_name=_("net"))
    date = models.DateTimeField(_("date"), null=True, blank=True)
    values = models.JSONField(_("columns"), default=dict)

    class Meta:
        verbose_name = _("report line")
        verbose_name_plural = _("report lines")
        ordering = ["report", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "report", "number"], name="report_line_unique_per_report"
            )
        ]
        indexes = [models.Index(fields=["tenant", "source_id"], name="report_line_source")]

    def __str__(self) -> str:
        return f"{self.report} #{self.number}"


class Mismatch(TenantOwnedModel):
    """A difference between a report and the platform's records, found by matching the report.

    It is open until matching no longer finds it (after a refresh from Mercado Pago, or a later
    match) or someone resolves it; a resolved one stays resolved when the report is matched
    again.
    """

    class Kind(models.TextChoices):
        UNKNOWN_PAYMENT = "unknown_payment", _("Payment unknown here")
        AMOUNT_DIFFERS = "amount_differs", _("Amount differs")
        REFUND_MISSING_HERE = "refund_missing_here", _("Refund missing here")
        REFUND_MISSING_IN_REPORT = "refund_missing_in_report", _("Refund missing in the report")
        PAYMENT_MISSING_IN_REPORT = "payment_missing_in_report", _("Payment missing in the report")
        CHARGEBACK_UNKNOWN = "chargeback_unknown", _("Chargeback unknown here")

    class Field(models.TextChoices):
        GROSS = "gross", _("gross amount")
        MARKETPLACE_FEE = "marketplace_fee", _("marketplace fee")
        REFUND = "refund", _("refund amount")

    class Resolution(models.TextChoices):
        REFRESHED = "refreshed", _("Refreshed from Mercado Pago")
        REMATCHED = "rematched", _("Gone when the report was matched again")

    report = models.ForeignKey(
        ReportFile, on_delete=models.CASCADE, related_name="mismatches", verbose_name=_("report")
    )
    line = models.ForeignKey(
        ReportLine,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mismatches",
        verbose_name=_("report line"),
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    field = models.CharField(_("what differs"), max_length=20, choices=Field.choices, blank=True)
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("order")
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("payment")
    )
    refund = models.ForeignKey(
        Refund, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("refund")
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    expected = models.DecimalField(
        **AMOUNT,
        null=True,
        blank=True,
        verbose_name=_("here"),
        help_text=_("The platform's amount."),
    )
    found = models.DecimalField(
        **AMOUNT,
        null=True,
        blank=True,
        verbose_name=_("in the report"),
        help_text=_("Mercado Pago's amount."),
    )
    found_at = models.DateTimeField(_("found at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.CharField(
        _("resolved by"), max_length=20, choices=Resolution.choices, blank=True
    )

    class Meta:
        verbose_name = _("mismatch")
        verbose_name_plural = _("mismatches")
        ordering = ["-found_at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "resolved_at"], name="mismatch_tenant_open"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.report})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
