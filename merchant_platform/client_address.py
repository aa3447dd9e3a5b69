"""The address of the client behind a request, for limits kept per address.

Behind ``TRUSTED_PROXY_COUNT`` proxies (each appending to ``X-Forwarded-For``), the client is the
entry that the outermost trusted proxy appended; anything to its left was sent by the client
and may be forged. With no trusted proxy the client is the connection's peer (``REMOTE_ADDR``).
"""

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP address as the trusted proxies saw it ("" when unknown)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies][:45]
    return request.META.get("REMOTE_ADDR", "")[:45]
