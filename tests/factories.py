"""Row factories for the tests, including one for every tenant-owned model.

``TENANT_OWNED_FACTORIES`` must name every model with a ``tenant`` field: the isolation test in
``test_tenancy.py`` fails for a new tenant-owned model until it has a factory here.
"""

from collections.abc import Callable
from itertools import count

from django.db.models import Model

from tenants import services
from tenants.models import Membership, Tenant, User
from tenants.roles import Role
from tenants.scope import tenant_scope

_sequence = count(1)


def make_user(username: str | None = None, **fields) -> User:
    username = username or f"user{next(_sequence)}"
    user = User(username=username, email=f"{username}@example.com", **fields)
    user.set_password("test-pass-123")
    user.save()
    return user


def make_tenant(name: str | None = None, site: str = "MLA", **fields) -> Tenant:
    name = name or f"Seller {next(_sequence)}"
    tenant = services.create_tenant(name=name, site=site)
    if fields:
        Tenant.objects.filter(pk=tenant.pk).update(**fields)
        tenant.refresh_from_db()
    return tenant


def make_member(tenant: Tenant, role: str = Role.OWNER, username: str | None = None) -> User:
    user = make_user(username)
    services.add_member(tenant=tenant, user=user, role=role)
    return user


def _membership(tenant: Tenant) -> Membership:
    with tenant_scope(tenant):
        return Membership.objects.create(tenant=tenant, user=make_user(), role=Role.VIEWER)


TENANT_OWNED_FACTORIES: dict[type[Model], Callable[[Tenant], Model]] = {
    Membership: _membership,
}
