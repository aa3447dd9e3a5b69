"""The ASGI entry point: the live server (``deploy/live.sh``, uvicorn), which holds the pages'
event streams (``orders.live``). It refuses to serve with missing or unsafe settings."""

import os

from django.core.asgi import get_asgi_application

from merchant_platform.startup import ensure_safe_to_start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchant_platform.settings")

application = get_asgi_application()

ensure_safe_to_start("the web process (ASGI)")
