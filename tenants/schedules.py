"""Celery beat entries of the tenants app (imported by settings, so it imports nothing)."""

BEAT_SCHEDULE = {
    "tenants-refresh-due-credentials": {
        "task": "tenants.refresh_due_credentials",
        "schedule": 60 * 60,  # hourly: a refresh that failed is tried again an hour later
    },
}
