"""Partner apps acting for sellers: their grants, idempotent requests and outbound webhooks.

A partner app is an OAuth2 application of django-oauth-toolkit. A ``PartnerGrant`` records that a
seller lets one app act for it with some scopes: given on the consent page (authorization code
with PKCE) or by installing the app on the seller (client credentials). Every code and token the
provider issues is bound to one grant, so every token acts for exactly one seller, and revoking
the grant ends them all.
"""

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from oauth2_provider.settings import oauth2_settings

from partners import scopes
from tenants.crypto import EncryptedTextField
from tenants.models import TenantOwnedModel


class PartnerGrant(TenantOwnedModel):
    """A seller's consent that a partner app acts for it, with the scopes it agreed to."""

    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="partner_grants"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    scope = models.CharField(max_length=255, help_text="Space-separated scopes.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "connected app"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "application"], name="partner_grant_unique_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application} for {self.tenant}"

    @property
    def scopes(self) -> frozenset[str]:
        return scopes.parse(self.scope)

    @property
    def is_usable(self) -> bool:
        """Not revoked, and its seller is active."""
        return self.revoked_at is None and self.tenant.is_active


class GrantedCode(TenantOwnedModel):
    """The grant an authorization code was issued under (deleted with the code)."""

    code = models.ForeignKey(
        oauth2_settings.GRANT_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    grant = models.ForeignKey(PartnerGrant, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="granted_code_unique")
        ]


class GrantedToken(TenantOwnedModel):
    """The grant an access token was issued under (deleted with the token)."""

    access_token = models.ForeignKey(
        oauth2_settings.ACCESS_TOKEN_MODEL,
        on_delete=models.CASCADE,
        related_name="partner_bindings",
    )
    grant = models.ForeignKey(PartnerGrant, on_delete=models.CASCADE, related_name="tokens")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "access_token"], name="granted_token_unique")
        ]


class IdempotentRequest(TenantOwnedModel):
    """The first answer to a POST sent with an ``Idempotency-Key``, replayed to its retries.

    Keys are per seller and per client (one partner app, or one signed-in user). A row without
    ``status_code`` is a request still running, which holds the key until ``lease_until``; after
    that, a retry takes it over (``attempt`` counts the takeovers).
    """

    client = models.CharField(max_length=40, help_text="app:<id> or user:<id>")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)
    lease_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Until when the running attempt holds the key (none: expired).",
    )
    attempt = models.PositiveSmallIntegerField(
        default=1, help_text="1, plus one for each retry that took the key over."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "client", "key"], name="idempotency_key_unique_per_client"
            )
        ]


class Event(models.TextChoices):
    ORDER_CREATED = "order.created", "Order created"
    ORDER_PROCESSED = "order.processed", "Order processed (paid)"
    ORDER_CANCELED = "order.canceled", "Order canceled"
    ORDER_EXPIRED = "order.expired", "Order expired"
    ORDER_REFUNDED = "order.refunded", "Order refunded"
    TEST = "webhook.test", "Test event"


SUBSCRIBABLE_EVENTS = [event for event in Event if event != Event.TEST]


class WebhookEndpoint(TenantOwnedModel):
    """A partner's URL that receives signed events of one seller."""

    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="The events it receives.")
    description = models.CharField(max_length=200, blank=True)
    secret = EncryptedTextField(help_text="Signs every delivery; shown once, when created.")
    is_active = models.BooleanField(default=True)
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The partner app that registered it, if one did.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(TenantOwnedModel):
    """One event for one endpoint, and where its delivery stands."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (no attempts left)"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=40, choices=Event.choices)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            # A seller's deliveries, newest first: the admin list.
            models.Index(fields=["tenant", "-created_at"], name="delivery_tenant_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "event_id"], name="delivery_event_id_unique_per_tenant"
            )
        ]


class DeliveryAttempt(TenantOwnedModel):
    """One HTTP request of a delivery: what the endpoint answered and how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=200, blank=True, help_text="Why no answer came.")
    response_body = models.TextField(blank=True, help_text="The first 1,000 characters.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
