"""The sandbox's OAuth server (api.md §5): authorization codes with PKCE, and the token grants.

- Codes (``TG-…``) live 10 minutes and are exchanged at most once.
- ``authorization_code`` and ``refresh_token`` grants issue tokens with ``via_oauth=True``; a
  refresh token comes with them when the scope holds ``offline_access``.
- A refresh rotates: the old pair (access and refresh token) is revoked at once, so the old
  access token stops working and the old refresh token can never be used again.
- ``client_credentials`` issues the integrator's own token (``via_oauth=False``, no refresh token:
  it authorizes nobody else).
- A seller may unlink the application (:func:`unlink`): its grants are revoked and the
  application gets a signed ``mp-connect`` webhook (``application.deauthorized``).
"""

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db import transaction
from django.http import JsonResponse

from sandbox.http import legacy_error
from sandbox.models import Account, Application, AuthorizationCode, Event, Token
from sandbox.render import mp_connect_webhook

CODE_LIFETIME = timedelta(minutes=10)
ACCESS_TOKEN_LIFETIME = timedelta(seconds=15552000)  # 180 days
SCOPES = ("read", "write", "offline_access")
DEFAULT_SCOPE = "read write offline_access"
CLIENT_CREDENTIALS_SCOPE = "read write"
PKCE_METHODS = ("S256", "plain")
PKCE_VALUE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636: verifier and plain challenge
S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class OAuthError(Exception):
    """An OAuth error: ``error`` is the code (``invalid_grant``, ...), answered with a 400."""

    def __init__(self, error: str, message: str):
        super().__init__(message)
        self.error = error
        self.message = message

    def response(self) -> JsonResponse:
        return legacy_error(400, self.error, self.message)


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated request for a seller's consent."""

    application: Application
    redirect_uri: str
    scope: str
    code_challenge: str = ""
    code_challenge_method: str = ""


def param(params: Mapping, name: str) -> str:
    """A request parameter as a string ("" when absent)."""
    value = params.get(name)
    return "" if value is None else str(value)


def application_for(client_id: str, redirect_uri: str) -> Application:
    """The application asking for consent, once its redirect URI is known to be acceptable.

    Errors here must not be sent to the redirect URI, which is not trusted yet.
    """
    application = Application.objects.filter(client_id=client_id).first() if client_id else None
    if application is None:
        raise OAuthError("invalid_client", f"unknown client_id {client_id!r}")
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        raise OAuthError("invalid_request", "redirect_uri must be an http or https URL")
    if application.redirect_uris and redirect_uri not in application.redirect_uris:
        raise OAuthError("invalid_request", "redirect_uri is not registered for this application")
    return application


def authorization_request(
    application: Application, params: Mapping, *, response_type: str = "code"
) -> AuthorizationRequest:
    """Validate the rest of an authorization request: response type, scope and PKCE."""
    if response_type != "code":
        raise OAuthError("unsupported_response_type", "response_type must be 'code'")
    scope = narrowed_scope(param(params, "scope"), DEFAULT_SCOPE)
    challenge = param(params, "code_challenge")
    method = param(params, "code_challenge_method")
    if not challenge:
        if application.pkce_required:
            raise OAuthError("invalid_request", "this application requires PKCE: code_challenge")
        if method:
            raise OAuthError("invalid_request", "code_challenge_method without code_challenge")
        return AuthorizationRequest(application, param(params, "redirect_uri"), scope)
    method = method or "plain"
    if method not in PKCE_METHODS:
        raise OAuthError("invalid_request", "code_challenge_method must be S256 or plain")
    shape = S256_CHALLENGE if method == "S256" else PKCE_VALUE
    if not shape.match(challenge):
        raise OAuthError("invalid_request", f"malformed code_challenge for method {method}")
    return AuthorizationRequest(
        application, param(params, "redirect_uri"), scope, challenge, method
    )


def narrowed_scope(requested: str, granted: str) -> str:
    """The requested scope (all of ``granted`` when empty), refused unless within ``granted``."""
    scopes = requested.split() or granted.split()
    if not set(scopes) <= set(granted.split()):
        raise OAuthError("invalid_scope", f"scope must be within {granted!r}")
    return " ".join(scope for scope in SCOPES if scope in scopes)


def sign_in(nickname: str, password: str) -> Account | None:
    """The account with this nickname and password (as on the sign-in page), or None."""
    account = Account.objects.filter(nickname__iexact=nickname.strip()).first()
    if account is None or not account.password:
        return None
    return account if hmac.compare_digest(account.password, password) else None


def issue_code(request: AuthorizationRequest, account: Account, now: datetime) -> AuthorizationCode:
    """A new code for ``account``'s consent to ``request``."""
    return AuthorizationCode.objects.create(
        code=f"TG-{secrets.token_hex(12)}-{account.user_id}",
        application=request.application,
        account=account,
        redirect_uri=request.redirect_uri,
        scope=request.scope,
        code_challenge=request.code_challenge,
        code_challenge_method=request.code_challenge_method,
        expires_at=now + CODE_LIFETIME,
    )


def callback_url(redirect_uri: str, **params: str) -> str:
    """``redirect_uri`` with ``params`` (empty ones left out) added to its query."""
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(name, value) for name, value in params.items() if value]
    return urlunsplit(parts._replace(query=urlencode(query)))


def grant_token(params: Mapping, now: datetime) -> Token:
    """Answer ``POST /oauth/token``: authenticate the client, then apply its grant."""
    grant_type = param(params, "grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    grant = GRANTS.get(grant_type)
    if grant is None:
        raise OAuthError("unsupported_grant_type", f"unsupported grant_type {grant_type!r}")
    return grant(authenticated_client(params), params, now)


def authenticated_client(params: Mapping) -> Application:
    client_id, secret = param(params, "client_id"), param(params, "client_secret")
    application = Application.objects.filter(client_id=client_id).first() if client_id else None
    if application is None or not hmac.compare_digest(application.client_secret, secret):
        raise OAuthError("invalid_client", "invalid client_id or client_secret")
    return application


def required(params: Mapping, name: str) -> str:
    value = param(params, name)
    if not value:
        raise OAuthError("invalid_request", f"{name} is required")
    return value


def exchange_code(application: Application, params: Mapping, now: datetime) -> Token:
    """The ``authorization_code`` grant."""
    value, redirect_uri = required(params, "code"), required(params, "redirect_uri")
    code = (
        AuthorizationCode.objects.select_related("account")
        .filter(code=value, application=application)
        .first()
    )
    if code is None:
        raise OAuthError("invalid_grant", "unknown authorization code")
    if code.used_at is not None:
        raise OAuthError("invalid_grant", "authorization code already used")
    if code.expires_at <= now:
        raise OAuthError("invalid_grant", "authorization code expired")
    if redirect_uri != code.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
    if code.code_challenge:
        verify_pkce(code, param(params, "code_verifier"))
    with transaction.atomic():
        claimed = AuthorizationCode.objects.filter(pk=code.pk, used_at__isnull=True).update(
            used_at=now
        )
        if not claimed:
            raise OAuthError("invalid_grant", "authorization code already used")
        return issue_token(application, code.account, code.scope, now)


def verify_pkce(code: AuthorizationCode, verifier: str) -> None:
    if not verifier:
        raise OAuthError("invalid_request", "code_verifier is required")
    if not PKCE_VALUE.match(verifier):
        raise OAuthError("invalid_request", "code_verifier must be 43 to 128 unreserved characters")
    if code.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        verifier = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if not hmac.compare_digest(verifier, code.code_challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")


def refresh(application: Application, params: Mapping, now: datetime) -> Token:
    """The ``refresh_token`` grant: a new pair, the old one revoked."""
    value = required(params, "refresh_token")
    old = (
        Token.objects.select_related("account")
        .filter(refresh_token=value, application=application, revoked=False)
        .first()
    )
    if old is None:
        raise OAuthError("invalid_grant", "unknown, used or revoked refresh token")
    scope = narrowed_scope(param(params, "scope"), old.scope)
    with transaction.atomic():
        if not Token.objects.filter(pk=old.pk, revoked=False).update(revoked=True):
            raise OAuthError("invalid_grant", "refresh token already used")
        return issue_token(application, old.account, scope, now)


def client_credentials(application: Application, params: Mapping, now: datetime) -> Token:
    """The ``client_credentials`` grant: the integrator's own token."""
    scope = narrowed_scope(param(params, "scope"), CLIENT_CREDENTIALS_SCOPE)
    return issue_token(application, application.owner, scope, now, via_oauth=False)


GRANTS = {
    "authorization_code": exchange_code,
    "refresh_token": refresh,
    "client_credentials": client_credentials,
}


def issue_token(
    application: Application,
    account: Account,
    scope: str,
    now: datetime,
    *,
    via_oauth: bool = True,
) -> Token:
    """A new access token (and refresh token, with ``offline_access``) for ``account``."""
    user_id = account.user_id
    with_refresh = via_oauth and "offline_access" in scope.split()
    return Token.objects.create(
        access_token=(
            f"APP_USR-{application.client_id}-{now:%m%d%H}-{secrets.token_hex(16)}-{user_id}"
        ),
        refresh_token=f"TG-{secrets.token_hex(12)}-{user_id}" if with_refresh else None,
        account=account,
        application=application,
        via_oauth=via_oauth,
        scope=scope,
        public_key=f"APP_USR-{uuid.uuid4()}",
        live_mode=False,
        expires_at=now + ACCESS_TOKEN_LIFETIME,
    )


def token_response(token: Token) -> dict:
    """The body of a 200 from ``POST /oauth/token``."""
    body = {
        "access_token": token.access_token,
        "token_type": "bearer",
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        "scope": token.scope,
        "user_id": token.account.user_id,
        "public_key": token.public_key,
        "live_mode": token.live_mode,
    }
    if token.refresh_token:
        body["refresh_token"] = token.refresh_token
    return body


MP_CONNECT_DEAUTHORIZED = "application.deauthorized"


def linked_accounts(application: Application) -> list[Account]:
    """The accounts that hold a live grant of ``application`` (tokens issued through OAuth)."""
    return list(
        Account.objects.filter(
            tokens__application=application, tokens__via_oauth=True, tokens__revoked=False
        )
        .distinct()
        .order_by("user_id")
    )


def unlink(application: Application, account: Account, now: datetime) -> Event:
    """``account`` unlinks ``application`` (in Mercado Pago's "linked applications"): every
    token and refresh token it granted is revoked, its unused codes too, and the application is
    told by an ``mp-connect`` webhook (``?data.id=<user id>&type=mp-connect``), delivered and
    signed as every webhook is. ``OAuthError`` when the account granted it nothing live."""
    with transaction.atomic():
        revoked = Token.objects.filter(
            application=application, account=account, via_oauth=True, revoked=False
        ).update(revoked=True)
        if not revoked:
            raise OAuthError("invalid_request", "this account has not authorized the application")
        AuthorizationCode.objects.filter(
            application=application, account=account, used_at__isnull=True
        ).update(used_at=now)
        user_id = str(account.user_id)
        return Event.objects.create(
            kind=Event.Kind.WEBHOOK,
            application=application,
            account=account,
            topic="mp-connect",
            action=MP_CONNECT_DEAUTHORIZED,
            resource_id=user_id,
            query={"data.id": user_id, "type": "mp-connect"},
            body=mp_connect_webhook(application, account, MP_CONNECT_DEAUTHORIZED, now),
        )
