from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenants.crypto import EncryptedTextField
from tenants.roles import Capability, Role, role_can
from tenants.scope import TenantManager, check_tenant_of, get_current_tenant
from tenants.sites import SITES, Site, SiteInfo

LANGUAGE_CHOICES = [("es", "Español"), ("pt-br", "Português"), ("en", "English")]
"""The languages a person can choose; Spanish is worded for the seller's country."""

ORDER_API_CHOICES = [("v1", _("Orders API (/v1/orders)")), ("instore", _("Legacy in-store QR API"))]
"""``orders.models.Api``'s values, which the seller's defaults name (tenants imports no orders)."""

QR_MODE_CHOICES = [
    ("dynamic", _("Dynamic QR (one per order)")),
    ("hybrid", _("Hybrid (dynamic QR and the POS's printed QR)")),
]
"""The modes a cashier's order can take (``orders.models.Mode``'s, without the static one)."""


class User(AbstractUser):
    """A person who signs in: platform staff of the integrator, or a member of sellers."""

    is_platform_staff = models.BooleanField(
        default=False,
        help_text=_("The integrator's own staff: may see and manage every seller."),
        verbose_name=_("is platform staff"),
    )
    language = models.CharField(
        max_length=8,
        blank=True,
        choices=[("", _("The seller's language")), *LANGUAGE_CHOICES],
        help_text=_("The language of the pages and e-mails for this person."),
        verbose_name=_("language"),
    )


class SellerManager(models.Manager):
    """Sellers without their logo's bytes, which only the pages that show it read."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().defer("logo_png")


class Tenant(models.Model):
    """A seller: the unit of isolation. Every tenant-owned row points here."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    name = models.CharField(max_length=200, verbose_name=_("name"))
    slug = models.SlugField(max_length=60, unique=True, verbose_name=_("slug"))
    site = models.CharField(
        _("Mercado Pago site"),
        max_length=3,
        choices=Site.choices,
        help_text=_("Fixes the country."),
    )
    mp_user_id = models.PositiveBigIntegerField(
        _("Mercado Pago user id"),
        null=True,
        blank=True,
        unique=True,
        help_text=_("Set when the seller connects its Mercado Pago account."),
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("status")
    )
    fee_percent = models.DecimalField(
        _("marketplace fee (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    fee_fixed = models.DecimalField(
        _("marketplace fee (fixed amount)"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    fee_cap = models.DecimalField(
        _("marketplace fee cap"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("The most the fee may be on one order; empty for no cap."),
    )
    order_api = models.CharField(
        _("Mercado Pago API for cashier orders"),
        max_length=10,
        choices=ORDER_API_CHOICES,
        default="v1",
    )
    qr_mode = models.CharField(
        _("QR mode for cashier orders"), max_length=10, choices=QR_MODE_CHOICES, default="dynamic"
    )
    logo_png = models.BinaryField(
        blank=True,
        default=b"",
        help_text=_("The seller's logo, re-encoded as a small PNG."),
        verbose_name=_("logo png"),
    )
    logo_updated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("logo updated at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = SellerManager()

    class Meta:
        verbose_name = _("seller")
        verbose_name_plural = _("sellers")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(fee_percent__gte=0, fee_percent__lte=100),
                name="tenant_fee_percent_range",
            ),
            models.CheckConstraint(condition=Q(fee_fixed__gte=0), name="tenant_fee_fixed_gte_0"),
            models.CheckConstraint(
                condition=Q(fee_cap__isnull=True) | Q(fee_cap__gte=0),
                name="tenant_fee_cap_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def site_info(self) -> SiteInfo:
        return SITES[self.site]

    @property
    def country_code(self) -> str:
        return self.site_info.country_code

    @property
    def currency(self) -> str:
        return self.site_info.currency

    @property
    def decimal_places(self) -> int:
        return self.site_info.decimal_places

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def marketplace_fee_for(self, amount: Decimal) -> Decimal:
        """The fee the integrator takes on an order of ``amount`` under this seller's policy.

        Percent plus fixed amount, limited by the cap and by the amount itself, rounded half up
        to the currency's smallest unit (whole units for CLP and COP).
        """
        fee = amount * self.fee_percent / 100 + self.fee_fixed
        if self.fee_cap is not None:
            fee = min(fee, self.fee_cap)
        fee = min(fee, amount)
        return fee.quantize(self.site_info.smallest_amount, rounding=ROUND_HALF_UP)


class TenantOwnedModel(models.Model):
    """Base of every tenant-owned model: a non-null tenant and a fail-closed default manager."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant")
    )

    objects = TenantManager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        scoped_tenant = get_current_tenant()
        if scoped_tenant is not None:
            check_tenant_of(self, scoped_tenant)
        super().save(*args, **kwargs)


class Membership(TenantOwnedModel):
    """A user's role in one tenant."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("tenant")
    )
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    role = models.CharField(max_length=10, choices=Role.choices, verbose_name=_("role"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["tenant", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()} of {self.tenant})"

    def can(self, capability: Capability) -> bool:
        return role_can(self.role, capability)


class MercadoPagoCredential(TenantOwnedModel):
    """A seller's connection to Mercado Pago: its tokens, encrypted at rest.

    ``source`` says how it was made: OAuth through the integrator's application (then the
    integrator may take a marketplace fee), or an access token of the seller's own application
    typed in by its owner (then no fee is allowed).
    """

    class Source(models.TextChoices):
        OAUTH = "oauth", _("OAuth (integrator's application)")
        MANUAL = "manual", _("Access token of the seller's own application")

    class Status(models.TextChoices):
        CONNECTED = "connected", _("Connected")
        NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnect")

    class ReconnectReason(models.TextChoices):
        UNLINKED = "unlinked", _("The seller unlinked the application in Mercado Pago")
        REFRESH_REFUSED = "refresh_refused", _("Mercado Pago refused to renew the authorization")
        EXPIRING = "expiring", _("The authorization expires soon")

    source = models.CharField(max_length=10, choices=Source.choices, verbose_name=_("source"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.CONNECTED, verbose_name=_("status")
    )
    mp_user_id = models.PositiveBigIntegerField(_("Mercado Pago user id"))
    access_token = EncryptedTextField(verbose_name=_("access token"))
    refresh_token = EncryptedTextField(blank=True, verbose_name=_("refresh token"))
    access_token_tail = models.CharField(
        max_length=4,
        help_text=_("The token's last characters."),
        verbose_name=_("access token tail"),
    )
    public_key = models.CharField(max_length=120, blank=True, verbose_name=_("public key"))
    scope = models.CharField(max_length=200, blank=True, verbose_name=_("scope"))
    live_mode = models.BooleanField(default=False, verbose_name=_("live mode"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    connected_at = models.DateTimeField(auto_now_add=True, verbose_name=_("connected at"))
    refreshed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("refreshed at"))
    reconnect_reason = models.CharField(
        _("why it must be connected again"),
        max_length=16,
        choices=ReconnectReason.choices,
        blank=True,
        editable=False,
    )
    reconnect_reason_at = models.DateTimeField(
        _("reconnect reason found at"), null=True, blank=True, editable=False
    )
    owners_told_at = models.DateTimeField(
        _("owners told at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the seller's owners were e-mailed about the reason to connect again."),
    )

    class Meta:
        verbose_name = _("Mercado Pago connection")
        verbose_name_plural = _("Mercado Pago connections")
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="one_mercadopago_credential_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.tenant} · Mercado Pago {self.mp_user_id} (…{self.access_token_tail})"

    @property
    def allows_marketplace_fee(self) -> bool:
        return self.source == self.Source.OAUTH

    @property
    def current_reconnect_reason(self) -> str:
        """Why the owner must connect again, "" when nothing says so: a reason found since this
        connection was made (connecting again, which sets ``connected_at``, leaves it behind)."""
        if not self.reconnect_reason or self.reconnect_reason_at is None:
            return ""
        return self.reconnect_reason if self.reconnect_reason_at >= self.connected_at else ""
