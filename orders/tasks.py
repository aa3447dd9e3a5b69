"""Celery tasks of orders: thin wrappers over the services, with the retry policy."""

from celery import shared_task
from django.utils import timezone

from orders import notifications, services
from orders.errors import MercadoPagoUnavailable
from orders.models import Order, Refund
from tenants.task_base import TenantTask

RETRY = {
    "autoretry_for": (MercadoPagoUnavailable,),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name="orders.process_notification", acks_late=True, **RETRY)
def process_notification(notification_id: int, trailing: bool = False) -> str:
    """Process one inbox row (the task is keyed by it); its new status. ``trailing``: the
    look-up a coalesced IPN was given at the end of its window."""
    return notifications.process(notification_id, trailing=trailing)


@shared_task(name="orders.sweep_notifications")
def sweep_notifications() -> int:
    """Queue again the notifications stuck unprocessed (beat); how many."""
    return notifications.sweep(now=timezone.now())


@shared_task(name="orders.purge_rejected_notifications")
def purge_rejected_notifications() -> int:
    """Delete rejected notifications past their retention (beat); how many."""
    return notifications.purge_rejected(now=timezone.now())


@shared_task(base=TenantTask, name="orders.submit_order", **RETRY)
def submit_order(*, tenant, order_id: int) -> str:
    order = Order.objects.filter(pk=order_id).first()
    return services.submit_order(tenant=tenant, order=order).status if order else "gone"


@shared_task(base=TenantTask, name="orders.submit_refund", **RETRY)
def submit_refund(*, tenant, refund_id: int) -> str:
    refund = Refund.objects.filter(pk=refund_id).first()
    return services.submit_refund(tenant=tenant, refund=refund).status if refund else "gone"


@shared_task(base=TenantTask, name="orders.refresh_order", **RETRY)
def refresh_order(*, tenant, order_id: int) -> str:
    order = Order.objects.filter(pk=order_id).first()
    return services.refresh_order(tenant=tenant, order=order).status if order else "gone"


@shared_task(name="orders.reconcile_orders")
def reconcile_orders() -> int:
    """Refresh every open order whose notification is overdue (beat), pending ones whose create
    answer was lost included (found by search); how many were queued."""
    return _refresh_each(services.orders_to_reconcile(now=timezone.now()))


@shared_task(name="orders.expire_orders")
def expire_orders() -> int:
    """Refresh every order still open past its expiry (beat); how many were queued."""
    return _refresh_each(services.orders_past_expiry(now=timezone.now()))


def _refresh_each(rows: list[tuple[int, int]]) -> int:
    for tenant_id, order_id in rows:
        refresh_order.delay(tenant_id=tenant_id, order_id=order_id)
    return len(rows)
