"""The Celery application. Settings come from Django's, under the ``CELERY_`` prefix."""

import os

from celery import Celery
from celery.signals import task_postrun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchant_platform.settings")

app = Celery("merchant_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_postrun.connect
def _clear_tenant_scope(task=None, **kwargs):
    """No task leaves a tenant scope behind for the next task run by the same worker thread.

    An eager task runs inside its caller, whose scope must survive it.
    """
    from tenants.scope import clear_scope

    if task is None or not task.request.is_eager:
        clear_scope()
