"""Orders taken with QR codes, their payments and refunds, the Mercado Pago calls they made and the
inbox of notifications Mercado Pago sends about them.

One ``Order`` model serves both Mercado Pago APIs (``api``: the Orders API ``v1`` or the legacy
in-store API ``instore``) and the three QR modes. Its ``status`` follows the Orders API's enum,
plus ``pending`` (saved, not yet accepted by Mercado Pago) and ``failed`` (refused by Mercado
Pago, or its answer never came where a retry would be unsafe). Only ``orders.transitions`` changes
it.
"""

import uuid
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pos.models import PointOfSale
from tenants.models import Tenant, TenantOwnedModel

AMOUNT = {"max_digits": 14, "decimal_places": 2}


class Api(models.TextChoices):
    V1 = "v1", _("Orders API (/v1/orders)")
    INSTORE = "instore", _("Legacy in-store QR API")


class Mode(models.TextChoices):
    DYNAMIC = "dynamic", _("Dynamic QR (one per order)")
    HYBRID = "hybrid", _("Hybrid (dynamic QR and the POS's printed QR)")
    STATIC = "static", _("Static (the POS's printed QR)")


class Status(models.TextChoices):
    PENDING = "pending", _("Pending (not yet accepted by Mercado Pago)")
    FAILED = "failed", _("Failed (Mercado Pago did not take it)")
    CREATED = "created", _("Created (waiting for the buyer)")
    PROCESSED = "processed", _("Processed (paid)")
    CANCELED = "canceled", _("Canceled")
    EXPIRED = "expired", _("Expired")
    REFUNDED = "refunded", _("Refunded")


OPEN_STATUSES = (Status.PENDING, Status.CREATED)


NO_ANSWER_CODE = "mercadopago_no_answer"
# The orders whose external_reference no other order of the seller may take. A failed order
# frees it, except a legacy dynamic QR whose create got no answer: Mercado Pago may hold that
# order (unseen), and a second one with the same reference would be a second one there that its
# search by reference cannot tell apart from the first.
HOLDS_ITS_REFERENCE = ~Q(status="failed") | Q(error_code=NO_ANSWER_CODE)


class Order(TenantOwnedModel):
    """A seller's order, shown to the buyer as a QR and paid in Mercado Pago.

    ``external_reference`` is unique per seller among orders that did not fail, so a reference
    whose order Mercado Pago refused can be used again.
    """

    uid = models.UUIDField(_("public id"), default=uuid.uuid4, editable=False)
    pos = models.ForeignKey(
        PointOfSale,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("point of sale"),
    )
    api = models.CharField(_("Mercado Pago API"), max_length=8, choices=Api.choices)
    mode = models.CharField(_("QR mode"), max_length=8, choices=Mode.choices)
    external_reference = models.CharField(
        max_length=64,
        help_text=_("Your reference: up to 64 letters, digits, '-' or '_'."),
        verbose_name=_("external reference"),
    )
    title = models.CharField(max_length=256, verbose_name=_("title"))
    description = models.CharField(max_length=256, blank=True, verbose_name=_("description"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    total_amount = models.DecimalField(**AMOUNT, verbose_name=_("total amount"))
    cash_out_amount = models.DecimalField(
        **AMOUNT, null=True, blank=True, verbose_name=_("cash out amount")
    )
    marketplace_fee = models.DecimalField(
        **AMOUNT, null=True, blank=True, verbose_name=_("marketplace fee")
    )
    taxes = models.JSONField(
        default=list,
        blank=True,
        encoder=DjangoJSONEncoder,
        help_text=_("Colombia's IVA amounts."),
        verbose_name=_("taxes"),
    )
    metadata = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("The partner's own keys and values (strings), returned and searchable."),
        verbose_name=_("metadata"),
    )
    sponsor_id = models.CharField(_("sponsor id"), max_length=20, blank=True)
    expires_at = models.DateTimeField(
        help_text=_("When the order stops being payable."), verbose_name=_("expires at")
    )
    expiration_seconds = models.PositiveIntegerField(
        editable=False,
        help_text=_("The expiration_time sent to the Orders API, in seconds."),
        verbose_name=_("expiration seconds"),
    )
    mp_order_id = models.CharField(_("Mercado Pago order id"), max_length=40, blank=True)
    qr_data = models.TextField(_("QR data (EMVCo)"), blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    status_detail = models.CharField(max_length=40, blank=True, verbose_name=_("status detail"))
    error_code = models.CharField(max_length=100, blank=True, verbose_name=_("error code"))
    error_message = models.TextField(blank=True, verbose_name=_("error message"))
    mp_last_updated = models.DateTimeField(
        _("last update in Mercado Pago"), null=True, blank=True, editable=False
    )
    create_idempotency_key = models.CharField(
        max_length=128, editable=False, verbose_name=_("create idempotency key")
    )
    cancel_idempotency_key = models.CharField(
        max_length=128, blank=True, editable=False, verbose_name=_("cancel idempotency key")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paid at"))
    closed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When it was paid, canceled, expired or failed."),
        verbose_name=_("closed at"),
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_reference"],
                condition=HOLDS_ITS_REFERENCE,
                name="order_external_reference_unique_per_tenant",
                violation_error_message="This seller already has an order with this reference.",
            ),
            models.UniqueConstraint(
                fields=["tenant", "mp_order_id"],
                condition=~Q(mp_order_id=""),
                name="order_mp_order_id_unique_per_tenant",
            ),
            models.UniqueConstraint(fields=["tenant", "uid"], name="order_uid_unique_per_tenant"),
            models.UniqueConstraint(
                fields=["tenant", "create_idempotency_key"],
                name="order_create_key_unique_per_tenant",
            ),
            models.CheckConstraint(condition=Q(total_amount__gt=0), name="order_total_gt_0"),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="order_tenant_created"),
            models.Index(fields=["tenant", "status", "-created_at"], name="order_tenant_status"),
            models.Index(fields=["status", "expires_at"], name="order_status_expires"),
            models.Index(fields=["mp_order_id"], name="order_mp_order_id"),
            # The integrator's console: each seller's last payment and takings (index-only).
            models.Index(
                fields=["tenant", "paid_at"],
                include=["total_amount", "marketplace_fee"],
                condition=Q(status__in=["processed", "refunded"]),
                name="order_tenant_paid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_reference} ({self.get_status_display()})"

    @property
    def scan_payload(self) -> str:
        """What the buyer scans to pay: the order's ``qr_data``, or for a static order its POS's
        fixed QR; "" while there is none."""
        return self.pos.qr_code if self.mode == Mode.STATIC else self.qr_data

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def paid_amount(self) -> Decimal:
        return sum((payment.paid_amount for payment in self.payments.all()), Decimal(0))

    @property
    def refunded_amount(self) -> Decimal:
        return sum((payment.refunded_amount for payment in self.payments.all()), Decimal(0))

    @property
    def amount_available_for_refund(self) -> Decimal:
        return sum(
            (payment.amount_available_for_refund for payment in self.payments.all()), Decimal(0)
        )


class OrderItem(TenantOwnedModel):
    """One line of an order."""

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="items", verbose_name=_("order")
    )
    position = models.PositiveSmallIntegerField(verbose_name=_("position"))
    title = models.CharField(max_length=256, verbose_name=_("title"))
    description = models.CharField(max_length=256, blank=True, verbose_name=_("description"))
    sku = models.CharField(_("SKU / external code"), max_length=100, blank=True)
    category = models.CharField(max_length=100, blank=True, verbose_name=_("category"))
    unit_price = models.DecimalField(**AMOUNT, verbose_name=_("unit price"))
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    unit_measure = models.CharField(max_length=20, default="unit", verbose_name=_("unit measure"))

    class Meta:
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "order", "position"], name="order_item_position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.title}"

    @property
    def total_amount(self) -> Decimal:
        return self.unit_price * self.quantity


class Payment(TenantOwnedModel):
    """A payment of an order as Mercado Pago reports it, with what has been refunded of it.

    ``mp_payment_id`` is the Orders API's transaction id (``PAY…``) or, for the legacy API, the
    numeric payment id; ``reference_id`` is the numeric payment id in both.
    """

    uid = models.UUIDField(_("public id"), default=uuid.uuid4, editable=False)
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="payments", verbose_name=_("order")
    )
    mp_payment_id = models.CharField(_("Mercado Pago payment id"), max_length=40)
    reference_id = models.CharField(_("payment id"), max_length=40, blank=True)
    amount = models.DecimalField(**AMOUNT, verbose_name=_("amount"))
    paid_amount = models.DecimalField(**AMOUNT, default=Decimal(0), verbose_name=_("paid amount"))
    refunded_amount = models.DecimalField(
        **AMOUNT, default=Decimal(0), verbose_name=_("refunded amount")
    )
    status = models.CharField(max_length=20, blank=True, verbose_name=_("status"))
    status_detail = models.CharField(max_length=40, blank=True, verbose_name=_("status detail"))
    payment_method_id = models.CharField(
        max_length=40, blank=True, verbose_name=_("payment method id")
    )
    payment_method_type = models.CharField(
        max_length=40, blank=True, verbose_name=_("payment method type")
    )
    approved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("approved at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "mp_payment_id"], name="payment_mp_id_unique_per_tenant"
            ),
            models.UniqueConstraint(fields=["tenant", "uid"], name="payment_uid_unique_per_tenant"),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("paid_amount")),
                name="payment_refunded_lte_paid",
            ),
        ]

    def __str__(self) -> str:
        return f"payment {self.mp_payment_id}"

    @property
    def amount_available_for_refund(self) -> Decimal:
        return max(self.paid_amount - self.refunded_amount, Decimal(0))


class Refund(TenantOwnedModel):
    """A refund of (part of) a payment: asked for here, or found in Mercado Pago.

    A refund asked for here is saved ``pending`` with its idempotency key before Mercado Pago is
    called; the key derives from the payment and the amount refunded before it, so a retry after
    a timeout can never refund twice.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")

    uid = models.UUIDField(_("public id"), default=uuid.uuid4, editable=False)
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="refunds", verbose_name=_("order")
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, related_name="refunds", verbose_name=_("payment")
    )
    amount = models.DecimalField(**AMOUNT, verbose_name=_("amount"))
    whole = models.BooleanField(
        default=False,
        editable=False,
        help_text=_("Asked for as a total refund (no amount sent)."),
        verbose_name=_("whole"),
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    mp_refund_id = models.CharField(_("Mercado Pago refund id"), max_length=40, blank=True)
    idempotency_key = models.CharField(
        max_length=128, blank=True, editable=False, verbose_name=_("idempotency key")
    )
    error_code = models.CharField(max_length=100, blank=True, verbose_name=_("error code"))
    error_message = models.TextField(blank=True, verbose_name=_("error message"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="refund_idempotency_key_unique_per_tenant",
            ),
            models.UniqueConstraint(
                fields=["tenant", "mp_refund_id"],
                condition=~Q(mp_refund_id=""),
                name="refund_mp_id_unique_per_tenant",
            ),
            models.UniqueConstraint(fields=["tenant", "uid"], name="refund_uid_unique_per_tenant"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"refund of {self.amount} ({self.status})"


class MercadoPagoCall(TenantOwnedModel):
    """One attempt of one Mercado Pago call made for a seller, with bodies redacted by mpapi."""

    order = models.ForeignKey(
        Order,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="calls",
        verbose_name=_("order"),
    )
    method = models.CharField(max_length=8, verbose_name=_("method"))
    path = models.CharField(max_length=300, verbose_name=_("path"))
    query = models.JSONField(
        default=dict, blank=True, encoder=DjangoJSONEncoder, verbose_name=_("query")
    )
    attempt = models.PositiveSmallIntegerField(default=1, verbose_name=_("attempt"))
    idempotency_key = models.CharField(
        max_length=128, blank=True, verbose_name=_("idempotency key")
    )
    status = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("None: no answer."), verbose_name=_("status")
    )
    error = models.CharField(max_length=100, blank=True, verbose_name=_("error"))
    duration_ms = models.PositiveIntegerField(verbose_name=_("duration ms"))
    request_body = models.JSONField(
        null=True, blank=True, encoder=DjangoJSONEncoder, verbose_name=_("request body")
    )
    response_body = models.JSONField(
        null=True, blank=True, encoder=DjangoJSONEncoder, verbose_name=_("response body")
    )
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created at")
    )

    class Meta:
        verbose_name = _("Mercado Pago call")
        verbose_name_plural = _("Mercado Pago calls")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status or self.error}"


class Notification(models.Model):
    """A notification from Mercado Pago, stored as received before anything else is done.

    This inbox is platform-owned: a notification arrives before anyone knows whose it is (it may
    be forged and belong to nobody). Processing resolves ``tenant`` and ``order``; until then they
    are empty. It is the one table with a nullable ``tenant`` (docs/architecture.md).
    """

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", _("Webhook (signed)")
        IPN = "ipn", _("IPN (legacy, unsigned)")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        REJECTED = "rejected", _("Rejected (bad signature, too large)")
        QUEUED = "queued", _("Queued")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored (nothing to do)")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=8, choices=Kind.choices, verbose_name=_("kind"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.RECEIVED, verbose_name=_("status")
    )
    topic = models.CharField(max_length=60, blank=True, verbose_name=_("topic"))
    action = models.CharField(max_length=60, blank=True, verbose_name=_("action"))
    resource_id = models.CharField(_("data.id / id"), max_length=100, blank=True)
    version = models.PositiveIntegerField(_("data.version"), null=True, blank=True)
    request_id = models.CharField(_("x-request-id"), max_length=100, blank=True)
    query = models.JSONField(default=dict, blank=True, verbose_name=_("query"))
    headers = models.JSONField(default=dict, blank=True, verbose_name=_("headers"))
    body = models.TextField(
        blank=True, help_text=_("Empty on rejected rows (see the digest)."), verbose_name=_("body")
    )
    body_size = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Bytes of the body (declared, when it was not read)."),
        verbose_name=_("body size"),
    )
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64, blank=True)
    client_address = models.CharField(max_length=45, blank=True, verbose_name=_("client address"))
    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("tenant"),
    )
    order = models.ForeignKey(
        Order,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("order"),
    )
    detail = models.TextField(
        blank=True, help_text=_("Why it was rejected, ignored or failed."), verbose_name=_("detail")
    )
    traceback = models.TextField(blank=True, verbose_name=_("traceback"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    sweeps = models.PositiveSmallIntegerField(
        default=0,
        help_text=_("Times the sweeper queued it again after it was stuck."),
        verbose_name=_("sweeps"),
    )
    received_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("received at")
    )
    touched_at = models.DateTimeField(
        default=timezone.now,
        help_text=_("Last queued or attempted: the sweeper's clock."),
        verbose_name=_("touched at"),
    )
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "received_at"], name="notification_status"),
            # A seller's inbox, newest first: the admin list of a member.
            models.Index(fields=["tenant", "-received_at"], name="notification_tenant_received"),
            # The sweeper's look for rows stuck unprocessed (few: a partial index).
            models.Index(
                fields=["touched_at"],
                name="notification_unprocessed",
                condition=models.Q(status__in=["queued", "failed"]),
            ),
        ]
        constraints = [
            # One row per accepted delivery: Mercado Pago gives each request its own
            # x-request-id (a webhook's signature covers it), so a second request with the same
            # one is an exact duplicate or a replay. Rejected rows never count.
            models.UniqueConstraint(
                fields=["kind", "request_id"],
                condition=~models.Q(request_id="") & ~models.Q(status="rejected"),
                name="notification_unique_delivery",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.topic} {self.resource_id} ({self.status})"
