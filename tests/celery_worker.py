"""A real Celery worker for tests where ordering or retries matter.

The worker consumes the project's own Celery app from the configured broker (Redis in CI, an
in-memory broker otherwise, which the test's threads share). ``Worker.wait_until`` waits for a
condition by waking up whenever the worker finishes a task, instead of sleeping for a time.
"""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection

from merchant_platform.celery import app as celery_app


@dataclass
class Worker:
    finished: threading.Condition

    def wait_until(self, condition: Callable[[], bool], *, timeout: float = 60) -> None:
        """Return once ``condition()`` holds, checking it after each task the worker ends."""
        deadline = time.monotonic() + timeout
        with self.finished:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"still not true after {timeout} s: {condition.__doc__}")
                self.finished.wait(min(remaining, 0.25))


@pytest.fixture
def real_worker(transactional_db) -> Iterator[Worker]:
    """The project's tasks go to the broker and a worker thread (solo pool) runs them."""
    finished = threading.Condition()

    def task_ended(sender=None, task=None, **kwargs):
        if task is not None and not task.request.is_eager:
            connection.close()  # the worker thread's connection must not outlive the test
            with finished:
                finished.notify_all()

    task_postrun.connect(task_ended, weak=False)
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()  # messages left by earlier tests belong to no test database
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield Worker(finished)
    finally:
        celery_app.conf.task_always_eager = saved
        task_postrun.disconnect(task_ended)
