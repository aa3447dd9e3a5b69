"""The Content-Security-Policy (django-csp), with one widening: the OAuth2 consent page.

Browsers hold a form's submission, and the redirects that follow it, to the page's
``form-action``. The consent page posts to itself and is answered with a redirect to the partner
app's redirect URI, on the app's own origin; so that page's ``form-action`` also names the origin
of the redirect URI it was asked for, once DOT's application accepts that URI.
"""

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponseBase
from oauth2_provider.models import get_application_model

CONSENT_VIEW = "oauth2_provider:authorize"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def consent_redirect_origin(request: HttpRequest) -> str:
    """The origin of the registered redirect URI the consent page will send the browser to."""
    data = request.POST if request.method == "POST" else request.GET
    uri, client_id = data.get("redirect_uri", ""), data.get("client_id", "")
    origin = _origin(uri)
    if not origin or not client_id:
        return ""
    application = get_application_model().objects.filter(client_id=client_id).first()
    if application is None or not application.redirect_uri_allowed(uri):
        return ""
    return origin


class PlatformCSPMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.view_name == CONSENT_VIEW:
            origin = consent_redirect_origin(request)
            if origin:
                parts.update = {**(parts.update or {}), "form-action": [origin]}
        return parts
