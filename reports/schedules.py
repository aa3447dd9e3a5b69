"""Celery beat entries of the reports app (imported by settings, so it imports nothing)."""

BEAT_SCHEDULE = {
    "reports-request-daily": {
        "task": "reports.request_daily_reports",
        "schedule": 24 * 60 * 60,  # daily: yesterday's settlement and release reports
    },
    "reports-fetch-available": {
        "task": "reports.fetch_and_match",
        "schedule": 15 * 60,  # every 15 minutes: Mercado Pago generates reports in minutes
    },
}
