"""Celery beat entries of the tenants app (imported by settings, so it imports nothing)."""

BEAT_SCHEDULE = {
    "tenants-refresh-due-credentials": {
        "task": "tenants.refresh_due_credentials",
        "schedule": 60 * 60,  # hourly: a refresh that failed is tried again an hour later
    },
    "tenants-notify-expiring-credentials": {
        "task": "tenants.notify_expiring_credentials",
        "schedule": 24 * 60 * 60,  # daily: owners are told once per expiry, a week ahead
    },
}
