"""Connecting a seller through Mercado Pago's OAuth (with PKCE), and refreshing its tokens.

The consent starts with :func:`begin_authorization`, whose :class:`PendingAuthorization` the
caller keeps in the seller's session; :func:`complete_authorization` checks the callback against
it and stores the tokens. :func:`refresh_credential` swaps a refresh token for a new pair.
"""

import hmac
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from merchant_platform.mercadopago import get_client, get_config
from mpapi import BadRequest, Forbidden, MercadoPagoError, Unauthorized
from mpapi.oauth import OAuthToken, authorization_url, code_challenge, new_code_verifier
from tenants import connection_health
from tenants.models import MercadoPagoCredential, Tenant
from tenants.scope import tenant_scope
from tenants.services import (
    ConnectionRefused,
    NotConnected,
    WrongSite,
    ensure_same_site,
    save_credential,
)

# OAuth tokens live 180 days; they are refreshed once less than this is left.
REFRESH_MARGIN = timedelta(days=30)


class Failure(StrEnum):
    """Why an authorization could not be completed (each has its own page)."""

    STATE_MISMATCH = "state_mismatch"  # not the request this session started for this seller
    DENIED = "denied"  # the seller pressed "deny"
    INVALID_GRANT = "invalid_grant"  # the code expired, was used already, or does not match
    ALREADY_CONNECTED = "already_connected"  # the account belongs to another seller
    WRONG_SITE = "wrong_site"  # the account is of another country than the seller
    REFUSED = "refused"  # any other OAuth error
    UNAVAILABLE = "unavailable"  # Mercado Pago did not answer


class AuthorizationFailed(Exception):
    def __init__(self, failure: Failure, code: str = "", account_site: str = ""):
        super().__init__(f"Mercado Pago authorization failed: {failure}")
        self.failure = failure
        self.code = code  # Mercado Pago's error code, when it gave one
        self.account_site = account_site  # for WRONG_SITE: the site of the account offered


@dataclass(frozen=True)
class PendingAuthorization:
    """What the session keeps between the redirect to Mercado Pago and the callback."""

    tenant_id: int
    state: str
    code_verifier: str = field(repr=False)

    def as_session_value(self) -> dict:
        return asdict(self)

    @classmethod
    def from_session_value(cls, value: dict | None) -> "PendingAuthorization | None":
        return cls(**value) if value else None


def callback_url() -> str:
    """The redirect URI registered in the integrator's application."""
    return settings.SITE_URL + reverse("tenants:mercadopago-callback")


def begin_authorization(*, tenant: Tenant) -> tuple[PendingAuthorization, str]:
    """A new authorization request for ``tenant``: what to keep, and the URL to send it to."""
    pending = PendingAuthorization(
        tenant_id=tenant.pk, state=secrets.token_urlsafe(32), code_verifier=new_code_verifier()
    )
    config = get_config()
    url = authorization_url(
        config.auth_url,
        client_id=config.client_id,
        redirect_uri=callback_url(),
        state=pending.state,
        code_challenge=code_challenge(pending.code_verifier),
    )
    return pending, url


def complete_authorization(
    *,
    tenant: Tenant,
    pending: PendingAuthorization | None,
    state: str,
    code: str = "",
    error: str = "",
) -> MercadoPagoCredential:
    """Handle Mercado Pago's callback for ``tenant``: check it, exchange the code, store tokens.

    ``pending`` is what :func:`begin_authorization` returned in this session; the callback must
    carry its ``state`` and come back to the same seller, and the account (``GET /users/me``)
    must be of the seller's site. Nothing is saved otherwise. Raises ``AuthorizationFailed``.
    """
    if (
        pending is None
        or pending.tenant_id != tenant.pk
        or not hmac.compare_digest(pending.state.encode(), state.encode())
    ):
        raise AuthorizationFailed(Failure.STATE_MISMATCH)
    if error == "access_denied":
        raise AuthorizationFailed(Failure.DENIED)
    if error or not code:
        raise AuthorizationFailed(Failure.REFUSED, error)
    config = get_config()
    with get_client() as mp:
        try:
            token = mp.exchange_code(
                client_id=config.client_id,
                client_secret=config.client_secret,
                code=code,
                redirect_uri=callback_url(),
                code_verifier=pending.code_verifier,
            )
        except BadRequest as failure:
            if "invalid_grant" in failure.codes:
                raise AuthorizationFailed(Failure.INVALID_GRANT) from failure
            raise AuthorizationFailed(Failure.REFUSED, failure.code or "") from failure
        except MercadoPagoError as failure:
            raise AuthorizationFailed(Failure.UNAVAILABLE) from failure
        try:
            account = mp.get_me(token.access_token)
        except (Unauthorized, Forbidden) as failure:
            raise AuthorizationFailed(Failure.REFUSED, failure.code or "") from failure
        except MercadoPagoError as failure:
            raise AuthorizationFailed(Failure.UNAVAILABLE) from failure
    try:
        ensure_same_site(tenant=tenant, account=account)
    except WrongSite as refused:
        raise AuthorizationFailed(
            Failure.WRONG_SITE, account_site=refused.account_site
        ) from refused
    try:
        return save_credential(
            tenant=tenant,
            source=MercadoPagoCredential.Source.OAUTH,
            mp_user_id=token.user_id,
            access_token=token.access_token,
            **_token_fields(token, timezone.now()),
        )
    except ConnectionRefused as refused:
        raise AuthorizationFailed(Failure.ALREADY_CONNECTED) from refused


def refresh_credential(*, tenant: Tenant) -> MercadoPagoCredential:
    """Swap ``tenant``'s refresh token for a new access and refresh token, stored together.

    A refresh token works once, so the credential stays locked from reading the old token to
    storing the new pair. When Mercado Pago answers ``invalid_grant`` (the grant was revoked, or
    the token used already) the credential is marked as needing reconnect, its owners are told
    (``connection_health``) and ``NotConnected`` is raised; ``seller_access_token`` refuses it
    until the owner connects again.
    """
    config = get_config()
    with transaction.atomic(), tenant_scope(tenant):
        credential = MercadoPagoCredential.objects.select_for_update().first()
        if (
            credential is None
            or credential.source != MercadoPagoCredential.Source.OAUTH
            or credential.status != MercadoPagoCredential.Status.CONNECTED
            or not credential.refresh_token
        ):
            raise NotConnected(f"{tenant} has no Mercado Pago OAuth connection to refresh.")
        with get_client() as mp:
            try:
                token = mp.refresh_access_token(
                    client_id=config.client_id,
                    client_secret=config.client_secret,
                    refresh_token=credential.refresh_token,
                )
            except BadRequest as failure:
                if "invalid_grant" not in failure.codes:
                    raise
                connection_health.mark_needs_reconnect(
                    tenant=tenant, reason=MercadoPagoCredential.ReconnectReason.REFRESH_REFUSED
                )
                revoked = failure
            else:
                now = timezone.now()
                for name, value in _token_fields(token, now).items():
                    setattr(credential, name, value)
                credential.access_token = token.access_token
                credential.access_token_tail = token.access_token[-4:]
                credential.refreshed_at = now
                connection_health.forget_reconnect_reason(credential)  # it expires no more
                credential.save()
                return credential
    raise NotConnected(
        f"{tenant} must connect Mercado Pago again: its authorization was revoked or expired."
    ) from revoked


def tenants_due_for_refresh(*, now: datetime) -> list[int]:
    """Ids of tenants whose OAuth token expires within ``REFRESH_MARGIN`` of ``now``.

    Looks across every tenant: call it inside ``cross_tenant_scope()``.
    """
    due = MercadoPagoCredential.objects.filter(
        source=MercadoPagoCredential.Source.OAUTH,
        status=MercadoPagoCredential.Status.CONNECTED,
        expires_at__lt=now + REFRESH_MARGIN,
    ).exclude(refresh_token="")
    return list(due.order_by("expires_at").values_list("tenant_id", flat=True))


def _token_fields(token: OAuthToken, now: datetime) -> dict:
    """The credential fields of a token answer, besides the access token itself."""
    return {
        "refresh_token": token.refresh_token or "",
        "public_key": token.public_key or "",
        "scope": token.scope or "",
        "live_mode": bool(token.live_mode),
        "expires_at": now + timedelta(seconds=token.expires_in) if token.expires_in else None,
    }
