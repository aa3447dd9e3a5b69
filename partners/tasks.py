"""Celery tasks of partners' webhooks: thin wrappers over ``partners.webhooks``."""

from celery import shared_task
from django.utils import timezone

from partners import webhooks
from tenants.task_base import TenantTask


@shared_task(base=TenantTask, name="partners.deliver_webhook")
def deliver_webhook(*, tenant, delivery_id: int) -> str:
    """Make the due attempt of one delivery; its status afterwards ("not due" if none was).

    When a retry is scheduled and tasks go to a broker, the task queues itself for the retry's
    time. With eager Celery (no broker, the embedded default) it does not chain, since the retry
    would run at once inside this call: a failed attempt waits for ``deliver_due_webhooks``.
    """
    delivery = webhooks.deliver(tenant=tenant, delivery_id=delivery_id)
    if delivery is None:
        return "not due"
    if delivery.next_attempt_at is not None and not deliver_webhook.app.conf.task_always_eager:
        deliver_webhook.apply_async(
            kwargs={"tenant_id": tenant.pk, "delivery_id": delivery.pk},
            eta=delivery.next_attempt_at,
        )
    return delivery.status


@shared_task(name="partners.deliver_due_webhooks")
def deliver_due_webhooks() -> int:
    """Queue every pending delivery whose attempt is due (beat): a safety net for lost messages
    and ended leases; a duplicate message finds nothing to claim. How many were queued."""
    rows = webhooks.due_deliveries(now=timezone.now())
    for tenant_id, delivery_id in rows:
        deliver_webhook.delay(tenant_id=tenant_id, delivery_id=delivery_id)
    return len(rows)


@shared_task(name="partners.purge_events")
def purge_events() -> int:
    """Delete events past ``EVENTS_RETENTION_DAYS`` (beat, daily); how many."""
    return webhooks.purge_events(now=timezone.now())
