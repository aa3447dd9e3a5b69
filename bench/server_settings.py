"""Settings of the benchmarks that run the platform under gunicorn and Celery.

The production settings, read from the environment the benchmark sets (DEBUG off, PostgreSQL,
Redis, the sandbox turned on by SANDBOX_ENABLED=true), with two changes: the bench urlconf, which
adds a bare view next to the product's URLs, and the errors of the startup refusal
(merchant_platform/startup.py) that standing in the sandbox for Mercado Pago on loopback brings.
"""

from merchant_platform.settings import *  # noqa: F403

ROOT_URLCONF = "bench.server_urls"
SILENCED_SYSTEM_CHECKS = [
    "merchant_platform.E002",  # the MERCADOPAGO_* values: the sandbox's public identity stands in
    "merchant_platform.E009",  # SITE_URL is http://127.0.0.1:<port>, with no TLS on loopback
    "merchant_platform.E013",  # e-mail printed on the console: a benchmark sends none
]
