import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from pos import validators
from tenants.models import TenantOwnedModel


class SyncState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SYNCED = "synced", _("Synced")
    FAILED = "failed", _("Failed")


class SyncedWithMercadoPago(TenantOwnedModel):
    """A row mirrored in Mercado Pago: where its sync stands and Mercado Pago's last error."""

    sync_state = models.CharField(
        max_length=8,
        choices=SyncState.choices,
        default=SyncState.PENDING,
        editable=False,
        verbose_name=_("sync state"),
    )
    sync_error_code = models.CharField(
        max_length=100, blank=True, editable=False, verbose_name=_("sync error code")
    )
    sync_error_message = models.TextField(
        blank=True, editable=False, verbose_name=_("sync error message")
    )
    last_synced_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("last synced at")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        abstract = True

    def validate_constraints(self, exclude=None):
        """The only constraints are the per-seller unique external ids: name the field."""
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            raise ValidationError({"external_id": error.messages}) from error

    @property
    def sync_error(self) -> str:
        if not (self.sync_error_code or self.sync_error_message):
            return ""
        return f"{self.sync_error_code}: {self.sync_error_message}".strip(": ")


class Store(SyncedWithMercadoPago):
    """A seller's store ("sucursal") and its location, mirrored in Mercado Pago."""

    name = models.CharField(max_length=200, verbose_name=_("name"))
    external_id = models.CharField(
        _("external id"),
        max_length=60,
        validators=[validators.store_external_id],
        help_text=_("Your id for the store: 1 to 60 letters and digits."),
    )
    street_name = models.CharField(max_length=200, verbose_name=_("street name"))
    street_number = models.CharField(max_length=20, verbose_name=_("street number"))
    city = models.CharField(max_length=100, verbose_name=_("city"))
    state = models.CharField(max_length=100, verbose_name=_("state"))
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(Decimal("-90")), MaxValueValidator(Decimal("90"))],
        verbose_name=_("latitude"),
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(Decimal("-180")), MaxValueValidator(Decimal("180"))],
        verbose_name=_("longitude"),
    )
    reference = models.CharField(
        max_length=200, blank=True, help_text=_("A landmark."), verbose_name=_("reference")
    )
    business_hours = models.JSONField(
        default=dict,
        blank=True,
        validators=[validators.validate_business_hours],
        help_text=_('At most two ranges a day: {"monday": [{"open": "09:00", "close": "13:00"}]}'),
        verbose_name=_("business hours"),
    )
    mp_store_id = models.PositiveBigIntegerField(
        _("Mercado Pago store id"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"],
                name="store_external_id_unique_per_tenant",
                violation_error_message="This seller already has a store with this external id.",
            )
        ]

    def __str__(self) -> str:
        return self.name


def new_display_token() -> str:
    """An unguessable token for the URL of a POS's customer-facing display page."""
    return secrets.token_urlsafe(32)


class PointOfSale(SyncedWithMercadoPago):
    """A point of sale ("caja") of a store, with the fixed QR Mercado Pago gives it."""

    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, related_name="points_of_sale", verbose_name=_("store")
    )
    name = models.CharField(
        max_length=44, help_text=_("Shorter than 45 characters."), verbose_name=_("name")
    )
    external_id = models.CharField(
        _("external id"),
        max_length=39,
        validators=[validators.pos_external_id],
        help_text=_("Your id for the POS: 1 to 39 letters and digits; it cannot change later."),
    )
    # The seller's Mercado Pago connection (one per seller), joined through the tenant they
    # share: no column, it lets an order's create read its POS and credential in one query
    # (``select_related``). Neither a form field, nor dumped, nor validated (``clean_fields``).
    seller_credential = models.ForeignObject(
        "tenants.MercadoPagoCredential",
        on_delete=models.DO_NOTHING,
        from_fields=["tenant"],
        to_fields=["tenant"],
        related_name="+",
        null=True,
        editable=False,
        serialize=False,
    )
    fixed_amount = models.BooleanField(
        default=True,
        help_text=_("The buyer pays the order's amount and cannot type one."),
        verbose_name=_("fixed amount"),
    )
    category = models.PositiveIntegerField(
        _("category (MCC)"), null=True, blank=True, help_text=_("Gastronomy or gas station.")
    )
    mp_pos_id = models.PositiveBigIntegerField(
        _("Mercado Pago POS id"), null=True, blank=True, editable=False
    )
    qr_code = models.TextField(_("fixed QR (EMVCo)"), blank=True, editable=False)
    qr_image_url = models.URLField(
        max_length=500, blank=True, editable=False, verbose_name=_("qr image url")
    )
    qr_template_document_url = models.URLField(
        max_length=500, blank=True, editable=False, verbose_name=_("qr template document url")
    )
    qr_template_image_url = models.URLField(
        max_length=500, blank=True, editable=False, verbose_name=_("qr template image url")
    )
    display_token = models.CharField(
        max_length=64,
        default=new_display_token,
        editable=False,
        help_text=_("The secret part of the display page's URL; rotate it to revoke the old link."),
        verbose_name=_("display token"),
    )
    sticker_printed_at = models.DateTimeField(
        _("sticker first opened at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When a member of the seller first opened the POS's printable sticker."),
    )

    class Meta:
        verbose_name = _("point of sale")
        verbose_name_plural = _("points of sale")
        ordering = ["store__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"],
                name="pos_external_id_unique_per_tenant",
                violation_error_message="This seller already has a POS with this external id.",
            ),
            models.UniqueConstraint(
                fields=["tenant", "display_token"], name="pos_display_token_unique_per_tenant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store} · {self.name}"

    def clean_fields(self, exclude=None) -> None:
        """Each field's validation, but ``seller_credential``'s: a join, not a value (reading it
        would query, and fail for a seller not connected yet)."""
        super().clean_fields(exclude={*(exclude or ()), "seller_credential"})

    def clean(self) -> None:
        errors = {}
        if (
            self.store_id is not None
            and self.tenant_id is not None
            and self.store.tenant_id != self.tenant_id
        ):
            errors["store"] = "Choose a store of the same seller."
        if self.tenant_id is not None:
            try:
                validators.validate_category(self.category, self.tenant.site)
            except ValidationError as error:
                errors["category"] = error
        if errors:
            raise ValidationError(errors)


class PosImport(TenantOwnedModel):
    """A CSV of stores and points of sale uploaded in the admin: the file, how far its import
    has gone, and its per-row report (``pos.imports``)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    file_name = models.CharField(_("file name"), max_length=255)
    content = models.TextField(_("content"), help_text=_("The uploaded CSV, as text."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.QUEUED, verbose_name=_("status")
    )
    done = models.PositiveIntegerField(
        default=0, help_text=_("Stores and POS sent so far."), verbose_name=_("done")
    )
    total = models.PositiveIntegerField(
        default=0, help_text=_("Valid stores and POS to send."), verbose_name=_("total")
    )
    results = models.JSONField(
        default=list,
        blank=True,
        help_text=_("One entry per store and POS of each row."),
        verbose_name=_("results"),
    )
    error = models.TextField(
        blank=True, help_text=_("Why the import stopped, if it did."), verbose_name=_("error")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("POS import")
        verbose_name_plural = _("POS imports")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.file_name

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
