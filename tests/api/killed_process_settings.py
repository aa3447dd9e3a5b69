"""Settings of a process that a test starts and then kills (tests/api/test_idempotency_lease.py):
the test settings, on the test's database (its name passed in the environment), with Mercado
Pago (the sandbox) reached in-process and tasks run eagerly."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["KILLED_PROCESS_DATABASE"]
CELERY_TASK_ALWAYS_EAGER = True
