"""Writes about tenants and their members."""

from django.db import transaction
from django.utils.text import slugify

from tenants.models import Membership, Tenant, User
from tenants.roles import Role
from tenants.scope import tenant_scope


@transaction.atomic
def create_tenant(*, name: str, site: str, slug: str = "", owner: User | None = None) -> Tenant:
    """Create a seller, optionally with its first owner."""
    tenant = Tenant(name=name, site=site, slug=slug or slugify(name)[:60])
    tenant.full_clean()
    tenant.save()
    if owner is not None:
        add_member(tenant=tenant, user=owner, role=Role.OWNER)
    return tenant


@transaction.atomic
def add_member(*, tenant: Tenant, user: User, role: str) -> Membership:
    """Give ``user`` the ``role`` in ``tenant`` (changing the role if already a member).

    Refuses to demote the tenant's last owner.

    Members sign in to the admin, so the user becomes ``is_staff``; what they can see and change
    there follows from their memberships, not from Django's model permissions.
    """
    with tenant_scope(tenant):
        membership = Membership.objects.filter(user=user).first()
        if membership is None:
            membership = Membership.objects.create(tenant=tenant, user=user, role=role)
        elif membership.role != role:
            ensure_not_last_owner(membership)
            membership.role = role
            membership.save(update_fields=["role"])
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return membership


def invite_member(*, tenant: Tenant, email: str, role: str) -> Membership:
    """Add the user with ``email`` to ``tenant``, creating an account that has no password yet."""
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(username=email, email=email)
        user.set_unusable_password()
        user.save()
    return add_member(tenant=tenant, user=user, role=role)


class LastOwnerError(ValueError):
    """A tenant must keep at least one owner."""


def remove_member(*, membership: Membership) -> None:
    """Remove a member, refusing to remove the tenant's last owner."""
    with tenant_scope(membership.tenant):
        ensure_not_last_owner(membership)
        membership.delete()


def ensure_not_last_owner(membership: Membership) -> None:
    """Raise ``LastOwnerError`` if ``membership`` is its tenant's only owner."""
    if membership.role != Role.OWNER:
        return
    with tenant_scope(membership.tenant):
        other_owners = Membership.objects.filter(role=Role.OWNER).exclude(pk=membership.pk)
        if not other_owners.exists():
            raise LastOwnerError(f"{membership.user} is the last owner of {membership.tenant}.")
