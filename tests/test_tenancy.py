"""Fail-closed tenant isolation, proven for every installed tenant-owned model."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.apps import apps
from django.db import connections, models
from django.db.models import Count, Exists, OuterRef, Subquery

from orders.models import Notification
from tenants.models import Tenant, TenantOwnedModel
from tenants.scope import (
    ScopeError,
    TenantManager,
    cross_tenant_scope,
    get_current_tenant,
    is_cross_tenant,
    tenant_scope,
)
from tests.factories import TENANT_OWNED_FACTORIES, make_tenant

# Platform-owned rows that are resolved to a tenant after they are written: the Mercado Pago
# notification inbox stores a notification before anyone knows whose it is.
RESOLVED_LATER = {Notification}
TENANT_OWNED_MODELS = [
    model
    for model in apps.get_models()
    if any(field.name == "tenant" for field in model._meta.get_fields())
    and model not in RESOLVED_LATER
]
MODEL_IDS = [model._meta.label for model in TENANT_OWNED_MODELS]

# Every way a queryset built outside a scope could reach the database.
UNSCOPED_OPERATIONS = {
    "iterate": lambda m: list(m._default_manager.all()),
    "filter": lambda m: list(m._default_manager.filter(pk__gt=0)),
    "exclude": lambda m: list(m._default_manager.exclude(pk=0)),
    "len": lambda m: len(m._default_manager.all()),
    "bool": lambda m: bool(m._default_manager.all()),
    "index": lambda m: m._default_manager.all()[0],
    "count": lambda m: m._default_manager.count(),
    "exists": lambda m: m._default_manager.exists(),
    "first": lambda m: m._default_manager.first(),
    "get": lambda m: m._default_manager.get(pk=1),
    "get_or_create": lambda m: m._default_manager.get_or_create(pk=1),
    "in_bulk": lambda m: m._default_manager.in_bulk([1]),
    "values": lambda m: list(m._default_manager.values("pk")),
    "values_list": lambda m: list(m._default_manager.values_list("pk", flat=True)),
    "aggregate": lambda m: m._default_manager.aggregate(n=Count("pk")),
    "annotate": lambda m: list(m._default_manager.annotate(n=Count("pk"))),
    "iterator": lambda m: list(m._default_manager.iterator()),
    "aiterator": lambda m: asyncio.run(_collect(m._default_manager.aiterator())),
    "contains": lambda m: m._default_manager.contains(m(pk=1)),
    "update_or_create": lambda m: m._default_manager.update_or_create(pk=1),
    "bulk_update": lambda m: m._default_manager.bulk_update([m(pk=1)], ["tenant"]),
    "update": lambda m: m._default_manager.update(tenant=models.F("tenant")),
    "delete": lambda m: m._default_manager.all().delete(),
    "explain": lambda m: m._default_manager.all().explain(),
    "raw": lambda m: list(m._default_manager.raw("SELECT 1")),
    "subquery_in": lambda m: list(
        Tenant.objects.filter(pk__in=m._default_manager.values("tenant"))
    ),
    "subquery": lambda m: list(
        Tenant.objects.annotate(
            first_row=Subquery(m._default_manager.filter(tenant=OuterRef("pk")).values("pk")[:1])
        )
    ),
    "subquery_exists": lambda m: list(
        Tenant.objects.filter(Exists(m._default_manager.filter(tenant=OuterRef("pk"))))
    ),
    "aexists": lambda m: asyncio.run(m._default_manager.aexists()),
    "acount": lambda m: asyncio.run(m._default_manager.acount()),
}


async def _collect(async_iterable):
    return [item async for item in async_iterable]


async def _count_async(manager):
    """``acount()`` in Django's sync-to-async thread, which then closes its connection."""
    try:
        return await manager.acount()
    finally:
        await sync_to_async(connections.close_all)()


def test_tenant_owned_models_are_found():
    assert "tenants.Membership" in MODEL_IDS
    assert "orders.Order" in MODEL_IDS


@pytest.mark.parametrize("model", sorted(RESOLVED_LATER, key=str))
def test_rows_resolved_to_a_tenant_later_are_not_tenant_owned(model):
    """Their tenant is empty until resolved; every reader filters by it explicitly."""
    tenant_field = model._meta.get_field("tenant")
    assert tenant_field.related_model is Tenant
    assert tenant_field.null
    assert not issubclass(model, TenantOwnedModel)


@pytest.mark.parametrize("model", TENANT_OWNED_MODELS, ids=MODEL_IDS)
def test_model_has_a_non_null_tenant_and_a_fail_closed_manager(model):
    tenant_field = model._meta.get_field("tenant")
    assert tenant_field.related_model is Tenant
    assert not tenant_field.null
    assert issubclass(model, TenantOwnedModel)
    assert isinstance(model._default_manager, TenantManager)


@pytest.mark.parametrize("model", TENANT_OWNED_MODELS, ids=MODEL_IDS)
def test_unique_constraints_include_the_tenant(model):
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            assert "tenant" in constraint.fields, constraint.name
    for fields in model._meta.unique_together:
        assert "tenant" in fields
    single_field_unique = [
        f.name for f in model._meta.concrete_fields if f.unique and not f.primary_key
    ]
    assert single_field_unique == []


@pytest.mark.parametrize("model", TENANT_OWNED_MODELS, ids=MODEL_IDS)
def test_model_has_a_factory(model):
    assert model in TENANT_OWNED_FACTORIES, f"add a factory for {model._meta.label}"


@pytest.mark.django_db
@pytest.mark.parametrize("operation", UNSCOPED_OPERATIONS.keys())
@pytest.mark.parametrize("model", TENANT_OWNED_MODELS, ids=MODEL_IDS)
def test_no_query_runs_without_a_scope(model, operation):
    tenant = make_tenant()
    TENANT_OWNED_FACTORIES[model](tenant)
    with pytest.raises(ScopeError, match=r"no tenant scope is active|bypasses the tenant scope"):
        UNSCOPED_OPERATIONS[operation](model)
    with cross_tenant_scope():
        assert model._default_manager.count() == 1  # nothing was deleted or changed


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("model", TENANT_OWNED_MODELS, ids=MODEL_IDS)
def test_scope_of_one_tenant_never_returns_another_tenants_rows(model):
    # One row per tenant: some models allow only one (a seller's Mercado Pago connection).
    tenant_a, tenant_b, tenant_c = make_tenant(), make_tenant(), make_tenant()
    factory = TENANT_OWNED_FACTORIES[model]
    row_a, row_b, row_c = factory(tenant_a).pk, factory(tenant_b).pk, factory(tenant_c).pk
    rows_a, rows_b = {row_a}, {row_b, row_c}  # rows_b: every row that is not A's
    manager = model._default_manager

    with tenant_scope(tenant_a):
        assert set(manager.values_list("pk", flat=True)) == rows_a
        assert manager.count() == len(rows_a)
        assert set(manager.values_list("tenant_id", flat=True)) == {tenant_a.pk}
        assert not manager.filter(pk__in=rows_b).exists()
        with pytest.raises(model.DoesNotExist):
            manager.get(pk=next(iter(rows_b)))
        assert manager.filter(pk__in=rows_b).update(tenant=models.F("tenant")) == 0
        assert manager.filter(pk__in=rows_b).delete()[0] == 0
        assert set(manager.in_bulk(rows_a | rows_b)) == rows_a
        assert asyncio.run(_count_async(manager)) == len(rows_a)
    with tenant_scope(tenant_b):
        assert set(manager.values_list("pk", flat=True)) == {row_b}
    with cross_tenant_scope():
        assert set(manager.values_list("pk", flat=True)) == rows_a | rows_b


@pytest.mark.django_db
@pytest.mark.parametrize("model", TENANT_OWNED_MODELS, ids=MODEL_IDS)
def test_saving_another_tenants_row_inside_a_scope_is_refused(model):
    tenant_a, tenant_b = make_tenant(), make_tenant()
    row_b = TENANT_OWNED_FACTORIES[model](tenant_b)
    with tenant_scope(tenant_a), pytest.raises(ScopeError, match="Refusing to save"):
        row_b.save()


@pytest.mark.django_db
@pytest.mark.parametrize("model", TENANT_OWNED_MODELS, ids=MODEL_IDS)
def test_bulk_create_inside_a_scope_cannot_write_another_tenants_rows(model):
    tenant_a, tenant_b = make_tenant(), make_tenant()
    template = TENANT_OWNED_FACTORIES[model](tenant_b)
    foreign = model(
        **{f.attname: getattr(template, f.attname) for f in model._meta.concrete_fields}
    )
    foreign.pk = None
    with tenant_scope(tenant_a), pytest.raises(ScopeError, match="Refusing to save"):
        model._default_manager.bulk_create([foreign])
    with cross_tenant_scope():
        assert model._default_manager.count() == 1


@pytest.mark.django_db
def test_scopes_nest_and_restore():
    tenant_a, tenant_b = make_tenant(), make_tenant()
    assert get_current_tenant() is None
    with tenant_scope(tenant_a):
        with tenant_scope(tenant_b):
            assert get_current_tenant() == tenant_b
        assert get_current_tenant() == tenant_a
        with cross_tenant_scope():
            assert is_cross_tenant()
            assert get_current_tenant() is None
        assert get_current_tenant() == tenant_a
    assert get_current_tenant() is None
    assert not is_cross_tenant()


@pytest.mark.django_db
def test_scope_is_restored_after_an_exception():
    tenant = make_tenant()
    with pytest.raises(ZeroDivisionError), tenant_scope(tenant):
        1 / 0  # noqa: B018
    assert get_current_tenant() is None


def test_a_missing_tenant_never_means_every_tenant():
    with pytest.raises(ScopeError, match="needs a saved tenant"), tenant_scope(None):
        pass
    with pytest.raises(ScopeError, match="needs a saved tenant"), tenant_scope(Tenant()):
        pass


@pytest.mark.django_db
def test_a_new_row_takes_the_tenant_of_the_scope():
    from tenants.models import Membership
    from tests.factories import make_user

    tenant = make_tenant()
    with tenant_scope(tenant):
        membership = Membership(user=make_user(), role="viewer")
        membership.save()
    assert membership.tenant == tenant


@pytest.mark.django_db
def test_a_querysets_scope_is_fixed_when_it_is_built():
    """A queryset built inside tenant A's scope stays A's when it is evaluated later."""
    tenant_a, tenant_b = make_tenant(), make_tenant()
    factory = next(iter(TENANT_OWNED_FACTORIES.values()))
    row_a, _row_b = factory(tenant_a), factory(tenant_b)
    model = type(row_a)
    with tenant_scope(tenant_a):
        queryset = model._default_manager.all()
    with tenant_scope(tenant_b):
        assert [row.pk for row in queryset] == [row_a.pk]


@pytest.mark.django_db
def test_a_union_with_an_unscoped_queryset_is_refused():
    tenant = make_tenant()
    factory = next(iter(TENANT_OWNED_FACTORIES.items()))
    model = factory[0]
    unscoped = model._default_manager.all()
    with tenant_scope(tenant), pytest.raises(ScopeError):
        list(model._default_manager.all().union(unscoped))
