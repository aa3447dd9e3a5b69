"""Retries of Mercado Pago syncs, with backoff, and CSV imports: thin wrappers over the services."""

from celery import shared_task
from django.utils import translation

from pos import imports, services
from pos.models import PointOfSale, PosImport, Store
from tenants.task_base import TenantTask

RETRY = {
    "autoretry_for": services.RETRYABLE,
    "retry_backoff": 10,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
    "max_retries": 12,
}


@shared_task(base=TenantTask, name="pos.sync_store", **RETRY)
def sync_store(*, tenant, row_id: int) -> None:
    store = Store.objects.filter(pk=row_id).first()
    if store is not None:  # deleted meanwhile: nothing left to push
        services.sync_store(tenant=tenant, store=store)


@shared_task(base=TenantTask, name="pos.sync_pos", **RETRY)
def sync_pos(*, tenant, row_id: int) -> None:
    pos = PointOfSale.objects.select_related("store").filter(pk=row_id).first()
    if pos is not None:
        services.sync_pos(tenant=tenant, pos=pos)


@shared_task(base=TenantTask, name="pos.delete_remote", **RETRY)
def delete_remote(*, tenant, kind: str, mp_id: int) -> None:
    services.delete_remote(tenant=tenant, kind=kind, mp_id=mp_id)


@shared_task(base=TenantTask, name="pos.run_import")
def run_import(*, tenant, import_id: int, language: str) -> None:
    """Import an uploaded CSV (``pos.imports.run``), its report in the uploader's language."""
    pos_import = PosImport.objects.filter(pk=import_id).first()
    if pos_import is not None:
        with translation.override(language):
            imports.run(tenant=tenant, pos_import=pos_import)
