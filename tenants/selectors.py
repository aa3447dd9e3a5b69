"""Reads about tenants that cross the tenant scope on purpose: which tenants a user may act for."""

from django.db.models import F, QuerySet

from tenants.models import Tenant, User
from tenants.roles import sees_every_tenant


def tenants_for_user(user: User) -> QuerySet[Tenant]:
    """The tenants ``user`` may select: all for platform staff, else those they are a member of.

    Member rows carry the member's ``role`` as an annotation (None for staff without one).
    """
    if sees_every_tenant(user):
        return Tenant.objects.all()
    return Tenant.objects.filter(memberships__user=user).annotate(role=F("memberships__role"))


def tenant_for_user(user: User, tenant_id: int) -> Tenant | None:
    """``tenant_id`` if ``user`` may act for it, with ``role`` annotated; else None."""
    tenant = (
        Tenant.objects.filter(pk=tenant_id, memberships__user=user)
        .annotate(role=F("memberships__role"))
        .first()
    )
    if tenant is None and sees_every_tenant(user):
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        if tenant is not None:
            tenant.role = None
    return tenant
