"""A partner app connected to a seller through the authorization code flow with PKCE, driven
with Django's test client (tests/api/test_oauth_flows.py drives it with a real OAuth2 client
library over a live server): the owner consents, the app exchanges the code and refreshes."""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.test import Client
from oauth2_provider.models import get_application_model

from tenants.models import Tenant, User

Application = get_application_model()
REDIRECT_URI = "https://partner.example.com/callback"


@dataclass
class ConnectedApp:
    application: Application
    access_token: str
    refresh_token: str

    def refresh(self, refresh_token: str | None = None) -> dict:
        """POST ``/o/token/`` with the refresh token (default: the last one); the JSON answer.
        A successful refresh becomes the app's current pair."""
        answer = Client().post(
            "/o/token/",
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token or self.refresh_token,
                "client_id": self.application.client_id,
            },
        )
        body = answer.json()
        if answer.status_code == 200:
            self.access_token, self.refresh_token = body["access_token"], body["refresh_token"]
        return body


@dataclass(frozen=True)
class Authorized:
    """What the app's redirect URI received, and what the app needs to exchange it."""

    application: Application
    code: str
    verifier: str


def authorize(tenant: Tenant, owner: User, scope: str = "orders:read") -> Authorized:
    """A public app that ``owner`` lets act for ``tenant`` with ``scope``: the code its redirect
    URI receives, and its PKCE verifier."""
    application = Application.objects.create(
        name="Caja POS",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
    )
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    asked = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "state-1",
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    browser = Client()
    browser.force_login(owner)
    allowed = browser.post("/o/authorize/", {**asked, "tenant": tenant.pk, "allow": "Allow"})
    assert allowed.status_code == 302, allowed.content
    code = parse_qs(urlsplit(allowed["Location"]).query)["code"][0]
    return Authorized(application, code, verifier)


def connect(tenant: Tenant, owner: User, scope: str = "orders:read") -> ConnectedApp:
    """A public app that ``owner`` lets act for ``tenant`` with ``scope``, and its first pair."""
    authorized = authorize(tenant, owner, scope)
    issued = Client().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": authorized.code,
            "redirect_uri": REDIRECT_URI,
            "client_id": authorized.application.client_id,
            "code_verifier": authorized.verifier,
        },
    )
    assert issued.status_code == 200, issued.content
    body = issued.json()
    return ConnectedApp(authorized.application, body["access_token"], body["refresh_token"])
