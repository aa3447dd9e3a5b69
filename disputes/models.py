"""Disputes: the chargebacks Mercado Pago opens on a seller's payments, as Mercado Pago says.

A ``Dispute`` mirrors one Mercado Pago chargeback (``GET /v1/chargebacks/{id}``): only
``disputes.services`` writes it, from what Mercado Pago answers (docs/disputes.md).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.models import AMOUNT, Order, Payment
from tenants.models import TenantOwnedModel


class Dispute(TenantOwnedModel):
    """A chargeback of (part of) a payment: its amount, its documentation deadline, its outcome.

    ``status`` is Mercado Pago's (``opened`` until the case is decided, then ``closed``); a
    closed case was decided for the seller when ``coverage_applied``. ``payment`` and ``order``
    are empty when the payment it names is not one of this platform's.
    """

    class Status(models.TextChoices):
        OPENED = "opened", _("Open")
        CLOSED = "closed", _("Closed")

    mp_chargeback_id = models.CharField(_("Mercado Pago chargeback id"), max_length=64)
    payment = models.ForeignKey(
        Payment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="disputes",
        verbose_name=_("payment"),
    )
    order = models.ForeignKey(
        Order,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="disputes",
        verbose_name=_("order"),
    )
    mp_payment_id = models.CharField(_("disputed payment id"), max_length=40, blank=True)
    amount = models.DecimalField(**AMOUNT, verbose_name=_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    documentation_required = models.BooleanField(_("documentation required"), default=False)
    documentation_status = models.CharField(_("documentation status"), max_length=40, blank=True)
    deadline = models.DateTimeField(
        _("documentation deadline"),
        null=True,
        blank=True,
        help_text=_("The last moment to send Mercado Pago the documentation of the sale."),
    )
    coverage_applied = models.BooleanField(
        _("covered"),
        default=False,
        help_text=_("Mercado Pago covered the seller: it keeps the money."),
    )
    mp_created_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    mp_last_updated = models.DateTimeField(_("updated in Mercado Pago at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "mp_chargeback_id"], name="dispute_mp_id_unique_per_tenant"
            )
        ]
        indexes = [models.Index(fields=["tenant", "status"], name="dispute_tenant_status")]

    def __str__(self) -> str:
        return f"dispute {self.mp_chargeback_id}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPENED
