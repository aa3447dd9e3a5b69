"""Celery beat entries of the partners app (imported by settings, so it imports nothing)."""


def beat_schedule(*, deliver_due_every: int) -> dict:
    """Re-queue due webhook deliveries every so many seconds; purge old events daily."""
    return {
        "partners-deliver-due-webhooks": {
            "task": "partners.deliver_due_webhooks",
            "schedule": deliver_due_every,
        },
        "partners-purge-events": {
            "task": "partners.purge_events",
            "schedule": 24 * 60 * 60,  # daily: events older than EVENTS_RETENTION_DAYS
        },
    }
