"""The OAuth2 provider's endpoints, with the consent page in place of DOT's."""

from django.urls import path

from accounts.lockout import GuardedRevokeTokenView, GuardedTokenView
from partners.views import ConsentView, OwnTokensIntrospectView

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", ConsentView.as_view(), name="authorize"),
    path("token/", GuardedTokenView.as_view(), name="token"),  # locked out after failures
    path("revoke_token/", GuardedRevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", OwnTokensIntrospectView.as_view(), name="introspect"),
]
