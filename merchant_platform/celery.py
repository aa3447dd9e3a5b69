"""The Celery application. Settings come from Django's, under the ``CELERY_`` prefix. Its worker
and beat log JSON lines only, and tasks carry the request's log context
(``merchant_platform.celery_logging``)."""

import os

from celery.signals import beat_init, task_postrun, worker_init

from merchant_platform.celery_logging import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchant_platform.settings")

app = Celery("merchant_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _refuse_an_unsafe_worker(sender=None, **kwargs):
    """A worker does not start with missing or unsafe settings (``merchant_platform.startup``).

    Celery logs and swallows a signal handler's exception: ``SystemExit`` is what stops it.
    """
    _exit_if_unsafe("a Celery worker")


@beat_init.connect
def _refuse_an_unsafe_beat(sender=None, **kwargs):
    """Beat does not start with missing or unsafe settings either."""
    _exit_if_unsafe("Celery beat")


def _exit_if_unsafe(process: str) -> None:
    from merchant_platform.startup import UnsafeToStart, ensure_safe_to_start

    try:
        ensure_safe_to_start(process)
    except UnsafeToStart as refused:
        raise SystemExit(str(refused)) from None


@task_postrun.connect
def _clear_tenant_scope(task=None, **kwargs):
    """No task leaves a tenant scope behind for the next task run by the same worker thread.

    An eager task runs inside its caller, whose scope must survive it.
    """
    from tenants.scope import clear_scope

    if task is None or not task.request.is_eager:
        clear_scope()
