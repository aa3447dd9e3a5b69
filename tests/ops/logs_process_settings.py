"""Settings of the Celery worker and beat processes of tests/ops/test_logs_celery_process.py:
the test settings, on the test's database and a broker queue of the test's own (from the
environment)."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["LOGS_TEST_DATABASE_NAME"]
CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = os.environ["LOGS_TEST_QUEUE"]
