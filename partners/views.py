"""The consent page of the OAuth2 authorization code flow: a seller's owner or manager picks the
seller the partner app will act for and agrees to the scopes it asked for."""

from django import forms
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.forms import AllowForm
from oauth2_provider.models import get_application_model
from oauth2_provider.views import AuthorizationView
from oauthlib.oauth2.rfc6749 import errors

from partners import scopes
from partners.services import record_consent, tenants_user_may_connect


class ConsentForm(AllowForm):
    tenant = forms.ModelChoiceField(queryset=None, label="Seller", empty_label=None, required=False)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = tenants_user_may_connect(user)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("allow") and cleaned.get("tenant") is None:
            self.add_error("tenant", "Choose the seller the app will act for.")
        return cleaned


class ConsentView(AuthorizationView):
    """DOT's authorization endpoint with a seller to choose; consent is recorded per seller.

    ``skip_authorization`` on an application is not honoured: without a consent there is no
    seller to act for, so such a request is denied.
    """

    form_class = ConsentForm
    template_name = "partners/consent.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        self.consent_tenant = form.cleaned_data.get("tenant")
        return super().form_valid(form)

    def create_authorization_response(self, request, scopes_asked, credentials, allow):
        tenant = getattr(self, "consent_tenant", None)
        if allow and tenant is None:
            raise OAuthToolkitError(
                error=errors.AccessDeniedError(
                    description="A seller must consent on the consent page.",
                    state=credentials.get("state"),
                ),
                redirect_uri=credentials["redirect_uri"],
            )
        if allow:
            application = get_application_model().objects.get(client_id=credentials["client_id"])
            credentials = {
                **credentials,
                "partner_grant": record_consent(
                    tenant=tenant,
                    application=application,
                    user=request.user,
                    requested=scopes.parse(scopes_asked),
                ),
            }
        return super().create_authorization_response(request, scopes_asked, credentials, allow)
