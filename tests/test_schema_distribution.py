"""The schema can be distributed by ``tenant_id`` on Citus (docs/scaling.md), for every model.

Everything here walks ``apps.get_models()``, so a model or foreign key added later is covered (or
fails) without editing this file:

- A model is **tenant-owned** when it has a non-null foreign key named ``tenant`` to ``Tenant``:
  what the database sees (a ``tenant_id NOT NULL`` column) is what Citus distributes by, whatever
  the Python base class. ``test_tenancy.py`` proves every such model is also a
  ``TenantOwnedModel`` with the fail-closed manager, and any other reference to ``Tenant`` is
  refused below, so the two definitions cannot drift apart.
- A model whose ``tenant`` is **nullable** is not tenant-owned, and must be listed in
  ``RESOLVED_LATER`` with the reason. Its foreign keys to tenant-owned rows get the same
  same-tenant constraint, which (``MATCH SIMPLE``) binds once the tenant is set.
- The sandbox's models are the Mercado Pago emulator's own tables, not platform tables: they have
  no tenant and nothing here applies to them (docs/scaling.md, "Tables that stay local").
"""

from contextlib import contextmanager
from pathlib import Path

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, models, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.models.fields import AutoFieldMixin

from orders.models import Notification
from tenants.db import AddSameTenantConstraint
from tenants.models import Tenant
from tests.factories import TENANT_OWNED_FACTORIES, make_tenant

ROOT = Path(__file__).resolve().parent.parent
SCALING_DOC = ROOT / "docs" / "scaling.md"
EMULATOR_APPS = {"sandbox"}

# Rows with a nullable tenant, and why. They are not distributed (docs/scaling.md).
RESOLVED_LATER = {
    Notification: "Mercado Pago's notification inbox: a notification is stored before anyone "
    "knows whose it is (it may be forged and belong to nobody); processing sets its tenant.",
}
# Unique constraints of tenant-owned models that may leave the tenant out, by (model label,
# constraint name or field name), and why. None today: Citus refuses them on a distributed table.
UNIQUE_WITHOUT_TENANT: dict[tuple[str, str], str] = {}
# Foreign keys between tenant-owned rows that the database need not keep within one tenant, by
# "app.Model.field", and why. None today.
CROSS_TENANT_FOREIGN_KEYS: dict[str, str] = {}


def _tenant_field(model):
    field = next((f for f in model._meta.concrete_fields if f.name == "tenant"), None)
    return field if field is not None and field.related_model is Tenant else None


PLATFORM_MODELS = [m for m in apps.get_models() if m._meta.app_label not in EMULATOR_APPS]
TENANT_OWNED = [m for m in PLATFORM_MODELS if _tenant_field(m) and not _tenant_field(m).null]
WITH_NULLABLE_TENANT = [m for m in PLATFORM_MODELS if _tenant_field(m) and _tenant_field(m).null]
TENANT_FOREIGN_KEYS = [
    field
    for model in TENANT_OWNED + WITH_NULLABLE_TENANT
    for field in model._meta.concrete_fields
    if field.is_relation
    and field.name != "tenant"
    and field.related_model in TENANT_OWNED
    and f"{model._meta.label}.{field.name}" not in CROSS_TENANT_FOREIGN_KEYS
]


def _label(field) -> str:
    return f"{field.model._meta.label}.{field.name}"


def test_models_and_foreign_keys_are_found():
    labels = {model._meta.label for model in TENANT_OWNED}
    assert {"tenants.Membership", "pos.Store", "orders.Order", "partners.PartnerGrant"} <= labels
    assert "tenants.Tenant" not in labels
    assert not any(model._meta.app_label in EMULATOR_APPS for model in TENANT_OWNED)
    assert {"pos.PointOfSale.store", "orders.Refund.payment", "orders.Notification.order"} <= {
        _label(field) for field in TENANT_FOREIGN_KEYS
    }


@pytest.mark.parametrize("model", PLATFORM_MODELS, ids=lambda m: m._meta.label)
def test_a_reference_to_a_tenant_is_the_tenant_field(model):
    """Distribution and the same-tenant constraints use ``tenant_id``: no other name for it."""
    others = [
        f.name
        for f in model._meta.get_fields()
        if f.is_relation and f.concrete and f.related_model is Tenant and f.name != "tenant"
    ]
    assert others == [], f"{model._meta.label}: name the foreign key to Tenant `tenant`"


def test_models_with_a_nullable_tenant_are_listed_with_a_reason():
    assert set(WITH_NULLABLE_TENANT) == set(RESOLVED_LATER)
    assert all(reason for reason in RESOLVED_LATER.values())


@pytest.mark.parametrize("model", TENANT_OWNED, ids=lambda m: m._meta.label)
def test_unique_constraints_include_the_tenant(model):
    label = model._meta.label
    pk = model._meta.pk
    # Citus makes the primary key (tenant_id, id) when the table is distributed (docs/scaling.md).
    assert pk.name == "id", label
    assert isinstance(pk, AutoFieldMixin), label
    for constraint in model._meta.constraints:
        if (
            isinstance(constraint, models.UniqueConstraint)
            and (label, constraint.name) not in UNIQUE_WITHOUT_TENANT
        ):
            assert "tenant" in constraint.fields, f"{label}: {constraint.name}"
    for fields in model._meta.unique_together:
        assert "tenant" in fields, f"{label}: unique_together {fields}"
    for field in model._meta.concrete_fields:
        if field.unique and not field.primary_key:
            assert (label, field.name) in UNIQUE_WITHOUT_TENANT, (
                f"{label}.{field.name} is unique across tenants; use a UniqueConstraint "
                "with the tenant"
            )
    for field in model._meta.local_many_to_many:
        # Django's own through table has no tenant_id and a unique (from, to): not distributable.
        assert not field.remote_field.through._meta.auto_created, (
            f"{label}.{field.name}: give the many-to-many a tenant-owned through model"
        )


def _same_tenant_operations() -> set[tuple[str, str, str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {
        (app_label, operation.model_name.lower(), operation.name)
        for (app_label, _name), migration in loader.disk_migrations.items()
        for operation in migration.operations
        if isinstance(operation, AddSameTenantConstraint)
    }


@pytest.mark.parametrize("field", TENANT_FOREIGN_KEYS, ids=_label)
def test_each_foreign_key_between_tenants_rows_has_its_migration(field):
    """Checked without a database, so SQLite runs catch what only PostgreSQL would enforce."""
    meta = field.model._meta
    assert (meta.app_label, meta.model_name, field.name) in _same_tenant_operations(), (
        f"add tenants.db.AddSameTenantConstraint(model_name={meta.model_name!r}, "
        f"name={field.name!r}) to a migration of {meta.app_label}"
    )


def _postgres_same_tenant_constraints(field) -> list[str]:
    """Foreign keys of the child table whose columns map (tenant_id, <fk>_id) to the
    referenced table's (tenant_id, <target>)."""
    child, parent = field.model, field.related_model
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conname, child.attname, parent.attname
            FROM pg_constraint AS c,
                unnest(c.conkey, c.confkey) AS k(child_attnum, parent_attnum)
            JOIN pg_attribute AS child
                ON child.attrelid = %s::regclass AND child.attnum = k.child_attnum
            JOIN pg_attribute AS parent
                ON parent.attrelid = %s::regclass AND parent.attnum = k.parent_attnum
            WHERE c.contype = 'f' AND c.conrelid = %s::regclass AND c.confrelid = %s::regclass
            """,
            [child._meta.db_table, parent._meta.db_table] * 2,
        )
        columns: dict[str, set[tuple[str, str]]] = {}
        for name, child_column, parent_column in cursor.fetchall():
            columns.setdefault(name, set()).add((child_column, parent_column))
    wanted = {
        (_tenant_field(child).column, _tenant_field(parent).column),
        (field.column, field.target_field.column),
    }
    return [name for name, pairs in columns.items() if pairs == wanted]


def _sqlite_triggers(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table]
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
@pytest.mark.parametrize("field", TENANT_FOREIGN_KEYS, ids=_label)
def test_the_database_has_the_same_tenant_constraint(field):
    child, parent = field.model._meta.db_table, field.related_model._meta.db_table
    if connection.vendor == "postgresql":
        assert _postgres_same_tenant_constraints(field), (
            f"no FOREIGN KEY (tenant_id, {field.column}) REFERENCES {parent} (tenant_id, id)"
        )
    elif connection.vendor == "sqlite":
        quote = connection.ops.quote_name

        def guards(on: str, names: str, events: list[str]) -> list[str]:
            return [
                event
                for event in events
                if any(
                    f"BEFORE {event}" in sql and all(quote(name) in sql for name in names)
                    for sql in _sqlite_triggers(on)
                )
            ]

        # Pointing to another tenant's row, and moving a referenced row under another tenant.
        assert guards(child, [parent, field.column], ["INSERT", "UPDATE"]) == ["INSERT", "UPDATE"]
        assert guards(parent, [child, field.column], ["INSERT", "UPDATE"]) == ["INSERT", "UPDATE"]
    else:
        pytest.skip(f"no same-tenant constraints on {connection.vendor}")


def _make_notification(tenant):
    return Notification.objects.create(kind=Notification.Kind.WEBHOOK, tenant=tenant)


ROW_FACTORIES = {**TENANT_OWNED_FACTORIES, Notification: _make_notification}


@contextmanager
def _checked_at_once():
    """Run the block in a savepoint, with PostgreSQL's deferred foreign keys checked at its end
    (Django's and these are ``DEFERRABLE INITIALLY DEFERRED``); SQLite's triggers fire at once."""
    postgres = connection.vendor == "postgresql"
    try:
        with transaction.atomic():
            yield
            if postgres:
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    finally:
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _update(row, **values) -> None:
    """A raw ``UPDATE`` (base manager: no scope, no ``save()``, no model validation)."""
    type(row)._base_manager.filter(pk=row.pk).update(**values)


needs_enforcing_database = pytest.mark.skipif(
    connection.vendor not in {"postgresql", "sqlite"},
    reason="same-tenant constraints exist on PostgreSQL and SQLite only",
)


@pytest.mark.django_db
@needs_enforcing_database
@pytest.mark.parametrize("field", TENANT_FOREIGN_KEYS, ids=_label)
def test_a_row_cannot_point_to_another_tenants_row(field):
    tenant_a, tenant_b = make_tenant(), make_tenant()
    child = ROW_FACTORIES[field.model](tenant_a)
    own_row = ROW_FACTORIES[field.related_model](tenant_a)
    others_row = ROW_FACTORIES[field.related_model](tenant_b)

    with _checked_at_once():
        _update(child, **{field.attname: own_row.pk})  # the same tenant's row: allowed
    with pytest.raises(IntegrityError), _checked_at_once():
        _update(child, **{field.attname: others_row.pk})
    child.refresh_from_db()
    assert getattr(child, field.attname) == own_row.pk


@pytest.mark.django_db
@needs_enforcing_database
@pytest.mark.parametrize("field", TENANT_FOREIGN_KEYS, ids=_label)
def test_a_referenced_row_cannot_move_to_another_tenant(field):
    """The other side of the same constraint: a row pointed to by another tenant's rows keeps
    its tenant. The moved row takes rows of the new tenant for its own foreign keys, so only the
    rows pointing to it can object."""
    tenant_a, tenant_b = make_tenant(), make_tenant()
    child = ROW_FACTORIES[field.model](tenant_a)
    parent = ROW_FACTORIES[field.related_model](tenant_a)
    _update(child, **{field.attname: parent.pk})
    parent.refresh_from_db()
    move = {"tenant_id": tenant_b.pk}
    for own in TENANT_FOREIGN_KEYS:
        if own.model is field.related_model and getattr(parent, own.attname) is not None:
            move[own.attname] = ROW_FACTORIES[own.related_model](tenant_b).pk

    with pytest.raises(IntegrityError) as refused, _checked_at_once():
        _update(parent, **move)
    assert field.model._meta.db_table in str(refused.value)
    type(child)._base_manager.filter(pk=child.pk).delete()
    with _checked_at_once():
        _update(parent, **move)  # nothing of tenant A points to it now


def test_the_scaling_plan_names_every_table():
    """docs/scaling.md says where each platform table goes on Citus; a new table needs a line."""
    text = SCALING_DOC.read_text()
    tables = {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label not in EMULATOR_APPS
    }
    missing = sorted(table for table in tables if f"`{table}`" not in text)
    assert missing == []
    for model in TENANT_OWNED:
        assert f"`{model._meta.db_table}`" in text.split("### Distributed tables", 1)[1]
