"""Partner grants: consent, installation, revocation (of a grant, or of an app deleted)."""

import math
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet, Value
from django.db.models.functions import Least
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken, get_application_model

from partners import scopes, versions
from partners.models import GrantedToken, PartnerGrant, WebhookDelivery, WebhookEndpoint
from tenants.models import Tenant, User
from tenants.roles import Capability, Role, role_can
from tenants.scope import cross_tenant_scope, tenant_scope

Application = get_application_model()
DELETED_APP_CACHE_PREFIX = "partners:deleted-app-token"  # cache keys of ``forget_application``


class UnknownScope(ValueError):
    """A scope that is not one of ``partners.scopes.SCOPES``."""


class ConsentRefused(Exception):
    """The user may not let apps act for the seller: not its owner or manager, or suspended."""


def _checked(requested: frozenset[str]) -> frozenset[str]:
    unknown = sorted(requested - scopes.SCOPES.keys())
    if unknown:
        raise UnknownScope(f"Unknown scopes: {', '.join(unknown)}.")
    if not requested:
        raise UnknownScope("Choose at least one scope.")
    return requested


def tenants_user_may_connect(user: User) -> QuerySet[Tenant]:
    """The active tenants for which ``user`` may let a partner app act (owners and managers)."""
    roles = [role for role in Role if role_can(role, Capability.MANAGE_INTEGRATIONS)]
    return Tenant.objects.filter(
        memberships__user=user, memberships__role__in=roles, status=Tenant.Status.ACTIVE
    ).distinct()


def record_consent(
    *, tenant: Tenant, application: Application, user: User, requested: frozenset[str]
) -> PartnerGrant:
    """Record that ``user`` lets ``application`` act for ``tenant`` with the ``requested`` scopes.

    A new grant is pinned to the current API version. A new consent for an app already granted
    adds the scopes and lifts a revocation (its old tokens stay revoked). Only the
    seller's owners and managers may consent, and only while it is active (``ConsentRefused``).
    """
    _checked(requested)
    if not tenants_user_may_connect(user).filter(pk=tenant.pk).exists():
        raise ConsentRefused("Only an owner or a manager of an active seller can connect an app.")
    with tenant_scope(tenant), transaction.atomic():
        grant, created = PartnerGrant.objects.select_for_update().get_or_create(
            tenant=tenant,
            application=application,
            defaults={
                "granted_by": user,
                "scope": scopes.join(requested),
                "api_version": versions.CURRENT,
            },
        )
        if not created:
            grant.scope = scopes.join(requested if grant.revoked_at else grant.scopes | requested)
            grant.granted_by = user
            grant.revoked_at = None
            grant.save(update_fields=["scope", "granted_by", "revoked_at", "updated_at"])
    return grant


def install_application(
    *, tenant: Tenant, name: str, requested: frozenset[str], user: User | None
) -> tuple[Application, str]:
    """Register a confidential app that acts for ``tenant`` alone with client credentials.

    Returns the app and its client secret, which is stored hashed and cannot be shown again.
    """
    _checked(requested)
    application = Application(
        name=name,
        user=user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    secret = application.client_secret  # generated in clear; hashed when saved
    with transaction.atomic():
        application.save()
        with tenant_scope(tenant):
            PartnerGrant.objects.create(
                tenant=tenant,
                application=application,
                granted_by=user,
                scope=scopes.join(requested),
                api_version=versions.CURRENT,
            )
    return application, secret


def installation_of(application: Application) -> PartnerGrant | None:
    """The one grant a client-credentials app acts under, or None when it has none or several."""
    with cross_tenant_scope():
        grants = list(
            PartnerGrant.objects.filter(application=application).select_related("tenant")[:2]
        )
    return grants[0] if len(grants) == 1 else None


def revoke_grant(*, tenant: Tenant, grant: PartnerGrant) -> None:
    """Stop ``grant``: no new token is issued under it, and at once its tokens answer
    ``token_revoked`` (their bindings are marked, their refresh tokens deleted), the app's
    endpoints on the seller are deactivated and their pending deliveries canceled.

    A new consent lifts the grant's revocation but none of this: the app gets new tokens, and
    re-enables its endpoints itself (``PATCH is_active``).
    """
    with tenant_scope(tenant), transaction.atomic():
        now = timezone.now()
        grant.revoked_at = now
        grant.save(update_fields=["revoked_at", "updated_at"])
        bindings = GrantedToken.objects.filter(grant=grant)
        token_ids = list(bindings.values_list("access_token_id", flat=True))
        bindings.filter(revoked_at__isnull=True).update(revoked_at=now)
        AccessToken.objects.filter(pk__in=token_ids).update(expires=Least("expires", Value(now)))
        # Deleted, not marked revoked: refreshing with a revoked one would set off DOT's reuse
        # protection, which deletes the access tokens that must go on answering token_revoked.
        RefreshToken.objects.filter(access_token_id__in=token_ids).delete()
        _stop_webhooks(application=grant.application, now=now)


def _stop_webhooks(*, application: Application, now: datetime) -> None:
    """Deactivate ``application``'s endpoints in the current tenant scope, and cancel their
    pending deliveries."""
    endpoints = WebhookEndpoint.objects.filter(application=application)
    endpoints.filter(is_active=True).update(is_active=False, updated_at=now)
    WebhookDelivery.objects.filter(
        endpoint__in=endpoints, status=WebhookDelivery.Status.PENDING
    ).update(status=WebhookDelivery.Status.CANCELED, next_attempt_at=None)


def forget_application(*, application: Application) -> None:
    """Before ``application`` is deleted: every seller's grant of it is revoked as
    ``revoke_grant`` revokes one. Its tokens go with it; the checksums of those still alive
    are remembered in the cache until they would have expired (``was_deleted_with_its_app``),
    so that they answer ``token_revoked``, not ``token_invalid``."""
    now = timezone.now()
    alive = AccessToken.objects.filter(application=application, expires__gt=now)
    for checksum, expires in alive.values_list("token_checksum", "expires").iterator():
        timeout = math.ceil((expires - now).total_seconds())
        cache.set(f"{DELETED_APP_CACHE_PREFIX}:{checksum}", True, timeout=timeout)
    with cross_tenant_scope():
        grants = list(PartnerGrant.objects.filter(application=application).select_related("tenant"))
    for grant in grants:
        revoke_grant(tenant=grant.tenant, grant=grant)


def was_deleted_with_its_app(token_checksum: str) -> bool:
    """Whether the access token of this checksum belonged to an app deleted since."""
    return bool(cache.get(f"{DELETED_APP_CACHE_PREFIX}:{token_checksum}"))


def grant_is_usable(*, application_id: int, tenant: Tenant) -> bool:
    """Whether the app may still act for ``tenant``: a grant that is not revoked (and the seller
    active)."""
    if not tenant.is_active:
        return False
    with tenant_scope(tenant):
        return PartnerGrant.objects.filter(
            application_id=application_id, revoked_at__isnull=True
        ).exists()
