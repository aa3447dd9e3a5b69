"""A Celery task base that carries the tenant into the worker."""

from celery import Task

from tenants.models import Tenant
from tenants.scope import ScopeError, get_current_tenant, tenant_scope


class TenantTask(Task):
    """Runs the task inside the scope of the tenant it was enqueued for.

    Enqueue with ``tenant_id=...``, or inside ``tenant_scope(tenant)`` and the active tenant's id
    is added. The worker loads that tenant, calls the task with ``tenant=`` the ``Tenant`` inside
    its scope, and leaves the scope when the task ends, so the next task starts with none.
    Retries carry the same ``tenant_id``. Declare tasks as ``def task(*, tenant, ...)``.
    """

    typing = False  # the message carries tenant_id; the function receives tenant

    def apply_async(self, args=None, kwargs=None, **options):
        kwargs = dict(kwargs or {})
        if kwargs.get("tenant_id") is None:
            tenant = get_current_tenant()
            if tenant is None:
                raise ScopeError(
                    f"{self.name} runs for one tenant: pass tenant_id=, or enqueue it inside "
                    "tenant_scope(tenant)."
                )
            kwargs["tenant_id"] = tenant.pk
        return super().apply_async(args, kwargs, **options)

    def __call__(self, *args, tenant_id: int, **kwargs):
        tenant = Tenant.objects.get(pk=tenant_id)
        with tenant_scope(tenant):
            return super().__call__(*args, tenant=tenant, **kwargs)

    def retry(self, args=None, kwargs=None, **options):
        """Send the task again with the message's ``tenant_id``, not the ``Tenant`` it was
        called with (which no serializer carries; the retry would be rejected and lost)."""
        if kwargs is None:
            kwargs = dict(self.request.kwargs or {})
        tenant = kwargs.pop("tenant", None)
        if tenant is not None:
            kwargs.setdefault("tenant_id", tenant.pk)
        return super().retry(args=args, kwargs=kwargs, **options)
