"""A seller's Mercado Pago connection that must be made again, and telling its owners.

Three things make a connection need the owner's hand: the seller unlinked the integrator's
application in Mercado Pago (``mp-connect`` notification, confirmed with the seller's token),
Mercado Pago refused to renew the authorization (``invalid_grant`` on refresh), or the token is
about to expire without having been renewed. :func:`mark_needs_reconnect` records the reason on
the credential and e-mails each owner once per event; the admin shows a banner
(``tenants.context_processors``) until the owner connects again, which leaves the reason behind
(``MercadoPagoCredential.current_reconnect_reason``).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.emails import language_of, send_email
from merchant_platform.mercadopago import get_client
from mpapi import Unauthorized
from tenants.models import Membership, MercadoPagoCredential, Tenant
from tenants.roles import Role
from tenants.scope import tenant_scope
from tenants.signals import connection_changed

logger = logging.getLogger(__name__)

Reason = MercadoPagoCredential.ReconnectReason

# A token this close to its expiry that is still not renewed gets its owners told (daily).
EXPIRY_NOTICE = timedelta(days=7)
# Reasons that stop payments at once: the credential is refused until the owner connects again.
# An expiring token still works until its expiry.
BLOCKING_REASONS = (Reason.UNLINKED, Reason.REFRESH_REFUSED)


@dataclass(frozen=True)
class ReconnectNotice:
    """What the admin tells members who manage the connection."""

    reason: str
    expires_at: datetime | None

    @property
    def blocking(self) -> bool:
        return self.reason in BLOCKING_REASONS


def mark_needs_reconnect(*, tenant: Tenant, reason: str) -> bool:
    """Record that ``tenant``'s owners must connect Mercado Pago again, for ``reason``
    (``MercadoPagoCredential.ReconnectReason``), and e-mail each owner; whether they were told.

    Unlinked and refused connections are refused from now on (``needs_reconnect``); an expiring
    one keeps working until it expires. Owners are told once per event: not again while the same
    connection already has a reason, except when an expiring connection then stops working.
    """
    reason = Reason(reason)
    now = timezone.now()
    with transaction.atomic(), tenant_scope(tenant):
        credential = MercadoPagoCredential.objects.select_for_update().first()
        if credential is None:
            return False
        current = credential.current_reconnect_reason
        fields = []
        previous = credential.status
        if reason in BLOCKING_REASONS and previous != credential.Status.NEEDS_RECONNECT:
            credential.status = credential.Status.NEEDS_RECONNECT
            fields.append("status")
        news = not current or (current == Reason.EXPIRING and reason in BLOCKING_REASONS)
        if news:
            credential.reconnect_reason, credential.reconnect_reason_at = reason, now
            credential.owners_told_at = now
            fields += ["reconnect_reason", "reconnect_reason_at", "owners_told_at"]
        if fields:
            credential.save(update_fields=fields)
        if credential.status != previous:
            connection_changed.send(Tenant, tenant=tenant, previous=previous)
        if news:
            _tell_owners(tenant, credential)
    logger.warning(
        "Mercado Pago connection of seller %s needs reconnect (%s)%s",
        tenant.pk,
        reason,
        ": owners told" if news else "",
    )
    return news


def _tell_owners(tenant: Tenant, credential: MercadoPagoCredential) -> None:
    owners = Membership.objects.filter(role=Role.OWNER).select_related("user")
    url = settings.SITE_URL + reverse("tenants:mercadopago")
    for membership in owners:
        owner = membership.user
        if not owner.email or not owner.is_active:
            continue
        send_email(
            to=owner.email,
            template="reconnect",
            context={
                "seller": tenant.name,
                "reason": credential.reconnect_reason,
                "expires_at": credential.expires_at,
                "url": url,
            },
            language=language_of(owner, tenant),
        )


def forget_reconnect_reason(credential: MercadoPagoCredential) -> None:
    """Clear the reason of a connection that works again (renewed): call it on a locked row
    before saving it."""
    credential.reconnect_reason, credential.reconnect_reason_at = "", None
    credential.owners_told_at = None


class Unlink(StrEnum):
    """What checking an unlink notification found (``confirm_unlinked``'s answers)."""

    NOT_CONNECTED = "the seller has no Mercado Pago connection"
    STILL_WORKS = "Mercado Pago still accepts the seller's token: not unlinked"
    ALREADY_KNOWN = "the connection already needs reconnect"
    UNLINKED = "the seller unlinked the application: owners told"


def confirm_unlinked(*, tenant: Tenant) -> Unlink:
    """Act on a notification that ``tenant`` unlinked the integrator's application, which is
    never trusted: ``GET /users/me`` with the seller's stored token says whether the grant is
    gone (401). Only then is the connection marked; what was found (``Unlink``).

    Mercado Pago failing otherwise raises (``MercadoPagoError``), for the caller to retry.
    """
    with tenant_scope(tenant):
        credential = MercadoPagoCredential.objects.first()
    if credential is None:
        return Unlink.NOT_CONNECTED
    if credential.status == credential.Status.NEEDS_RECONNECT:
        return Unlink.ALREADY_KNOWN
    with get_client() as mp:
        try:
            mp.get_me(credential.access_token)
        except Unauthorized:
            mark_needs_reconnect(tenant=tenant, reason=Reason.UNLINKED)
            return Unlink.UNLINKED
    return Unlink.STILL_WORKS


def reconnect_notice(tenant: Tenant) -> ReconnectNotice | None:
    """Why ``tenant``'s owner must connect Mercado Pago again, or None (one query)."""
    with tenant_scope(tenant):
        credential = MercadoPagoCredential.objects.only(
            "status", "reconnect_reason", "reconnect_reason_at", "connected_at", "expires_at"
        ).first()
    if credential is None:
        return None
    reason = credential.current_reconnect_reason
    if not reason and credential.status == credential.Status.NEEDS_RECONNECT:
        reason = Reason.REFRESH_REFUSED  # marked before reasons were recorded
    return ReconnectNotice(reason, credential.expires_at) if reason else None


def needing_reconnect() -> QuerySet[MercadoPagoCredential]:
    """Connections whose owner must connect again (refused, or expiring with a notice), for
    the scope in force: one seller's, or every seller's inside ``cross_tenant_scope()``."""
    noticed = Q(reconnect_reason__gt="", reconnect_reason_at__gte=F("connected_at"))
    return MercadoPagoCredential.objects.filter(
        noticed | Q(status=MercadoPagoCredential.Status.NEEDS_RECONNECT)
    )


def tenants_expiring_unrenewed(*, now: datetime) -> list[int]:
    """Ids of tenants whose working token expires within ``EXPIRY_NOTICE`` and whose owners
    were not told yet: an OAuth token that could not be renewed (the hourly refresh starts a
    month ahead), or a token typed in with an expiry. Call it inside ``cross_tenant_scope()``."""
    told = Q(reconnect_reason__gt="", reconnect_reason_at__gte=F("connected_at"))
    due = (
        MercadoPagoCredential.objects.filter(
            status=MercadoPagoCredential.Status.CONNECTED,
            expires_at__isnull=False,
            expires_at__lt=now + EXPIRY_NOTICE,
        )
        .exclude(told)
        .order_by("expires_at")
    )
    return list(due.values_list("tenant_id", flat=True))
