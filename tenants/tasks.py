"""Celery tasks of the tenants app: thin wrappers around ``tenants.oauth`` and
``tenants.connection_health``."""

import logging

from django.utils import timezone

from merchant_platform.celery import app
from mpapi import MercadoPagoError
from tenants import connection_health, oauth
from tenants.scope import cross_tenant_scope
from tenants.services import NotConnected
from tenants.task_base import TenantTask

logger = logging.getLogger(__name__)


@app.task(name="tenants.refresh_due_credentials")
def refresh_due_credentials() -> int:
    """Enqueue a token refresh for every seller whose OAuth token expires soon (beat, hourly)."""
    with cross_tenant_scope():
        tenant_ids = oauth.tenants_due_for_refresh(now=timezone.now())
    for tenant_id in tenant_ids:
        refresh_credential.apply_async(kwargs={"tenant_id": tenant_id})
    return len(tenant_ids)


@app.task(base=TenantTask, name="tenants.refresh_credential")
def refresh_credential(*, tenant) -> str:
    """Refresh one seller's tokens. A failure is logged; the next hourly run tries again."""
    try:
        oauth.refresh_credential(tenant=tenant)
    except NotConnected:
        logger.warning("Mercado Pago token refresh refused: seller %s must reconnect", tenant.pk)
        return "needs_reconnect"
    except MercadoPagoError as error:
        logger.warning("Mercado Pago token refresh failed for seller %s: %s", tenant.pk, error)
        return "failed"
    return "refreshed"


@app.task(name="tenants.notify_expiring_credentials")
def notify_expiring_credentials() -> int:
    """Tell the owners of sellers whose token expires within a week, unrenewed (beat, daily)."""
    with cross_tenant_scope():
        tenant_ids = connection_health.tenants_expiring_unrenewed(now=timezone.now())
    for tenant_id in tenant_ids:
        notify_expiring_credential.apply_async(kwargs={"tenant_id": tenant_id})
    return len(tenant_ids)


@app.task(base=TenantTask, name="tenants.notify_expiring_credential")
def notify_expiring_credential(*, tenant) -> bool:
    """Mark one seller's connection as expiring and tell its owners (once per expiry)."""
    return connection_health.mark_needs_reconnect(
        tenant=tenant, reason=connection_health.Reason.EXPIRING
    )
