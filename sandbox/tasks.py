"""Celery tasks that deliver the sandbox's notifications (thin wrappers of ``sandbox.notifier``).

With a broker, run ``sandbox.deliver_due`` periodically (every minute) to make the retries; with
no broker the project runs tasks eagerly, and retries wait for ``manage.py sandbox_deliver``.
``sandbox.generate_reports`` (every minute too) generates the account reports that are due.
"""

from celery import shared_task

from sandbox import notifier, reports


@shared_task(name="sandbox.deliver_event")
def deliver_event(event_id: int) -> int:
    """First attempts of a new event's deliveries; returns how many requests were made."""
    return len(notifier.deliver_event(event_id))


@shared_task(name="sandbox.deliver_due")
def deliver_due() -> int:
    """Every attempt that has come due; returns how many requests were made."""
    return len(notifier.deliver_due())


@shared_task(name="sandbox.generate_reports")
def generate_reports() -> int:
    """Every pending account report that is due (``sandbox.reports``); how many were generated."""
    return len(reports.process_due())
