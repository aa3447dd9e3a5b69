"""Mercado Pago users, the integrator's application, access tokens and the notification outbox."""

from django.db import models


class Account(models.Model):
    """A Mercado Pago user: a test seller, a test buyer or the integrator."""

    class Kind(models.TextChoices):
        SELLER = "seller"
        BUYER = "buyer"
        INTEGRATOR = "integrator"

    user_id = models.PositiveBigIntegerField(unique=True)
    nickname = models.CharField(max_length=60, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    site_id = models.CharField(max_length=3)  # MLA, MLB, MLM, MLC, MCO, MPE, MLU
    merchant_name = models.CharField(max_length=25, blank=True)  # EMVCo tag 59
    merchant_city = models.CharField(max_length=15, blank=True)  # EMVCo tag 60
    password = models.CharField(max_length=60, blank=True)  # shown on the OAuth sign-in page

    def __str__(self) -> str:
        return f"{self.nickname} ({self.user_id})"


class Application(models.Model):
    """A Mercado Pago application (the integrator's): OAuth client and webhook configuration."""

    client_id = models.CharField(max_length=20, unique=True)  # numeric, the APP_ID
    client_secret = models.CharField(max_length=64)
    owner = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="applications")
    name = models.CharField(max_length=60)
    redirect_uris = models.JSONField(default=list)  # empty: any redirect URI is accepted
    pkce_required = models.BooleanField(default=False)
    webhook_url = models.URLField(blank=True)
    webhook_secret = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"


class Token(models.Model):
    """An access token, with its refresh token when it came from OAuth."""

    access_token = models.CharField(max_length=120, unique=True)
    refresh_token = models.CharField(max_length=120, unique=True, null=True, blank=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tokens")
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, null=True, blank=True, related_name="tokens"
    )
    via_oauth = models.BooleanField(default=False)  # only OAuth tokens may carry marketplace_fee
    scope = models.CharField(max_length=100, default="read write offline_access")
    public_key = models.CharField(max_length=120, blank=True)
    live_mode = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)  # None: never
    revoked = models.BooleanField(default=False)  # a used refresh token revokes its old pair
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"token of {self.account}"


class Event(models.Model):
    """The notification outbox: every change that Mercado Pago would notify, to be delivered.

    ``kind`` says how: ``webhook`` (signed, to the application's webhook URL, topic ``order``)
    or ``ipn`` (legacy ``merchant_order``/``payment`` notifications to an order's
    ``notification_url``). ``query`` is the query string to append, ``body`` the JSON body.
    """

    class Kind(models.TextChoices):
        WEBHOOK = "webhook"
        IPN = "ipn"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="events")
    url = models.URLField(max_length=500, blank=True)  # for ipn; webhooks use the application's
    topic = models.CharField(max_length=40)  # order, merchant_order, payment
    action = models.CharField(max_length=40, blank=True)  # order.processed, ...
    resource_id = models.CharField(max_length=40)  # data.id / id
    query = models.JSONField(default=dict)
    body = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.topic} {self.action} {self.resource_id}"
