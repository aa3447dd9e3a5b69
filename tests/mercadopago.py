"""How the platform reaches the sandbox in tests: over HTTP, in-process (httpx.WSGITransport)."""

import httpx
from django.core.wsgi import get_wsgi_application


def sandbox_transport() -> httpx.WSGITransport:
    """The whole Django stack (the sandbox is mounted under /sandbox/) as an httpx transport."""
    return httpx.WSGITransport(app=get_wsgi_application())
