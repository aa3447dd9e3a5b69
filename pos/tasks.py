"""Retries of Mercado Pago syncs: thin wrappers over the services, with backoff."""

from celery import shared_task

from pos import services
from pos.models import PointOfSale, Store
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
