"""Settings for the test suite: the production settings (DEBUG off), except that the test client
and the live server speak plain HTTP, static files are read from the apps (no collectstatic), and
the platform reaches the sandbox in-process."""

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from merchant_platform.settings import *  # noqa: F403
from merchant_platform.settings import (
    CELERY_BEAT_SCHEDULE,
    CELERY_BROKER_URL,
    DATABASES,
    LIVE_STATUS_REDIS_URL,
    MIDDLEWARE,
    SILENCED_SYSTEM_CHECKS,
    STORAGES,
)

# Mercado Pago is the sandbox, mounted as SANDBOX_ENABLED=true mounts it (DEBUG is off, so the
# settings leave it off): its URLs (merchant_platform/urls.py reads this), its fault injection
# middleware and its delivery schedule.
SANDBOX_ENABLED = True
SANDBOX_MIDDLEWARE = "sandbox.faults.FaultInjectionMiddleware"
if SANDBOX_MIDDLEWARE not in MIDDLEWARE:
    MIDDLEWARE.insert(
        MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1, SANDBOX_MIDDLEWARE
    )
CELERY_BEAT_SCHEDULE["sandbox-deliver-due"] = {"task": "sandbox.deliver_due", "schedule": 60}
# One process: the throttle's tests count in its memory, and no counter outlives a run.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The suite stands in for production (DEBUG off) with the sandbox's public identity, on plain
# HTTP and a per-process cache: the startup refusal (merchant_platform/startup.py) of its Celery
# workers would stop them. The checks' own tests put back the project's list (PROJECT_SILENCED).
PROJECT_SILENCED = SILENCED_SYSTEM_CHECKS
SILENCED_SYSTEM_CHECKS = [
    *PROJECT_SILENCED,
    "merchant_platform.E001",  # the public development SECRET_KEY
    "merchant_platform.E002",  # the MERCADOPAGO_* values: the sandbox's stand in
    "merchant_platform.E009",  # SITE_URL on http://
    "merchant_platform.E010",  # the per-process cache above
    "merchant_platform.E013",  # e-mail is never sent: tests read django.core.mail.outbox
]

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# The platform's Mercado Pago calls reach the sandbox in-process, over HTTP through WSGI.
MERCADOPAGO_HTTP_TRANSPORT = "merchant_platform.mercadopago.in_process_transport"
# Tasks run eagerly unless a broker is configured; a test that starts a Celery worker meets its
# producers on an in-memory broker when none is (the CI sets Redis).
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
# Under pytest-xdist each test process has its own test database, so each has its own queue too:
# a real worker of one process must never take a task whose rows are in another's database.
CELERY_TASK_DEFAULT_QUEUE = f"tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
# orders/live.py's channels carry the Redis database of LIVE_STATUS_REDIS_URL (pub/sub ignores
# it): one database per test process, so that a stream never hears another process's POS or
# order of the same id.
if LIVE_STATUS_REDIS_URL:
    _process = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    LIVE_STATUS_REDIS_URL = urlunsplit(
        urlsplit(LIVE_STATUS_REDIS_URL)._replace(path=f"/{10 + _process % 6}")
    )
SANDBOX_WEBHOOK_URL = ""  # tests that receive webhooks point the sandbox at their own server
MERCADOPAGO_BACKOFF_BASE = 0  # retries go at once: tests do not wait on backoff
API_THROTTLE_RATE = ""  # the schema-wide fuzzing sends more; the throttle's test sets a rate
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The live server and the Celery worker write from their own threads. An in-memory database
    # shares its cache between them and fails at once ("table is locked"); a file (one per test
    # process) lets them wait for each other, in the WAL mode the settings choose for SQLite.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"merchant-platform-tests-{os.getpid()}.sqlite3")
    }
    DATABASES["default"]["OPTIONS"]["init_command"] += "; PRAGMA synchronous=OFF"  # no fsync

WEBHOOKS_BACKOFF_BASE = 0  # partner webhooks retry at once
WEBHOOKS_ALLOW_PRIVATE_URLS = True  # partner endpoints in tests listen on 127.0.0.1
# Users' passwords and partner apps' client secrets are hashed on every fixture that makes one;
# the production hasher is slow on purpose, and tests need not pay for it.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Platform staff in tests sign in without an authenticator app; tests/test_accounts.py turns the
# requirement on where it checks it.
STAFF_REQUIRE_2FA = False
