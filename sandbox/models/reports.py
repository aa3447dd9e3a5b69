"""Mercado Pago's account reports: each seller's report configuration and generated reports."""

from django.db import models
from django.utils import timezone

from sandbox.models.accounts import Account

__all__ = ["Report", "ReportConfig", "ReportType"]


class ReportType(models.TextChoices):
    SETTLEMENT = "settlement"  # /v1/account/settlement_report
    RELEASE = "release"  # /v1/account/release_report


class ReportConfig(models.Model):
    """A seller's configuration of one report, as ``…/config`` answers it (``data``).

    ``scheduled`` is the read-only flag that ``POST``/``DELETE …/schedule`` turn on and off.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="report_configs")
    report_type = models.CharField(max_length=12, choices=ReportType.choices)
    data = models.JSONField(default=dict)
    scheduled = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "report_type"], name="sandbox_report_config_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.report_type} report config of {self.account}"


class Report(models.Model):
    """A report asked for (``manual``) or scheduled (``schedule``).

    ``pending`` until the sandbox generates it (``sandbox.reports.process_due``), then
    ``processed`` with its ``file_name`` and CSV ``content``; a schedule's next report, still
    pending, is ``deleted`` when the schedule is.
    """

    class CreatedFrom(models.TextChoices):
        MANUAL = "manual"
        SCHEDULE = "schedule"

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSED = "processed"
        DELETED = "deleted"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="reports")
    report_type = models.CharField(max_length=12, choices=ReportType.choices)
    begin_date = models.DateTimeField()
    end_date = models.DateTimeField()
    created_from = models.CharField(max_length=8, choices=CreatedFrom.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    generation_date = models.DateTimeField(default=timezone.now)  # when it is (to be) generated
    file_name = models.CharField(max_length=200, blank=True)
    content = models.TextField(blank=True)
    retries = models.PositiveSmallIntegerField(default=0)
    date_created = models.DateTimeField(default=timezone.now)
    last_modified = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["status", "generation_date"])]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "report_type", "file_name"],
                condition=~models.Q(file_name=""),
                name="sandbox_report_unique_file_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.report_type} report {self.pk}"
