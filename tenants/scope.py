"""Fail-closed tenant scope.

The current scope lives in a ``ContextVar``: one tenant (``tenant_scope``), or every tenant
(``cross_tenant_scope``, for platform staff and platform-wide jobs, always asked for explicitly).
The default manager of a tenant-owned model filters by the scope's tenant, and a queryset built
while no scope is active refuses to run, so a forgotten scope is an error instead of a leak.

Written here rather than taken from django-scopes (see docs/architecture.md): its disabled
querysets still run ``exists()``, ``aiterator()`` and subqueries unfiltered, and
``scope(tenant=None)`` silently means "every tenant".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models
from django.db.models.sql import Query

if TYPE_CHECKING:
    from tenants.models import Tenant


class ScopeError(RuntimeError):
    """A tenant-owned table was queried, or written for another tenant, outside its scope."""


@dataclass(frozen=True)
class _Scope:
    tenant: Tenant | None  # None: every tenant


_current_scope: ContextVar[_Scope | None] = ContextVar("tenant_scope", default=None)


@contextmanager
def tenant_scope(tenant: Tenant) -> Iterator[Tenant]:
    """Run the block with ``tenant`` as the only tenant whose rows can be read."""
    if tenant is None or tenant.pk is None:
        raise ScopeError("tenant_scope() needs a saved tenant; cross_tenant_scope() opens all.")
    token = _current_scope.set(_Scope(tenant))
    try:
        yield tenant
    finally:
        _current_scope.reset(token)


@contextmanager
def cross_tenant_scope() -> Iterator[None]:
    """Run the block with every tenant's rows visible (platform staff, platform-wide jobs)."""
    token = _current_scope.set(_Scope(None))
    try:
        yield
    finally:
        _current_scope.reset(token)


def get_current_tenant() -> Tenant | None:
    """The tenant of the active single-tenant scope, or None."""
    scope = _current_scope.get()
    return scope.tenant if scope is not None else None


def is_cross_tenant() -> bool:
    scope = _current_scope.get()
    return scope is not None and scope.tenant is None


def clear_scope() -> None:
    """Drop whatever scope is active (for worker threads between tasks)."""
    _current_scope.set(None)


def check_tenant_of(row: models.Model, scoped_tenant: Tenant) -> None:
    """Give a new ``row`` the scope's tenant; refuse a row of another tenant."""
    if row.tenant_id is None:
        row.tenant = scoped_tenant
    elif row.tenant_id != scoped_tenant.pk:
        raise ScopeError(
            f"Refusing to save a {row._meta.label} of tenant {row.tenant_id} "
            f"inside the scope of tenant {scoped_tenant.pk}."
        )


def _missing_scope_error(model: type[models.Model]) -> ScopeError:
    return ScopeError(
        f"{model._meta.label} rows belong to tenants and no tenant scope is active. "
        "Query inside tenant_scope(tenant), or cross_tenant_scope() for platform-wide work."
    )


class UnscopedQuery(Query):
    """The SQL query of a queryset built while no scope was active: it refuses to compile.

    Every read (iteration, ``count``, ``exists``, ``aggregate``, ``explain``, subqueries and
    unions) compiles its query, so refusing here closes them all at once.
    """

    def get_compiler(self, *args, **kwargs):
        raise _missing_scope_error(self.model)


class TenantQuerySet(models.QuerySet):
    """Closes the writes that build a query of their own instead of compiling this one."""

    def _require_scope(self) -> None:
        if isinstance(self.query, UnscopedQuery):
            raise _missing_scope_error(self.model)

    def update(self, **kwargs):
        self._require_scope()
        return super().update(**kwargs)

    def _update(self, values):
        self._require_scope()
        return super()._update(values)

    def bulk_update(self, objs, fields, batch_size=None):
        self._require_scope()  # before its transaction, which an error would poison
        return super().bulk_update(objs, fields, batch_size)

    def delete(self):
        self._require_scope()
        return super().delete()

    def _raw_delete(self, using):
        self._require_scope()
        return super()._raw_delete(using)

    def bulk_create(self, objs, *args, **kwargs):
        """Like ``save()``: rows take the scope's tenant and never belong to another one."""
        objs = list(objs)
        scoped_tenant = get_current_tenant()
        if scoped_tenant is not None:
            for obj in objs:
                check_tenant_of(obj, scoped_tenant)
        return super().bulk_create(objs, *args, **kwargs)

    def raw(self, *args, **kwargs):
        raise ScopeError(f"Raw SQL on {self.model._meta.label} bypasses the tenant scope.")


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Default manager of tenant-owned models: filtered by the active scope, closed without one."""

    def get_queryset(self) -> TenantQuerySet:
        scope = _current_scope.get()
        if scope is None:
            return self._queryset_class(
                model=self.model, query=UnscopedQuery(self.model), using=self._db, hints=self._hints
            )
        queryset = super().get_queryset()
        if scope.tenant is not None:
            queryset = queryset.filter(tenant_id=scope.tenant.pk)
        return queryset
