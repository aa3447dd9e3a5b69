"""The OAuth2 provider's validator: every code and token is bound to one seller's grant.

- Authorization code: the consent page names the seller (``request.consent_tenant``); as the code
  is issued, after oauthlib has validated the request, the consent is recorded and the code is
  bound to its grant; exchanging the code binds the tokens to the same grant.
- Client credentials: the app's one installation is its grant; it may ask for no more scopes.
- Refresh token: the new tokens keep the grant of the token they replace. Rotation has a grace
  period (``REFRESH_TOKEN_GRACE_PERIOD_SECONDS``): the previous access token stays valid until it
  ends, and the previous refresh token may be used again until then, each use issuing another
  pair of the same family, so that workers refreshing at once all get working tokens. After it,
  DOT's reuse protection revokes the family.
- Bearer token (every API request): the token is loaded with its binding, grant and seller in one
  query, or from the cache (``partners.token_cache``); a revoked binding or an unusable grant
  refuses it, and ``refusal_of`` says why.

A grant that is revoked, or whose seller is suspended, issues nothing (``invalid_grant``).
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Least
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors

from partners import token_cache
from partners.models import GrantedCode, GrantedToken, PartnerGrant
from partners.services import (
    ConsentRefused,
    installation_of,
    record_consent,
    was_deleted_with_its_app,
)
from tenants.scope import cross_tenant_scope, tenant_scope

UNUSABLE_GRANT = "This app's access to the seller was revoked, or the seller is suspended."


@dataclass(frozen=True)
class Refusal:
    """Why a bearer token was refused: a stable ``code`` and a ``message`` (plain ASCII, fit for
    the ``error_description`` of ``WWW-Authenticate``)."""

    code: str
    message: str


TOKEN_INVALID = Refusal("token_invalid", "The access token is not valid.")
TOKEN_EXPIRED = Refusal(
    "token_expired",
    "The access token has expired. Get a new one (refresh token or client credentials).",
)
TOKEN_REVOKED = Refusal(
    "token_revoked",
    "The seller revoked this app's access, or the app was deleted. Ask the seller to connect "
    "the app again.",
)
SELLER_SUSPENDED = Refusal(
    "seller_suspended", "The seller is suspended: the app cannot act for it now."
)


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()  # as the toolkit's lookup


def _binding_of(checksum: str) -> GrantedToken | None:
    with cross_tenant_scope():
        return (
            GrantedToken.objects.select_related(
                "access_token__application", "access_token__user", "grant__tenant"
            )
            .filter(access_token__token_checksum=checksum)
            .first()
        )


def _revoked(binding: GrantedToken) -> bool:
    return binding.revoked_at is not None or binding.grant.revoked_at is not None


def refusal_of(token: str) -> Refusal:
    """Why ``token``, which did not authenticate, was refused (in this order): unknown
    (``token_invalid``), revoked with its grant or its app (``token_revoked``), its seller
    suspended (``seller_suspended``), expired (``token_expired``)."""
    checksum = _checksum(token)
    binding = _binding_of(checksum)
    if binding is None:
        return TOKEN_REVOKED if was_deleted_with_its_app(checksum) else TOKEN_INVALID
    if _revoked(binding):
        return TOKEN_REVOKED
    if not binding.grant.tenant.is_active:
        return SELLER_SUSPENDED
    if binding.access_token.is_expired():
        return TOKEN_EXPIRED
    return TOKEN_INVALID


class PartnerOAuth2Validator(OAuth2Validator):
    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        with cross_tenant_scope():
            binding = (
                GrantedCode.objects.select_related("grant__tenant")
                .filter(code__code=code, code__application=client)
                .first()
            )
        return self._act_under(binding.grant if binding else None, request)

    def get_default_scopes(self, client_id, request, *args, **kwargs) -> list[str]:
        if request.grant_type == "client_credentials":
            grant = installation_of(request.client)
            return sorted(grant.scopes) if grant is not None else []
        return super().get_default_scopes(client_id, request, *args, **kwargs)

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs) -> bool:
        if not super().validate_scopes(client_id, scopes, client, request, *args, **kwargs):
            return False
        if request.grant_type != "client_credentials":
            return True
        grant = installation_of(client)
        if not self._act_under(grant, request):
            raise errors.InvalidGrantError(description=UNUSABLE_GRANT, request=request)
        return set(scopes) <= grant.scopes

    def validate_bearer_token(self, token, scopes, request) -> bool:
        """DOT's check, and the token's binding: not revoked, its grant usable."""
        if not super().validate_bearer_token(token, scopes, request):
            return False
        binding = getattr(request.access_token, "partner_binding", None)
        if binding is None or _revoked(binding) or not binding.grant.is_usable:
            request.oauth2_error = {"error": "invalid_token"}
            return False
        return True

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        previous = request.refresh_token_instance
        issued_from = (  # a rotated token no longer points to its access token
            {"access_token_id": previous.access_token_id}
            if previous.access_token_id is not None
            else {"access_token__source_refresh_token": previous}
        )
        with cross_tenant_scope():
            binding = (
                GrantedToken.objects.select_related("grant__tenant").filter(**issued_from).first()
            )
        if binding is None or binding.revoked_at is not None:  # a new consent revives no token
            return False
        return self._act_under(binding.grant, request)

    def _load_access_token(self, token: str) -> AccessToken | None:
        """The bearer token, with its binding (``partner_binding``) and the grant it acts under
        (``partner_grant``, read by ``partners.rest``) loaded by one query."""
        checksum = _checksum(token)
        binding = token_cache.cached_binding(checksum)
        if binding is None:
            binding = _binding_of(checksum)
            if binding is None:  # unknown, or bound to no grant (refused by validate_bearer_token)
                return super()._load_access_token(token)
            token_cache.keep(checksum, binding)
        access_token = binding.access_token
        access_token.partner_binding = binding
        access_token.partner_grant = binding.grant
        return access_token

    def _save_bearer_token(self, token, request, *args, **kwargs) -> None:
        """DOT's, with rotation's grace period: the previous access token lives until the grace
        ends (instead of being deleted), and a refresh token already rotated, used again within
        the grace (``validate_refresh_token`` let it through), issues another pair of its family.
        (DOT would answer the pair it issued first, whose values it does not keep.)"""
        previous = getattr(request, "refresh_token_instance", None)
        if not isinstance(previous, RefreshToken) or not token.get("refresh_token"):
            return super()._save_bearer_token(token, request, *args, **kwargs)
        previous = RefreshToken.objects.select_for_update().get(pk=previous.pk)
        request.refresh_token_instance = previous
        if previous.revoked is None:
            self._keep_until_grace_ends(previous)
            return super()._save_bearer_token(token, request, *args, **kwargs)
        if not AccessToken.objects.filter(source_refresh_token=previous).exists():
            raise errors.InvalidGrantError(request=request)  # revoked, not rotated
        self._check_and_set_request_resource(request)
        expires = timezone.now() + timedelta(
            seconds=token.get("expires_in", oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
        )
        access_token = self._create_access_token(expires, request, token)
        self._create_refresh_token(request, token["refresh_token"], access_token, previous)
        return None

    @staticmethod
    def _keep_until_grace_ends(refresh_token: RefreshToken) -> None:
        """Detach ``refresh_token``'s access token, which DOT's rotation would delete, and let it
        expire when the grace period ends."""
        if refresh_token.access_token_id is None:
            return
        grace_end = timezone.now() + timedelta(
            seconds=oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS
        )
        detached = AccessToken.objects.filter(pk=refresh_token.access_token_id)
        detached.update(expires=Least("expires", Value(grace_end)))
        token_cache.forget(detached.values_list("token_checksum", flat=True))
        RefreshToken.objects.filter(pk=refresh_token.pk).update(access_token=None)
        refresh_token.access_token = None

    @staticmethod
    def _act_under(grant: PartnerGrant | None, request) -> bool:
        if grant is None or not grant.is_usable:
            return False
        request.partner_grant = grant
        return True

    def _create_authorization_code(self, request, code, expires=None):
        tenant = getattr(request, "consent_tenant", None)
        if tenant is None:
            raise errors.AccessDeniedError(
                description="Choose the seller the app acts for.", request=request
            )
        try:
            with transaction.atomic():
                issued = super()._create_authorization_code(request, code, expires)
                grant = record_consent(
                    tenant=tenant,
                    application=request.client,
                    user=request.user,
                    requested=frozenset(request.scopes),
                )
                with tenant_scope(tenant):
                    GrantedCode.objects.create(tenant=tenant, code=issued, grant=grant)
        except ConsentRefused as refused:
            raise errors.AccessDeniedError(description=str(refused), request=request) from None
        return issued

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        """DOT's token, bound to the request's grant. The grant's row is locked and read again
        first: a revocation that committed since the request was validated refuses the token,
        and one that waits for this transaction marks its binding revoked too."""
        grant = request.partner_grant
        with tenant_scope(grant.tenant):
            locked = (
                PartnerGrant.objects.select_for_update(of=("self",))
                .select_related("tenant")
                .get(pk=grant.pk)
            )
            if not locked.is_usable:
                raise errors.InvalidGrantError(description=UNUSABLE_GRANT, request=request)
            access_token = super()._create_access_token(
                expires, request, token, source_refresh_token
            )
            GrantedToken.objects.create(tenant=grant.tenant, access_token=access_token, grant=grant)
        return access_token
