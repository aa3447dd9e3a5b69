"""Settings of the soak's own processes (gunicorn serving the platform and the sandbox, Celery
workers): the test settings, on the test's database and broker queue, with Mercado Pago (the
sandbox) reached over a socket. The soak passes the values in the environment."""

import json
import os

from celery.app import autoretry

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, SILENCED_SYSTEM_CHECKS

DATABASES["default"]["NAME"] = os.environ["SOAK_DATABASE_NAME"]  # the test database
SITE_URL = os.environ["SOAK_SITE_URL"]
MERCADOPAGO_HTTP_TRANSPORT = ""  # a real socket, so that timeouts are real
MERCADOPAGO_TIMEOUT = float(os.environ["SOAK_CLIENT_TIMEOUT"])
CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = os.environ["SOAK_QUEUE"]  # this run's own queue
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 3,
    "socket_timeout": 5,
    "global_keyprefix": os.environ["SOAK_BROKER_PREFIX"],  # this run's keys only
    **json.loads(os.environ.get("SOAK_BROKER_OPTIONS", "{}")),
}
# As in production, the web processes share one cache: the broker's Redis, under this run's
# prefix. The startup refusal (merchant_platform/startup.py) then checks that it is shared; the
# test settings' other silenced errors stay silenced (the sandbox's public identity, plain HTTP).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CELERY_BROKER_URL,
        "KEY_PREFIX": os.environ["SOAK_QUEUE"],
    }
}
SILENCED_SYSTEM_CHECKS = [
    check for check in SILENCED_SYSTEM_CHECKS if check != "merchant_platform.E010"
]
ORDERS_RECONCILE_AFTER = 0  # the soak runs reconciliation when it wants every open order checked

# Task retries wait a tenth of their production backoff (still exponential, with jitter): the
# soak's clock runs ten times faster for them, as MERCADOPAGO_BACKOFF_BASE = 0 does for calls.
_backoff = autoretry.get_exponential_backoff_interval
autoretry.get_exponential_backoff_interval = lambda *args, **kwargs: _backoff(*args, **kwargs) / 10
