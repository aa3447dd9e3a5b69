from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import Tenant, TenantOwnedModel
from tenants.roles import Role


class Invitation(TenantOwnedModel):
    """An offer, sent by e-mail, to join a seller with a role.

    Nobody is attached to a seller until they accept. The link carries the invitation's id and
    ``nonce``, signed and timestamped; sending the invitation again draws a new nonce, so only
    the newest link works. It is used once (``accepted_at``), and dies at ``expires_at`` or when
    revoked.
    """

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("seller")
    )
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    nonce = models.CharField(max_length=43, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"))
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("accepted by"),
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_address",
            )
        ]
        indexes = [models.Index(fields=["tenant", "role", "accepted_at"])]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_role_display()} of {self.tenant})"

    @property
    def is_open(self) -> bool:
        """Neither accepted nor revoked (it may still have expired)."""
        return self.accepted_at is None and self.revoked_at is None

    @property
    def has_expired(self) -> bool:
        return self.expires_at <= timezone.now()
