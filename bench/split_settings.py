"""Settings of ``bench/paid_order_cost.py``, which runs the sandbox in processes of its own.

``bench/server_settings.py`` (the production settings read from the environment), and:

- the platform's processes call the sandbox at ``MERCADOPAGO_API_BASE_URL``, over plain HTTP on
  loopback, with the sandbox's public identity and webhook secret: the two startup errors this
  brings (E005, E011) are silenced;
- the sandbox's processes (``SANDBOX_ENABLED=true``, a database of their own) send their
  webhooks to the platform, at ``BENCH_WEBHOOK_URL``, rather than to their own ``SITE_URL``;
- with ``BENCH_QUEUE`` set (the sandbox's), Celery's default queue and the cache's key prefix
  are named after it, so that the sandbox shares the platform's Redis database apart;
- with ``BENCH_CPU_DIR`` set, Celery workers import ``bench.cpu_accounting``, which counts the
  CPU time of each task by name.
"""

import os

from bench.server_settings import *  # noqa: F403
from bench.server_settings import SILENCED_SYSTEM_CHECKS

SILENCED_SYSTEM_CHECKS = [
    *SILENCED_SYSTEM_CHECKS,
    "merchant_platform.E005",  # MERCADOPAGO_API_BASE_URL is http://127.0.0.1:<port>/sandbox
    "merchant_platform.E011",  # the sandbox's public client and webhook secrets
]
if os.environ.get("BENCH_WEBHOOK_URL"):
    SANDBOX_WEBHOOK_URL = os.environ["BENCH_WEBHOOK_URL"]
if os.environ.get("BENCH_QUEUE"):
    CELERY_TASK_DEFAULT_QUEUE = os.environ["BENCH_QUEUE"]
    for _cache in CACHES.values():  # noqa: F405
        _cache["KEY_PREFIX"] = os.environ["BENCH_QUEUE"]
if os.environ.get("BENCH_CPU_DIR"):
    CELERY_IMPORTS = ["bench.cpu_accounting"]
