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
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings

from partners import scopes
from tenants.crypto import EncryptedTextField
from tenants.models import TenantOwnedModel


class PartnerGrant(TenantOwnedModel):
    """A seller's consent that a partner app acts for it, with the scopes it agreed to."""

    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="partner_grants",
        verbose_name=_("application"),
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("granted by"),
    )
    scope = models.CharField(
        max_length=255, help_text=_("Space-separated scopes."), verbose_name=_("scope")
    )
    api_version = models.CharField(
        max_length=10,
        blank=True,
        help_text=_("The API version the app is pinned to (YYYY-MM-DD); docs/api.md."),
        verbose_name=_("API version"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))

    class Meta:
        verbose_name = _("connected app")
        verbose_name_plural = _("connected apps")
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
    revoked_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the seller revoked the consent: the token answers token_revoked."),
        verbose_name=_("revoked at"),
    )

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

    client = models.CharField(
        max_length=40, help_text=_("app:<id> or user:<id>"), verbose_name=_("client")
    )
    key = models.CharField(max_length=255, verbose_name=_("key"))
    fingerprint = models.CharField(
        max_length=64,
        help_text=_("SHA-256 of method, path and body."),
        verbose_name=_("fingerprint"),
    )
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("status code")
    )
    response_body = models.JSONField(
        null=True, blank=True, encoder=DjangoJSONEncoder, verbose_name=_("response body")
    )
    sealed_response_body = EncryptedTextField(
        blank=True,
        help_text=_("An answer that holds a secret, encrypted (response body left empty)."),
        verbose_name=_("sealed response body"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    lease_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Until when the running attempt holds the key (none: expired)."),
        verbose_name=_("lease until"),
    )
    attempt = models.PositiveSmallIntegerField(
        default=1,
        help_text=_("1, plus one for each retry that took the key over."),
        verbose_name=_("attempt"),
    )

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "client", "key"], name="idempotency_key_unique_per_client"
            )
        ]


class EventType(models.TextChoices):
    ORDER_CREATED = "order.created", _("Order created")
    ORDER_PROCESSED = "order.processed", _("Order processed (paid)")
    ORDER_CANCELED = "order.canceled", _("Order canceled")
    ORDER_EXPIRED = "order.expired", _("Order expired")
    ORDER_PARTIALLY_REFUNDED = "order.partially_refunded", _("Order partially refunded")
    ORDER_REFUNDED = "order.refunded", _("Order refunded")
    REFUND_CREATED = "refund.created", _("Refund created")
    REFUND_SUCCEEDED = "refund.succeeded", _("Refund succeeded")
    REFUND_FAILED = "refund.failed", _("Refund failed")
    DISPUTE_OPENED = "dispute.opened", _("Dispute opened (chargeback)")
    DISPUTE_UPDATED = "dispute.updated", _("Dispute updated")
    STORE_SYNC_FAILED = "store.sync_failed", _("Store sync with Mercado Pago failed")
    POS_SYNC_FAILED = "pos.sync_failed", _("POS sync with Mercado Pago failed")
    SELLER_CONNECTION_CHANGED = (
        "seller.connection_changed",
        _("Seller's Mercado Pago connection changed"),
    )
    TEST = "webhook.test", _("Test event")


SUBSCRIBABLE_EVENTS = [event for event in EventType if event != EventType.TEST]


class Event(TenantOwnedModel):
    """Something that happened to a seller's objects, as partners see it: listed by
    ``GET /api/v1/events`` and delivered to the endpoints subscribed to its type. ``uid`` is its
    id in the API, in every delivery of it and in their ``X-Platform-Delivery`` header."""

    uid = models.UUIDField(default=uuid.uuid4, editable=False, verbose_name=_("id"))
    type = models.CharField(max_length=40, choices=EventType.choices, verbose_name=_("type"))
    api_version = models.CharField(
        max_length=10, help_text=_("The API version of data."), verbose_name=_("API version")
    )
    data = models.JSONField(encoder=DjangoJSONEncoder, verbose_name=_("data"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="event_tenant_created"),
            models.Index(
                fields=["tenant", "type", "-created_at", "-id"], name="event_tenant_type_created"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "uid"], name="event_uid_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.uid}"


class WebhookEndpoint(TenantOwnedModel):
    """A partner's URL that receives signed events of one seller."""

    url = models.URLField(max_length=500, verbose_name=_("url"))
    events = models.JSONField(
        default=list, help_text=_("The events it receives."), verbose_name=_("events")
    )
    description = models.CharField(max_length=200, blank=True, verbose_name=_("description"))
    secret = EncryptedTextField(
        help_text=_("Signs every delivery; shown once, when created."), verbose_name=_("secret")
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The partner app that registered it, if one did."),
        verbose_name=_("application"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(TenantOwnedModel):
    """One event for one endpoint, and where its delivery stands."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed (no attempts left)")
        CANCELED = "canceled", _("Canceled (the app lost access to the seller)")

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("endpoint"),
    )
    event = models.ForeignKey(
        Event,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("event"),
    )
    event_uid = models.UUIDField(
        default=uuid.uuid4,
        editable=False,
        help_text=_("The event's id, sent in the payload and as X-Platform-Delivery."),
        verbose_name=_("event id"),
    )
    event_type = models.CharField(
        max_length=40, choices=EventType.choices, verbose_name=_("event type")
    )
    payload = models.JSONField(encoder=DjangoJSONEncoder, verbose_name=_("payload"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    attempt_count = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempt count"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            # A seller's deliveries, newest first: the admin list.
            models.Index(fields=["tenant", "-created_at"], name="delivery_tenant_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "endpoint", "event_uid"],
                name="delivery_event_unique_per_endpoint",
            )
        ]


class DeliveryAttempt(TenantOwnedModel):
    """One HTTP request of a delivery: what the endpoint answered and how long it took."""

    delivery = models.ForeignKey(
        WebhookDelivery,
        on_delete=models.CASCADE,
        related_name="attempts",
        verbose_name=_("delivery"),
    )
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("status code")
    )
    duration_ms = models.PositiveIntegerField(verbose_name=_("duration ms"))
    error = models.CharField(
        max_length=200, blank=True, help_text=_("Why no answer came."), verbose_name=_("error")
    )
    response_body = models.TextField(
        blank=True, help_text=_("The first 1,000 characters."), verbose_name=_("response body")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["created_at"]

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
