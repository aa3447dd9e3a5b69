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

from pos.models import PointOfSale
from tenants.models import Tenant, TenantOwnedModel

AMOUNT = {"max_digits": 14, "decimal_places": 2}


class Api(models.TextChoices):
    V1 = "v1", "Orders API (/v1/orders)"
    INSTORE = "instore", "Legacy in-store QR API"


class Mode(models.TextChoices):
    DYNAMIC = "dynamic", "Dynamic QR (one per order)"
    HYBRID = "hybrid", "Hybrid (dynamic QR and the POS's printed QR)"
    STATIC = "static", "Static (the POS's printed QR)"


class Status(models.TextChoices):
    PENDING = "pending", "Pending (not yet accepted by Mercado Pago)"
    FAILED = "failed", "Failed (Mercado Pago did not take it)"
    CREATED = "created", "Created (waiting for the buyer)"
    PROCESSED = "processed", "Processed (paid)"
    CANCELED = "canceled", "Canceled"
    EXPIRED = "expired", "Expired"
    REFUNDED = "refunded", "Refunded"


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

    uid = models.UUIDField("public id", default=uuid.uuid4, editable=False)
    pos = models.ForeignKey(
        PointOfSale, on_delete=models.PROTECT, related_name="orders", verbose_name="point of sale"
    )
    api = models.CharField("Mercado Pago API", max_length=8, choices=Api.choices)
    mode = models.CharField("QR mode", max_length=8, choices=Mode.choices)
    external_reference = models.CharField(
        max_length=64, help_text="Your reference: up to 64 letters, digits, '-' or '_'."
    )
    title = models.CharField(max_length=256)
    description = models.CharField(max_length=256, blank=True)
    currency = models.CharField(max_length=3)
    total_amount = models.DecimalField(**AMOUNT)
    cash_out_amount = models.DecimalField(**AMOUNT, null=True, blank=True)
    marketplace_fee = models.DecimalField(**AMOUNT, null=True, blank=True)
    taxes = models.JSONField(
        default=list, blank=True, encoder=DjangoJSONEncoder, help_text="Colombia's IVA amounts."
    )
    sponsor_id = models.CharField("sponsor id", max_length=20, blank=True)
    expires_at = models.DateTimeField(help_text="When the order stops being payable.")
    expiration_seconds = models.PositiveIntegerField(
        editable=False, help_text="The expiration_time sent to the Orders API, in seconds."
    )
    mp_order_id = models.CharField("Mercado Pago order id", max_length=40, blank=True)
    qr_data = models.TextField("QR data (EMVCo)", blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    status_detail = models.CharField(max_length=40, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    mp_last_updated = models.DateTimeField(
        "last update in Mercado Pago", null=True, blank=True, editable=False
    )
    create_idempotency_key = models.CharField(max_length=128, editable=False)
    cancel_idempotency_key = models.CharField(max_length=128, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was paid, canceled, expired or failed."
    )

    class Meta:
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

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=256)
    description = models.CharField(max_length=256, blank=True)
    sku = models.CharField("SKU / external code", max_length=100, blank=True)
    category = models.CharField(max_length=100, blank=True)
    unit_price = models.DecimalField(**AMOUNT)
    quantity = models.PositiveIntegerField()
    unit_measure = models.CharField(max_length=20, default="unit")

    class Meta:
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

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    mp_payment_id = models.CharField("Mercado Pago payment id", max_length=40)
    reference_id = models.CharField("payment id", max_length=40, blank=True)
    amount = models.DecimalField(**AMOUNT)
    paid_amount = models.DecimalField(**AMOUNT, default=Decimal(0))
    refunded_amount = models.DecimalField(**AMOUNT, default=Decimal(0))
    status = models.CharField(max_length=20, blank=True)
    status_detail = models.CharField(max_length=40, blank=True)
    payment_method_id = models.CharField(max_length=40, blank=True)
    payment_method_type = models.CharField(max_length=40, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "mp_payment_id"], name="payment_mp_id_unique_per_tenant"
            ),
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
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="refunds")
    amount = models.DecimalField(**AMOUNT)
    whole = models.BooleanField(
        default=False, editable=False, help_text="Asked for as a total refund (no amount sent)."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    mp_refund_id = models.CharField("Mercado Pago refund id", max_length=40, blank=True)
    idempotency_key = models.CharField(max_length=128, blank=True, editable=False)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"refund of {self.amount} ({self.status})"


class MercadoPagoCall(TenantOwnedModel):
    """One attempt of one Mercado Pago call made for a seller, with bodies redacted by mpapi."""

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, null=True, blank=True, related_name="calls"
    )
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    query = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    attempt = models.PositiveSmallIntegerField(default=1)
    idempotency_key = models.CharField(max_length=128, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="None: no answer.")
    error = models.CharField(max_length=100, blank=True)
    duration_ms = models.PositiveIntegerField()
    request_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "Mercado Pago call"
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
        WEBHOOK = "webhook", "Webhook (signed)"
        IPN = "ipn", "IPN (legacy, unsigned)"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        REJECTED = "rejected", "Rejected (bad signature, too large)"
        QUEUED = "queued", "Queued"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (nothing to do)"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    topic = models.CharField(max_length=60, blank=True)
    action = models.CharField(max_length=60, blank=True)
    resource_id = models.CharField("data.id / id", max_length=100, blank=True)
    version = models.PositiveIntegerField("data.version", null=True, blank=True)
    request_id = models.CharField("x-request-id", max_length=100, blank=True)
    query = models.JSONField(default=dict, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True, help_text="Empty on rejected rows (see the digest).")
    body_size = models.PositiveIntegerField(
        null=True, blank=True, help_text="Bytes of the body (declared, when it was not read)."
    )
    body_sha256 = models.CharField("body SHA-256", max_length=64, blank=True)
    client_address = models.CharField(max_length=45, blank=True)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications"
    )
    detail = models.TextField(blank=True, help_text="Why it was rejected, ignored or failed.")
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sweeps = models.PositiveSmallIntegerField(
        default=0, help_text="Times the sweeper queued it again after it was stuck."
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    touched_at = models.DateTimeField(
        default=timezone.now, help_text="Last queued or attempted: the sweeper's clock."
    )
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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
