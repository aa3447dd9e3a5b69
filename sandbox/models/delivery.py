"""OAuth authorization codes, notification deliveries and fault injection."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction

from sandbox.models.accounts import Account, Application, Event

__all__ = ["AuthorizationCode", "Delivery", "DeliveryAttempt", "FaultSettings", "RefundOutcome"]


class AuthorizationCode(models.Model):
    """A ``TG-…`` code handed to the redirect URI: valid 10 minutes, exchanged at most once."""

    code = models.CharField(max_length=80, unique=True)
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="authorization_codes"
    )
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="authorization_codes"
    )
    redirect_uri = models.URLField(max_length=500)
    scope = models.CharField(max_length=100)
    code_challenge = models.CharField(max_length=128, blank=True)
    code_challenge_method = models.CharField(max_length=5, blank=True)  # S256 or plain
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"authorization code for {self.account}"


class Delivery(models.Model):
    """One copy of an event on its way to its URL: its attempts and the time of the next one.

    An event has one delivery, none when there is nowhere to send it, and two when fault
    injection duplicates it.
    """

    class Status(models.TextChoices):
        PENDING = "pending"  # not yet answered 200/201; ``next_attempt_at`` says when to try
        DELIVERED = "delivered"
        DROPPED = "dropped"  # lost on purpose by fault injection; never sent

    class Fault(models.TextChoices):
        NONE = "", "none"
        DROPPED = "dropped"
        DUPLICATE = "duplicate"  # the second copy of a duplicated event
        DELAYED = "delayed"
        REORDERED = "reordered"  # held back until a later event has been sent

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    url = models.URLField(max_length=1000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    fault = models.CharField(max_length=10, choices=Fault.choices, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"delivery of {self.event} ({self.status})"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery and how it went."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()  # sent as X-Retry: 0 on the first try
    request_id = models.CharField(max_length=36)
    request_headers = models.JSONField(default=dict)
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # None: no answer
    error = models.CharField(max_length=500, blank=True)
    response_body = models.TextField(blank=True)  # the first kilobyte

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="sandbox_attempt_number")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery}"


def default_error_statuses() -> list[int]:
    return [500, 502, 503, 429]


def rate_field(help_text: str) -> models.DecimalField:
    return models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
        help_text=help_text,
    )


class RefundOutcome(models.TextChoices):
    APPROVED = "approved"
    REJECTED = "rejected"
    PENDING = "pending"


class FaultSettings(models.Model):
    """The sandbox's one set of injected faults (a single row), and how many draws it has made.

    The fate of the n-th affected API request and of the n-th notification is a pure function
    of ``seed`` and n (``sandbox.faults``); saving new settings starts counting from zero again.
    """

    seed = models.BigIntegerField(default=0)
    # API requests
    path_regex = models.CharField(
        max_length=200,
        blank=True,
        help_text="Only API paths matching this regex (searched in the path after /sandbox, "
        "e.g. ^/v1/orders) are affected; empty: all of them.",
    )
    error_rate = rate_field("Share of affected requests answered with an error, 0 to 1.")
    error_statuses = models.JSONField(
        default=default_error_statuses, help_text="The statuses errors are drawn from."
    )
    retry_after_seconds = models.PositiveIntegerField(
        default=1, help_text="Retry-After of injected 429s."
    )
    latency_ms = models.PositiveIntegerField(
        default=0, help_text="Added before every affected request."
    )
    timeout_rate = rate_field(
        "Share of affected requests processed whose response is then withheld, 0 to 1."
    )
    timeout_seconds = models.DecimalField(
        max_digits=7,
        decimal_places=3,
        default=Decimal(30),
        validators=[MinValueValidator(Decimal(0))],
        help_text="How long a timed-out response is withheld.",
    )
    # Notifications (webhooks and IPN)
    webhook_drop_rate = rate_field("Share of notifications never sent, 0 to 1.")
    webhook_duplicate_rate = rate_field("Share of notifications sent twice, 0 to 1.")
    webhook_delay_rate = rate_field("Share of notifications sent late, 0 to 1.")
    webhook_delay_seconds = models.PositiveIntegerField(
        default=60, help_text="How late a delayed notification is first sent."
    )
    webhook_reorder_rate = rate_field(
        "Share of notifications held back until a later one has been sent, 0 to 1."
    )
    # Refunds (made in_process, completed by the next settlement: sandbox.lifecycle.settle_due)
    refund_outcome = models.CharField(
        max_length=10,
        choices=RefundOutcome.choices,
        default=RefundOutcome.APPROVED,
        help_text="How refunds in process end at settlement: approved, rejected, or kept "
        "in process (pending).",
    )
    refund_delay_seconds = models.PositiveIntegerField(
        default=0,
        help_text="How long a new refund stays in process at least; 0: until the next read "
        "or settlement.",
    )
    # Draws made since the settings were saved
    request_count = models.PositiveBigIntegerField(default=0, editable=False)
    webhook_count = models.PositiveBigIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "fault settings"

    def __str__(self) -> str:
        return f"faults (seed {self.seed})"

    @classmethod
    def current(cls) -> "FaultSettings":
        """The settings in force (all zero until someone sets them)."""
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings

    @property
    def affects_requests(self) -> bool:
        return bool(self.error_rate or self.timeout_rate or self.latency_ms)

    @property
    def affects_notifications(self) -> bool:
        return bool(
            self.webhook_drop_rate
            or self.webhook_duplicate_rate
            or self.webhook_delay_rate
            or self.webhook_reorder_rate
        )

    def take_number(self, counter: str) -> int:
        """Count one more draw on ``counter`` (``request_count`` or ``webhook_count``).

        Returns its 0-based number; concurrent callers never get the same one.
        """
        with transaction.atomic():
            FaultSettings.objects.filter(pk=self.pk).update(**{counter: models.F(counter) + 1})
            return FaultSettings.objects.values_list(counter, flat=True).get(pk=self.pk) - 1
