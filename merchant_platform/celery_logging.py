"""Celery's worker and beat log through the platform's ``LOGGING`` (one line of JSON each), and a
task carries the log context of the request that published it.

- Celery leaves logging as ``LOGGING`` configured it (a ``setup_logging`` receiver): no handler
  of its own, no root level of its own (the worker's ``--loglevel`` would otherwise drop the
  platform's INFO lines), and the worker's stray prints go to the ``celery.redirected`` logger.
- The worker's startup banner and beat's become one logged line; the lines the worker writes
  straight to its stdout from a signal handler (``worker: Warm shutdown (MainProcess)``) are
  written as JSON.
- ``before_task_publish`` adds the request id (and the order) in force to the message's headers;
  ``task_prerun`` opens the task's context with them, the task's name and id and its tenant's
  id (a ``TenantTask``'s ``tenant_id``), and ``task_postrun`` closes it. An eager task runs
  inside its caller and extends its context.
"""

import contextlib
import logging
import os
import sys
from contextvars import Token

import celery
import celery.apps.beat
import celery.apps.worker
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun
from kombu.utils.objects import cached_property

from merchant_platform import request_context
from merchant_platform.logging import OneLineJSONFormatter

logger = logging.getLogger(__name__)

HEADER = "log_context"
CARRIED = ("request_id", "order")  # what a published task carries; it names its own tenant


class Worker(celery.apps.worker.Worker):
    def emit_banner(self) -> None:
        """The startup information, logged as one line instead of printed as ASCII art."""
        info = self.startup_info(artlines=False).splitlines()
        logger.info("celery worker starting: %s", " | ".join(filter(None, map(str.strip, info))))

    def on_start(self) -> None:
        super().on_start()
        if self.redirect_stdouts:  # Celery skips it when logging is the platform's own
            self.app.log.redirect_stdouts(self.redirect_stdouts_level)


class Beat(celery.apps.beat.Beat):
    def __init__(self, *args, quiet: bool = False, **kwargs) -> None:
        super().__init__(*args, quiet=True, **kwargs)  # its banner is printed, not logged

    def init_loader(self) -> None:
        super().init_loader()  # sets Django up: logging is the platform's from here
        logger.info("celery beat starting, broker %s", self.app.connection().as_uri())


class Celery(celery.Celery):
    """The Celery app whose ``celery worker`` and ``celery beat`` log only JSON lines."""

    @cached_property
    def Worker(self):
        return self.subclass_with_self(Worker)

    @cached_property
    def Beat(self):
        return self.subclass_with_self(Beat)


def _say_as_json(message: str, f=sys.__stderr__) -> None:
    """Celery's ``safe_say`` (lines written from signal handlers), as a line of JSON. Written
    with ``os.write`` as Celery does: no lock a signal handler could wait on."""
    record = logging.LogRecord("celery.apps.worker", logging.INFO, __file__, 0, message, None, None)
    with contextlib.suppress(OSError):
        os.write(f.fileno(), (OneLineJSONFormatter().format(record) + "\n").encode())


celery.apps.worker.safe_say = _say_as_json


@setup_logging.connect
def _keep_the_platform_logging(**kwargs) -> None:
    """Django configured logging from ``LOGGING`` already: Celery adds nothing to it."""


@before_task_publish.connect
def _carry_the_request(headers: dict | None = None, **kwargs) -> None:
    carried = {name: request_context.current().get(name) for name in CARRIED}
    carried = {name: value for name, value in carried.items() if value is not None}
    if headers is not None and carried:
        headers[HEADER] = carried


_open: dict[str, list[Token]] = {}  # task id -> tokens of the contexts its runs opened


@task_prerun.connect
def _open_the_task_context(
    task_id: str | None = None, task=None, kwargs: dict | None = None, **ignored
) -> None:
    if task is None or task_id is None:
        return
    if task.request.is_eager:
        fields = dict(request_context.current())
    else:
        carried = getattr(task.request, HEADER, None)
        carried = carried if isinstance(carried, dict) else {}
        fields = {name: str(carried[name]) for name in CARRIED if carried.get(name)}
        if "request_id" in fields:
            fields["request_id"] = request_context.accepted_request_id(fields["request_id"])
    if isinstance(tenant_id := (kwargs or {}).get("tenant_id"), int):  # a TenantTask's tenant
        fields["tenant_id"] = tenant_id
    token = request_context.start(**(fields | {"task": task.name, "task_id": task_id}))
    _open.setdefault(task_id, []).append(token)


@task_postrun.connect
def _close_the_task_context(task_id: str | None = None, **kwargs) -> None:
    tokens = _open.get(task_id)
    if not tokens:
        return
    request_context.end(tokens.pop())
    if not tokens:
        del _open[task_id]
