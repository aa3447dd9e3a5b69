"""Database-level tenant integrity: a foreign key between tenant-owned rows never crosses tenants.

Django 5.2 has no composite foreign keys, so this module adds, beside Django's own ``<fk>_id ->
id`` constraint, the one that also pins the tenant (docs/scaling.md):

- on PostgreSQL, the migration operation ``AddSameTenantConstraint`` adds
  ``FOREIGN KEY (tenant_id, <fk>_id) REFERENCES <table> (tenant_id, id)``, backed by a unique
  constraint ``(tenant_id, id)`` on the referenced table. This is also the shape Citus needs to
  co-locate the two tables when they are distributed by ``tenant_id``.
- on SQLite (the embedded default and ``make test``), triggers that ``RAISE(ABORT)`` do the same
  check. They cannot live in migrations: Django alters a SQLite table by rebuilding it, which
  drops the table's triggers and fails ("error in trigger ...: no such table") while a trigger on
  another table names it. So they are dropped before every ``migrate`` and created again after it
  (and after ``flush``) from the migrated models, by the signal handlers below.

Both follow PostgreSQL's ``MATCH SIMPLE``: a row whose foreign key, or whose tenant, is NULL is not
checked (a nullable foreign key, or the notification inbox before its tenant is resolved).
Whether the referenced row exists stays the job of Django's own (deferred) foreign key.
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.migrations.operations.base import Operation

TENANT_MODEL = "tenants.Tenant"
TENANT_FIELD = "tenant"
TRIGGER_PREFIX = "same_tenant_"
POSTGRES_NAME_MAX = 63


def tenant_field(model: type[models.Model]) -> models.ForeignKey | None:
    """The model's ``tenant`` foreign key to ``Tenant``, or None (works on historical models)."""
    try:
        field = model._meta.get_field(TENANT_FIELD)
    except FieldDoesNotExist:
        return None
    if field.many_to_one and field.related_model._meta.label == TENANT_MODEL:
        return field
    return None


def is_tenant_owned(model: type[models.Model]) -> bool:
    """A row that always belongs to one tenant: a non-null ``tenant`` foreign key."""
    field = tenant_field(model)
    return field is not None and not field.null


def same_tenant_foreign_keys(models_: list[type[models.Model]]) -> list[models.ForeignKey]:
    """The foreign keys (other than ``tenant``) of models with a tenant to tenant-owned models."""
    return [
        field
        for model in models_
        if tenant_field(model) is not None
        for field in model._meta.concrete_fields
        if (field.many_to_one or (field.one_to_one and not field.remote_field.parent_link))
        and field.name != TENANT_FIELD
        and is_tenant_owned(field.related_model)
    ]


def _checked_name(name: str) -> str:
    if len(name) > POSTGRES_NAME_MAX:
        raise ValueError(f"Constraint name {name!r} is longer than {POSTGRES_NAME_MAX} characters.")
    return name


def tenant_key_name(model: type[models.Model]) -> str:
    """Name of the unique ``(tenant_id, id)`` constraint of a referenced table."""
    return _checked_name(f"{model._meta.db_table}_tenant_id_id_uniq")


def same_tenant_constraint_name(field: models.ForeignKey) -> str:
    """Name of the composite foreign key ``(tenant_id, <fk>_id)`` of ``field``."""
    return _checked_name(f"{field.model._meta.db_table}_{field.column}_same_tenant_fk")


def _parts(field: models.ForeignKey, quote) -> dict[str, str]:
    child, parent = field.model, field.related_model
    return {
        "child": quote(child._meta.db_table),
        "child_tenant": quote(tenant_field(child).column),
        "column": quote(field.column),
        "parent": quote(parent._meta.db_table),
        "parent_tenant": quote(tenant_field(parent).column),
        "target": quote(field.target_field.column),
        "key": quote(tenant_key_name(parent)),
        "constraint": quote(same_tenant_constraint_name(field)),
        "parent_literal": quote(parent._meta.db_table).replace("'", "''"),
        "key_literal": tenant_key_name(parent),
    }


# PostgreSQL ------------------------------------------------------------------------------------

_ADD_KEY = """DO $$ BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conname = '{key_literal}' AND conrelid = '{parent_literal}'::regclass
    ) THEN
        ALTER TABLE {parent} ADD CONSTRAINT {key} UNIQUE ({parent_tenant}, {target});
    END IF;
END $$"""

_ADD_FOREIGN_KEY = (
    "ALTER TABLE {child} ADD CONSTRAINT {constraint} FOREIGN KEY ({child_tenant}, {column}) "
    "REFERENCES {parent} ({parent_tenant}, {target}) DEFERRABLE INITIALLY DEFERRED"
)

_DROP_FOREIGN_KEY = "ALTER TABLE {child} DROP CONSTRAINT {constraint}"

# The referenced table's key goes with the last composite foreign key that uses it.
_DROP_KEY_IF_UNUSED = """DO $$ BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint AS fk JOIN pg_constraint AS key ON fk.conindid = key.conindid
        WHERE fk.contype = 'f' AND key.conname = '{key_literal}'
            AND key.conrelid = '{parent_literal}'::regclass
    ) THEN
        ALTER TABLE {parent} DROP CONSTRAINT IF EXISTS {key};
    END IF;
END $$"""


class AddSameTenantConstraint(Operation):
    """Make the database refuse a foreign key from one tenant's row to another tenant's row.

    On PostgreSQL: a unique ``(tenant_id, id)`` on the referenced table (once, shared by every
    foreign key to it) and ``FOREIGN KEY (tenant_id, <name>_id) REFERENCES <table> (tenant_id,
    id) DEFERRABLE INITIALLY DEFERRED``, like Django's own foreign keys. Reversing drops the
    foreign key, and the unique key when no other composite foreign key uses it. Elsewhere (SQLite)
    it does nothing: the triggers come from ``install_sqlite_triggers`` after every migrate.

    The model state does not change, so ``makemigrations`` never writes or removes it: add one
    by hand for every new foreign key between tenant-owned models
    (``tests/test_schema_distribution.py`` fails until there is one).
    """

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, name: str):
        self.model_name = model_name
        self.name = name

    def deconstruct(self):
        return (self.__class__.__name__, [], {"model_name": self.model_name, "name": self.name})

    def state_forwards(self, app_label, state):
        pass

    def _statements(self, app_label, schema_editor, state, templates):
        if schema_editor.connection.vendor != "postgresql":
            return
        model = state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        field = model._meta.get_field(self.name)
        if field not in same_tenant_foreign_keys([model]):
            raise ValueError(
                f"{model._meta.label}.{self.name} is not a foreign key between tenant-owned rows."
            )
        parts = _parts(field, schema_editor.quote_name)
        for template in templates:
            schema_editor.execute(template.format(**parts))

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._statements(app_label, schema_editor, to_state, [_ADD_KEY, _ADD_FOREIGN_KEY])

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._statements(
            app_label, schema_editor, from_state, [_DROP_FOREIGN_KEY, _DROP_KEY_IF_UNUSED]
        )

    def describe(self):
        return f"Refuse {self.model_name}.{self.name} pointing to another tenant's row"

    @property
    def migration_name_fragment(self):
        return f"{self.model_name}_{self.name}_same_tenant"


# SQLite ----------------------------------------------------------------------------------------

_CROSSES = (
    "EXISTS (SELECT 1 FROM {parent} AS parent WHERE parent.{target} = NEW.{column} "
    "AND parent.{parent_tenant} <> NEW.{child_tenant})"
)
_CROSSED = (
    "EXISTS (SELECT 1 FROM {child} AS child WHERE child.{column} = NEW.{target} "
    "AND child.{child_tenant} <> NEW.{parent_tenant})"
)
_ABORT = "BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: {message}'); END"
_TRIGGERS = {
    "insert": "BEFORE INSERT ON {child} WHEN " + _CROSSES,
    "update": (
        "BEFORE UPDATE OF {column}, {child_tenant} ON {child} WHEN (NEW.{column} IS NOT "
        "OLD.{column} OR NEW.{child_tenant} IS NOT OLD.{child_tenant}) AND " + _CROSSES
    ),
    "parent_insert": "BEFORE INSERT ON {parent} WHEN " + _CROSSED,
    "parent_update": (
        "BEFORE UPDATE OF {target}, {parent_tenant} ON {parent} WHEN (NEW.{target} IS NOT "
        "OLD.{target} OR NEW.{parent_tenant} IS NOT OLD.{parent_tenant}) AND " + _CROSSED
    ),
}


def sqlite_trigger_name(field: models.ForeignKey, event: str) -> str:
    return f"{TRIGGER_PREFIX}{field.model._meta.db_table}_{field.column}_{event}"


def sqlite_triggers(field: models.ForeignKey, quote) -> dict[str, str]:
    """The four triggers that keep ``field`` within one tenant, by name: a child row inserted or
    changed to point to another tenant's row, and a referenced row inserted or moved under
    another tenant while rows of the first one point to it."""
    parts = _parts(field, quote)
    message = (
        f"{field.model._meta.db_table}.{field.column} points to a "
        f"{field.related_model._meta.db_table} row of another tenant"
    )
    return {
        sqlite_trigger_name(field, event): (
            f"CREATE TRIGGER {quote(sqlite_trigger_name(field, event))} "
            + condition.format(**parts)
            + " "
            + _ABORT.format(message=message)
        )
        for event, condition in _TRIGGERS.items()
    }


def _existing_sqlite_triggers(cursor) -> dict[str, str]:
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s ESCAPE '\\'",
        [TRIGGER_PREFIX.replace("_", "\\_") + "%"],
    )
    return dict(cursor.fetchall())


def drop_sqlite_triggers(connection) -> None:
    with connection.cursor() as cursor:
        for name in _existing_sqlite_triggers(cursor):
            cursor.execute(f"DROP TRIGGER IF EXISTS {connection.ops.quote_name(name)}")


def install_sqlite_triggers(connection, models_: list[type[models.Model]]) -> None:
    """Make the same-tenant triggers exactly those of ``models_`` whose tables exist."""
    tables = set(connection.introspection.table_names())
    wanted: dict[str, str] = {}
    for field in same_tenant_foreign_keys(models_):
        if {field.model._meta.db_table, field.related_model._meta.db_table} <= tables:
            wanted |= sqlite_triggers(field, connection.ops.quote_name)
    with connection.cursor() as cursor:
        existing = _existing_sqlite_triggers(cursor)
        for name, sql in existing.items():
            if wanted.get(name) != sql:
                cursor.execute(f"DROP TRIGGER IF EXISTS {connection.ops.quote_name(name)}")
        for name, sql in wanted.items():
            if existing.get(name) != sql:
                cursor.execute(sql)


def drop_triggers_before_migrate(sender, using, **kwargs) -> None:
    """pre_migrate: no trigger may name a table that a migration rebuilds."""
    from django.db import connections

    if connections[using].vendor == "sqlite":
        drop_sqlite_triggers(connections[using])


def install_triggers_after_migrate(sender, using, **kwargs) -> None:
    """post_migrate (also sent by ``flush``): the triggers of the migrated models."""
    from django.apps import apps as global_apps
    from django.db import connections

    if connections[using].vendor == "sqlite":
        apps = kwargs.get("apps") or global_apps
        install_sqlite_triggers(connections[using], apps.get_models())
