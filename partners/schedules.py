"""Celery beat entries of the partners app (imported by settings, so it imports nothing)."""


def beat_schedule(*, deliver_due_every: int) -> dict:
    """Re-queue due webhook deliveries every so many seconds."""
    return {
        "partners-deliver-due-webhooks": {
            "task": "partners.deliver_due_webhooks",
            "schedule": deliver_due_every,
        },
    }
