import secrets
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from pos import validators
from tenants.models import TenantOwnedModel


class SyncState(models.TextChoices):
    PENDING = "pending", "Pending"
    SYNCED = "synced", "Synced"
    FAILED = "failed", "Failed"


class SyncedWithMercadoPago(TenantOwnedModel):
    """A row mirrored in Mercado Pago: where its sync stands and Mercado Pago's last error."""

    sync_state = models.CharField(
        max_length=8, choices=SyncState.choices, default=SyncState.PENDING, editable=False
    )
    sync_error_code = models.CharField(max_length=100, blank=True, editable=False)
    sync_error_message = models.TextField(blank=True, editable=False)
    last_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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

    name = models.CharField(max_length=200)
    external_id = models.CharField(
        "external id",
        max_length=60,
        validators=[validators.store_external_id],
        help_text="Your id for the store: 1 to 60 letters and digits.",
    )
    street_name = models.CharField(max_length=200)
    street_number = models.CharField(max_length=20)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=100)
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(Decimal("-90")), MaxValueValidator(Decimal("90"))],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(Decimal("-180")), MaxValueValidator(Decimal("180"))],
    )
    reference = models.CharField(max_length=200, blank=True, help_text="A landmark.")
    business_hours = models.JSONField(
        default=dict,
        blank=True,
        validators=[validators.validate_business_hours],
        help_text='At most two ranges a day: {"monday": [{"open": "09:00", "close": "13:00"}]}',
    )
    mp_store_id = models.PositiveBigIntegerField(
        "Mercado Pago store id", null=True, blank=True, editable=False
    )

    class Meta:
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

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="points_of_sale")
    name = models.CharField(max_length=44, help_text="Shorter than 45 characters.")
    external_id = models.CharField(
        "external id",
        max_length=39,
        validators=[validators.pos_external_id],
        help_text="Your id for the POS: 1 to 39 letters and digits; it cannot change later.",
    )
    fixed_amount = models.BooleanField(
        default=True, help_text="The buyer pays the order's amount and cannot type one."
    )
    category = models.PositiveIntegerField(
        "category (MCC)", null=True, blank=True, help_text="Gastronomy or gas station."
    )
    mp_pos_id = models.PositiveBigIntegerField(
        "Mercado Pago POS id", null=True, blank=True, editable=False
    )
    qr_code = models.TextField("fixed QR (EMVCo)", blank=True, editable=False)
    qr_image_url = models.URLField(max_length=500, blank=True, editable=False)
    qr_template_document_url = models.URLField(max_length=500, blank=True, editable=False)
    qr_template_image_url = models.URLField(max_length=500, blank=True, editable=False)
    display_token = models.CharField(
        max_length=64,
        default=new_display_token,
        editable=False,
        help_text="The secret part of the display page's URL; rotate it to revoke the old link.",
    )

    class Meta:
        verbose_name = "point of sale"
        verbose_name_plural = "points of sale"
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
