"""Stores, points of sale, orders (legacy and v1), payments, refunds, merchant orders and the
idempotency keys of the emulated API."""

from django.db import models
from django.utils import timezone

from sandbox.models.accounts import Account, Application

__all__ = [
    "IdempotencyKey",
    "MerchantOrder",
    "Order",
    "Payment",
    "PointOfSale",
    "Refund",
    "Store",
]


class Store(models.Model):
    """A seller's store ("sucursal"); its numeric id is the primary key."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="stores")
    external_id = models.CharField(max_length=60, blank=True)
    name = models.CharField(max_length=200)
    business_hours = models.JSONField(default=dict)
    location = models.JSONField(default=dict)
    date_created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"],
                condition=~models.Q(external_id=""),
                name="sandbox_store_unique_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"store {self.pk} {self.external_id}"


class PointOfSale(models.Model):
    """A point of sale ("caja") with its static QR; its numeric id is the primary key."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="points_of_sale")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="points_of_sale")
    external_id = models.CharField(max_length=39)
    name = models.CharField(max_length=44)
    fixed_amount = models.BooleanField(default=False)
    category = models.PositiveIntegerField(null=True, blank=True)  # MCC
    url = models.CharField(max_length=299, blank=True)
    uuid = models.CharField(max_length=32, unique=True)  # hex, names the QR image files
    status = models.CharField(max_length=12, default="active")
    date_created = models.DateTimeField(default=timezone.now)
    date_last_updated = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"], name="sandbox_pos_unique_external_id"
            )
        ]

    def __str__(self) -> str:
        return f"POS {self.pk} {self.external_id}"


class Order(models.Model):
    """An order of either API: legacy in-store (``instore``) or the Orders API (``v1``).

    ``status`` follows the v1 enum for both. ``attached_until`` is when the order stops being the
    one shown by its POS's static QR (null: never attached, or attached until paid or replaced).
    """

    class Api(models.TextChoices):
        INSTORE = "instore"
        V1 = "v1"

    class Mode(models.TextChoices):
        STATIC = "static"
        DYNAMIC = "dynamic"
        HYBRID = "hybrid"

    class Status(models.TextChoices):
        CREATED = "created"
        PROCESSED = "processed"
        CANCELED = "canceled"
        EXPIRED = "expired"
        REFUNDED = "refunded"

    api = models.CharField(max_length=8, choices=Api.choices)
    order_id = models.CharField(max_length=40, unique=True)  # ORD… or the in_store_order_id
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="orders")
    application = models.ForeignKey(
        Application, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    pos = models.ForeignKey(
        PointOfSale, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    external_pos_id = models.CharField(max_length=39)
    mode = models.CharField(max_length=8, choices=Mode.choices)
    external_reference = models.CharField(max_length=64)
    title = models.TextField(blank=True)
    description = models.TextField(blank=True)
    currency = models.CharField(max_length=3)
    total_amount = models.DecimalField(max_digits=14, decimal_places=2)
    cash_out_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    marketplace_fee = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    items = models.JSONField(default=list)
    taxes = models.JSONField(default=list)
    integration_data = models.JSONField(default=dict)
    discounts = models.JSONField(default=dict, blank=True)  # v1, as sent (api.md §3.2)
    sponsor_id = models.PositiveBigIntegerField(null=True, blank=True)
    notification_url = models.URLField(max_length=500, blank=True)
    expiration_time = models.CharField(max_length=20, blank=True)  # v1, ISO 8601 duration
    expiration_date = models.DateTimeField(null=True, blank=True)  # legacy, as sent
    expires_at = models.DateTimeField(null=True, blank=True)
    attached = models.BooleanField(default=False)  # shown by the POS's static QR
    attached_until = models.DateTimeField(null=True, blank=True)
    qr_token = models.CharField(max_length=36, unique=True)  # names the order in its qr_data
    qr_data = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CREATED)
    status_detail = models.CharField(max_length=24, default="created")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return self.order_id


class MerchantOrder(models.Model):
    """The legacy reconciliation object created when a legacy order is paid, or when a payment
    of it is rejected (``opened`` until a payment is approved)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="merchant_orders")
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="merchant_orders"
    )
    external_reference = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, default="opened")
    order_status = models.CharField(max_length=24, default="payment_required")
    total_amount = models.DecimalField(max_digits=14, decimal_places=2)
    paid_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    refunded_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    notification_url = models.URLField(max_length=500, blank=True)
    sponsor_id = models.PositiveBigIntegerField(null=True, blank=True)
    date_created = models.DateTimeField(default=timezone.now)
    last_updated = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"merchant order {self.pk}"


class Payment(models.Model):
    """A payment: the numeric id is the primary key (a v1 order's ``reference_id``).

    A v1 order's payment exists from creation (``transaction_id`` PAY…) and is only visible at
    ``/v1/payments/{id}`` once approved; a legacy payment is created when the buyer pays, and
    also when the buyer's payment is ``rejected`` (the order stays payable).
    """

    class Status(models.TextChoices):
        CREATED = "created"
        APPROVED = "approved"
        REJECTED = "rejected"
        REFUNDED = "refunded"
        CANCELED = "canceled"
        EXPIRED = "expired"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="payments")
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="payments"
    )
    merchant_order = models.ForeignKey(
        MerchantOrder, on_delete=models.SET_NULL, null=True, blank=True, related_name="payments"
    )
    pos = models.ForeignKey(
        PointOfSale, on_delete=models.SET_NULL, null=True, blank=True, related_name="payments"
    )
    transaction_id = models.CharField(max_length=29, unique=True, null=True, blank=True)
    buyer = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="purchases"
    )
    external_reference = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    refunded_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CREATED)
    payment_method_id = models.CharField(max_length=20, blank=True)
    payment_type_id = models.CharField(max_length=20, blank=True)
    installments = models.PositiveSmallIntegerField(default=1)
    date_created = models.DateTimeField(default=timezone.now)
    date_approved = models.DateTimeField(null=True, blank=True)
    last_updated = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"payment {self.pk}"


class Refund(models.Model):
    """A refund of (part of) a payment; numeric id, and REF… for refunds of v1 orders.

    A refund is made ``in_process`` and completed later (``approved`` or ``rejected``) by
    ``sandbox.lifecycle.settle_due``, at the first settlement on or after ``settle_after``.
    """

    class Status(models.TextChoices):
        IN_PROCESS = "in_process"
        APPROVED = "approved"
        REJECTED = "rejected"

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="refunds")
    refund_id = models.CharField(max_length=29, unique=True, null=True, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.APPROVED)
    date_created = models.DateTimeField(default=timezone.now)
    settle_after = models.DateTimeField(null=True, blank=True)
    last_updated = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"refund {self.pk}"


class IdempotencyKey(models.Model):
    """The first successful response to a request made with an ``X-Idempotency-Key``."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    fingerprint = models.CharField(max_length=64)  # sha256 of method, path and canonical body
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="sandbox_idempotency_key")
        ]

    def __str__(self) -> str:
        return self.key
