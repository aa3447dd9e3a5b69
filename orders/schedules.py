"""Celery beat entries of the orders app (imported by settings, so it imports nothing)."""


def beat_schedule(*, reconcile_every: int, expire_every: int) -> dict:
    """Reconcile overdue open orders and expire orders past their expiry, every so many seconds."""
    return {
        "orders-reconcile": {"task": "orders.reconcile_orders", "schedule": reconcile_every},
        "orders-expire": {"task": "orders.expire_orders", "schedule": expire_every},
    }
