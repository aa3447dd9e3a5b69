"""Celery beat entries of the orders app (imported by settings, so it imports nothing)."""


def beat_schedule(
    *, reconcile_every: int, expire_every: int, sweep_every: int, purge_every: int = 3600
) -> dict:
    """Reconcile overdue open orders, expire orders past their expiry, queue again stuck
    notifications and purge old rejected ones, every so many seconds."""
    return {
        "orders-reconcile": {"task": "orders.reconcile_orders", "schedule": reconcile_every},
        "orders-expire": {"task": "orders.expire_orders", "schedule": expire_every},
        "orders-sweep-notifications": {
            "task": "orders.sweep_notifications",
            "schedule": sweep_every,
        },
        "orders-purge-rejected-notifications": {
            "task": "orders.purge_rejected_notifications",
            "schedule": purge_every,
        },
    }
