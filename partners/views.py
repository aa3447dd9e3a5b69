"""The consent page of the OAuth2 authorization code flow: a seller's owner or manager picks the
seller the partner app will act for and agrees to the scopes it asked for.

The page is always shown: without a consent there is no seller to act for, so an application's
``skip_authorization`` and a client's ``approval_prompt=auto``, which in DOT authorize without the
page, show it too. The validator records the consent as it issues the code (``partners.oauth``).

Token introspection answers a client about its own tokens only (``OwnTokensIntrospectView``).
"""

import json

from django import forms
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.forms import AllowForm
from oauth2_provider.models import get_application_model
from oauth2_provider.views import AuthorizationView, IntrospectTokenView
from oauthlib.common import Request as OauthlibRequest

from accounts.lockout import guard_client
from partners import scopes
from partners.services import tenants_user_may_connect
from tenants.models import Tenant


class ConsentForm(AllowForm):
    tenant = forms.ModelChoiceField(
        queryset=Tenant.objects.none(), label="Seller", empty_label=None, required=False
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = tenants_user_may_connect(user)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("allow") and cleaned.get("tenant") is None and "tenant" not in self.errors:
            self.add_error("tenant", "Choose the seller the app will act for.")
        return cleaned


class _ConsentNeeded(Exception):
    """DOT is about to authorize a request without the consent page."""


class ConsentView(AuthorizationView):
    """DOT's authorization endpoint with a seller to choose; consent is recorded per seller."""

    form_class = ConsentForm
    template_name = "partners/consent.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get(self, request, *args, **kwargs):
        try:
            return super().get(request, *args, **kwargs)
        except _ConsentNeeded:
            return self.render_to_response(self.get_context_data(**self.oauth2_data))

    def form_valid(self, form):
        self.consent_tenant = form.cleaned_data["tenant"]
        return super().form_valid(form)

    def form_invalid(self, form):
        """The page again, with the form's errors, for the app and scopes the form carries."""
        asked = scopes.parse(form.data.get("scope", ""))
        context = {
            "application": get_application_model()
            .objects.filter(client_id=form.data.get("client_id", ""))
            .first(),
            "scopes_descriptions": [text for name, text in scopes.SCOPES.items() if name in asked],
        }
        return self.render_to_response(self.get_context_data(form=form, **context))

    def create_authorization_response(self, request, scopes, credentials, allow):
        tenant = getattr(self, "consent_tenant", None)
        if allow and tenant is None:
            raise _ConsentNeeded
        credentials = {**credentials, "consent_tenant": tenant}
        return super().create_authorization_response(request, scopes, credentials, allow)


class OwnTokensIntrospectView(IntrospectTokenView):
    """DOT's token introspection (RFC 7662), answering a client about its own tokens only: any
    other client's token is ``{"active": false}``, as an unknown one is."""

    caller = None  # the client application that asks

    @method_decorator(csrf_exempt)
    def dispatch(self, request, *args, **kwargs):
        """DOT's view, locked out per client id and per address after repeated failed client
        authentications (a 403), as the token endpoint is: it cannot serve to guess a secret."""
        return guard_client(
            request,
            lambda: super(OwnTokensIntrospectView, self).dispatch(request, *args, **kwargs),
            failed=lambda response: response.status_code == 403,
        )

    def authenticate_client(self, request) -> bool:
        """DOT's client authentication (HTTP Basic, or the credentials in the body), keeping the
        client it authenticated."""
        core = self.get_oauthlib_core()
        asking = OauthlibRequest(*core._extract_params(request))
        authenticated = core.server.request_validator.authenticate_client(asking)
        if authenticated:
            self.caller = asking.client
        return authenticated

    def verify_request(self, request):
        """DOT's bearer-token alternative (a token with the ``introspection`` scope): its app."""
        valid, asking = super().verify_request(request)
        if valid:
            self.caller = asking.access_token.application
        return valid, asking

    def get_token_response(self, token_value: str | None = None) -> JsonResponse:
        response = super().get_token_response(token_value)
        answer = json.loads(response.content)
        caller = self.caller.client_id if self.caller is not None else None
        if answer.get("active") and answer.get("client_id") != caller:
            return JsonResponse({"active": False})
        return response
