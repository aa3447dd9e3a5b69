"""Chargebacks: a buyer disputes a paid payment with the card issuer."""

from django.db import models
from django.utils import timezone

from sandbox.models.accounts import Account
from sandbox.models.commerce import Payment

__all__ = ["Chargeback"]


class Chargeback(models.Model):
    """A chargeback of (part of) a paid payment, as ``GET /v1/chargebacks/{id}`` shows it.

    ``status`` is ``opened`` until the case is decided, then ``closed``: for the seller when
    ``coverage_applied`` (the seller keeps the money), for the buyer otherwise.
    """

    class Status(models.TextChoices):
        OPENED = "opened"
        CLOSED = "closed"

    chargeback_id = models.CharField(max_length=32, unique=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="chargebacks")
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="chargebacks")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPENED)
    coverage_applied = models.BooleanField(default=False)
    coverage_elegible = models.BooleanField(default=True)  # sic: Mercado Pago's spelling
    documentation_required = models.BooleanField(default=True)
    documentation_status = models.CharField(max_length=20, default="pending")
    date_documentation_deadline = models.DateTimeField()
    date_created = models.DateTimeField(default=timezone.now)
    date_last_updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"chargeback {self.chargeback_id}"
