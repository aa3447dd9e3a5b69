"""Celery tasks of the reports app: thin wrappers around ``reports.services`` (beat)."""

import logging

from merchant_platform.celery import app
from mpapi import MercadoPagoError
from reports import services
from tenants.services import NotConnected
from tenants.task_base import TenantTask

logger = logging.getLogger(__name__)


@app.task(name="reports.request_daily_reports")
def request_daily_reports() -> int:
    """Ask for yesterday's settlement and release reports of every connected seller (beat,
    daily); how many sellers were queued."""
    tenants = services.connected_tenants()
    for tenant in tenants:
        request_reports.apply_async(kwargs={"tenant_id": tenant.pk})
    return len(tenants)


@app.task(base=TenantTask, name="reports.request_reports")
def request_reports(*, tenant) -> int:
    """Make sure one seller's report configuration suits matching, then ask for yesterday's
    reports; how many report rows (asked now or before). A failure waits for the next day."""
    try:
        services.ensure_config(tenant)
        return len(services.request_yesterdays_reports(tenant))
    except (NotConnected, MercadoPagoError) as error:
        logger.warning("reports of seller %s not requested: %s", tenant.pk, error)
        return 0


@app.task(name="reports.fetch_and_match")
def fetch_and_match() -> int:
    """Download and match the reports Mercado Pago generated, for every connected seller
    (beat, frequent); how many sellers were queued."""
    tenants = services.connected_tenants()
    for tenant in tenants:
        fetch_and_match_reports.apply_async(kwargs={"tenant_id": tenant.pk})
    return len(tenants)


@app.task(base=TenantTask, name="reports.fetch_and_match_reports")
def fetch_and_match_reports(*, tenant) -> int:
    """Download one seller's generated reports and match them; how many open mismatches they
    left. A failure waits for the next run."""
    try:
        return len(services.fetch_and_match(tenant))
    except (NotConnected, MercadoPagoError) as error:
        logger.warning("reports of seller %s not fetched: %s", tenant.pk, error)
        return 0
