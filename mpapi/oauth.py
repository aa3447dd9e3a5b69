"""OAuth: the authorization URL, PKCE (RFC 7636, ``S256``) and the token answer."""

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

from mpapi.parsing import JSON, integer, text

MIN_VERIFIER_LENGTH = 43
MAX_VERIFIER_LENGTH = 128


def new_code_verifier() -> str:
    """A fresh PKCE code verifier: 86 URL-safe characters from 64 random bytes."""
    return secrets.token_urlsafe(64)


def code_challenge(verifier: str) -> str:
    """The ``S256`` challenge of ``verifier``: BASE64URL(SHA256(verifier)) without padding."""
    if not MIN_VERIFIER_LENGTH <= len(verifier) <= MAX_VERIFIER_LENGTH:
        raise ValueError(
            f"a code verifier has {MIN_VERIFIER_LENGTH} to {MAX_VERIFIER_LENGTH} characters"
        )
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    auth_url: str,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    code_challenge: str | None = None,
) -> str:
    """The URL that sends a seller to Mercado Pago's consent page.

    With ``code_challenge`` the request asks for PKCE with method ``S256``.
    """
    query = {
        "client_id": client_id,
        "response_type": "code",
        "platform_id": "mp",
        "state": state,
        "redirect_uri": redirect_uri,
    }
    if code_challenge is not None:
        query |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
    return f"{auth_url}?{urlencode(query)}"


@dataclass(frozen=True)
class OAuthToken:
    """The answer of ``POST /oauth/token``. Secrets are kept out of ``repr``."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    public_key: str | None = field(repr=False)
    token_type: str | None
    expires_in: int | None
    scope: str | None
    user_id: int
    live_mode: bool | None
    raw: JSON = field(repr=False)

    @classmethod
    def from_json(cls, data: JSON) -> "OAuthToken":
        live_mode = data.get("live_mode")
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=text(data.get("refresh_token")),
            public_key=text(data.get("public_key")),
            token_type=text(data.get("token_type")),
            expires_in=integer(data.get("expires_in")),
            scope=text(data.get("scope")),
            user_id=int(data["user_id"]),
            live_mode=None if live_mode is None else bool(live_mode),
            raw=data,
        )
