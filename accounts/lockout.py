"""Lockout of repeated failures (django-axes) beyond Django's sign-in: the OAuth2 token endpoint.

django-oauth-toolkit authenticates clients itself, never through ``authenticate()``, so axes does
not see them. ``ClientLockoutMixin`` (``GuardedTokenView``) refuses a locked-out client id or
address before DOT runs, and reports each failed client authentication or refused grant as a
failed sign-in of the pseudo-user ``client:<client_id>`` (Django's ``user_login_failed``), which
axes counts per client id and per address like any other.
"""

import binascii
import json
from base64 import b64decode
from collections.abc import Callable
from urllib.parse import unquote_plus

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_lockout_response
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from oauth2_provider.views import RevokeTokenView, TokenView

CLIENT_USERNAME_PREFIX = "client:"
# OAuth2 errors that mean a guess went wrong: a client secret, or a code, verifier or token.
COUNTED_ERRORS = {"invalid_client", "invalid_grant"}


class LockoutBackend(AxesStandaloneBackend):
    """Axes' check, first in ``AUTHENTICATION_BACKENDS``: a locked-out account or address is
    refused before any password is checked. A call with no request (Django's test client's
    ``login()``, a shell) has no client to count and goes on to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def retry_after_seconds(request: HttpRequest) -> int:
    """How long a locked-out client waits: the cool-off (a failure during it starts it again)."""
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else 3600


def _client_id(request: HttpRequest) -> str:
    """The client id a token request names: in HTTP Basic credentials, else in the body."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return unquote_plus(decoded.partition(":")[0])[:200]
    return request.POST.get("client_id", "")[:200]


def _oauth_error(response: HttpResponse) -> str:
    try:
        return json.loads(response.content).get("error", "")
    except (ValueError, AttributeError):
        return ""


def guard_client(
    request: HttpRequest,
    respond: Callable[[], HttpResponse],
    *,
    failed: Callable[[HttpResponse], bool] | None = None,
) -> HttpResponse:
    """``respond()`` to a request that authenticates a client, unless its client id or address
    is locked out; a response that ``failed`` (by default: an OAuth2 ``invalid_client`` or
    ``invalid_grant``) counts as a failed sign-in of ``client:<client_id>``."""
    credentials = {"username": CLIENT_USERNAME_PREFIX + _client_id(request)}
    if not AxesProxyHandler.is_allowed(request, credentials):
        # Counted too: a client that keeps trying stays locked out.
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        return get_lockout_response(request, None, credentials)
    response = respond()
    if (failed or _guess_failed)(response):
        # Axes counts it; at the limit its middleware answers with the lockout instead.
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    return response


def _guess_failed(response: HttpResponse) -> bool:
    return response.status_code in (400, 401) and _oauth_error(response) in COUNTED_ERRORS


class ClientLockoutMixin:
    """For DOT's views that take a client's credentials in a POST (token, revocation): locked
    per client id and per address after repeated failures."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return guard_client(
            request, lambda: super(ClientLockoutMixin, self).post(request, *args, **kwargs)
        )


class GuardedTokenView(ClientLockoutMixin, TokenView):
    """DOT's token endpoint with the lockout."""


class GuardedRevokeTokenView(ClientLockoutMixin, RevokeTokenView):
    """DOT's token revocation, which authenticates the client too: locked out as the token
    endpoint is, so that it cannot serve to guess a client secret instead."""
