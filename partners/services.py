"""Partner grants: consent, installation, revocation, and which grant a token acts under."""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken, get_application_model

from partners import scopes
from partners.models import GrantedToken, PartnerGrant
from tenants.models import Tenant, User
from tenants.roles import Capability, Role, role_can
from tenants.scope import cross_tenant_scope, tenant_scope

Application = get_application_model()


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

    A new consent for an app already granted adds the scopes and lifts a revocation. Only the
    seller's owners and managers may consent, and only while it is active (``ConsentRefused``).
    """
    _checked(requested)
    if not tenants_user_may_connect(user).filter(pk=tenant.pk).exists():
        raise ConsentRefused("Only an owner or a manager of an active seller can connect an app.")
    with tenant_scope(tenant), transaction.atomic():
        grant, created = PartnerGrant.objects.select_for_update().get_or_create(
            tenant=tenant,
            application=application,
            defaults={"granted_by": user, "scope": scopes.join(requested)},
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
    """Stop ``grant``: its tokens are deleted at once and no new ones are issued under it."""
    with tenant_scope(tenant), transaction.atomic():
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at", "updated_at"])
        token_ids = list(
            GrantedToken.objects.filter(grant=grant).values_list("access_token_id", flat=True)
        )
        RefreshToken.objects.filter(access_token_id__in=token_ids).delete()
        AccessToken.objects.filter(pk__in=token_ids).delete()


def grant_of_token(access_token: AccessToken) -> PartnerGrant | None:
    """The grant ``access_token`` was issued under, with its tenant (already loaded with a token
    that authenticated a request, see ``partners.oauth``)."""
    loaded = getattr(access_token, "partner_grant", None)
    if loaded is not None:
        return loaded
    with cross_tenant_scope():
        binding = (
            GrantedToken.objects.select_related("grant__tenant")
            .filter(access_token=access_token)
            .first()
        )
    return binding.grant if binding is not None else None
