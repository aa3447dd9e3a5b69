"""Settings of the benchmarks that run the platform under gunicorn and Celery.

The production settings, read from the environment the benchmark sets (DEBUG off, PostgreSQL,
Redis), with one change: the bench urlconf, which adds a bare view next to the product's URLs.
"""

from merchant_platform.settings import *  # noqa: F403

ROOT_URLCONF = "bench.server_urls"
