"""Row factories for the tests, including one for every tenant-owned model.

``TENANT_OWNED_FACTORIES`` must name every model with a ``tenant`` field: the isolation test in
``test_tenancy.py`` fails for a new tenant-owned model until it has a factory here.
"""

from collections.abc import Callable
from decimal import Decimal
from itertools import count

from django.db.models import Model

from pos.models import PointOfSale, Store
from sandbox.seed import seller_access_token
from tenants import services
from tenants.models import Membership, MercadoPagoCredential, Tenant, User
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


def make_connected_tenant(name: str | None = None, site: str = "MLA") -> Tenant:
    """A seller connected (by its own access token) to the sandbox's test seller of ``site``."""
    tenant = make_tenant(name, site=site)
    services.connect_with_access_token(tenant=tenant, access_token=seller_access_token(site))
    return tenant


def _membership(tenant: Tenant) -> Membership:
    with tenant_scope(tenant):
        return Membership.objects.create(tenant=tenant, user=make_user(), role=Role.VIEWER)


def _credential(tenant: Tenant) -> MercadoPagoCredential:
    with tenant_scope(tenant):
        return MercadoPagoCredential.objects.create(
            tenant=tenant,
            source=MercadoPagoCredential.Source.MANUAL,
            mp_user_id=next(_sequence),
            access_token=f"APP_USR-1-000000-test-{tenant.pk}",
            access_token_tail=f"{tenant.pk:04d}"[-4:],
        )


def make_store(tenant: Tenant, **fields) -> Store:
    """A store saved locally only (pending sync), in Buenos Aires unless told otherwise."""
    n = next(_sequence)
    values = {
        "name": f"Store {n}",
        "external_id": f"STORE{n}",
        "street_name": "Av. Corrientes",
        "street_number": "1234",
        "city": "CABA",
        "state": "Buenos Aires",
        "latitude": Decimal("-34.603722"),
        "longitude": Decimal("-58.381592"),
        **fields,
    }
    with tenant_scope(tenant):
        return Store.objects.create(tenant=tenant, **values)


def make_pos(tenant: Tenant, store: Store | None = None, **fields) -> PointOfSale:
    """A point of sale saved locally only (pending sync)."""
    n = next(_sequence)
    store = store or make_store(tenant)
    values = {"name": f"POS {n}", "external_id": f"POS{n}", **fields}
    with tenant_scope(tenant):
        return PointOfSale.objects.create(tenant=tenant, store=store, **values)


TENANT_OWNED_FACTORIES: dict[type[Model], Callable[[Tenant], Model]] = {
    Membership: _membership,
    MercadoPagoCredential: _credential,
    Store: make_store,
    PointOfSale: make_pos,
}
