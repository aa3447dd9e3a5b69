"""Settings for the test suite: the production settings (DEBUG off), except that the test client
and the live server speak plain HTTP and static files are read from the apps (no collectstatic)."""

from merchant_platform.settings import *  # noqa: F403
from merchant_platform.settings import STORAGES

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
