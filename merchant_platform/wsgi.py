"""The WSGI entry point (gunicorn). It refuses to serve with missing or unsafe settings."""

import os

from django.core.wsgi import get_wsgi_application

from merchant_platform.startup import ensure_safe_to_start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchant_platform.settings")

application = get_wsgi_application()

ensure_safe_to_start("the web process (WSGI)")
