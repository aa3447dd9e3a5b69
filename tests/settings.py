"""Settings for the test suite: the production settings (DEBUG off), except that the test client
and the live server speak plain HTTP, static files are read from the apps (no collectstatic), and
the platform reaches the sandbox in-process."""

from merchant_platform.settings import *  # noqa: F403
from merchant_platform.settings import STORAGES

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# The platform's Mercado Pago calls reach the sandbox in-process, over HTTP through WSGI.
MERCADOPAGO_HTTP_TRANSPORT = "tests.mercadopago.sandbox_transport"
SANDBOX_WEBHOOK_URL = ""  # tests that receive webhooks point the sandbox at their own server
MERCADOPAGO_BACKOFF_BASE = 0  # retries go at once: tests do not wait on backoff
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
