"""The OAuth2 provider's validator: every code and token is bound to one seller's grant.

- Authorization code: the consent page names the seller (``request.consent_tenant``); as the code
  is issued, after oauthlib has validated the request, the consent is recorded and the code is
  bound to its grant; exchanging the code binds the tokens to the same grant.
- Client credentials: the app's one installation is its grant; it may ask for no more scopes.
- Refresh token: the new tokens keep the grant of the token they replace.
- Bearer token (every API request): the token is loaded with its grant and seller in one query.

A grant that is revoked, or whose seller is suspended, issues nothing (``invalid_grant``).
"""

import hashlib

from django.db import transaction
from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from partners.models import GrantedCode, GrantedToken, PartnerGrant
from partners.services import ConsentRefused, installation_of, record_consent
from tenants.scope import cross_tenant_scope, tenant_scope

UNUSABLE_GRANT = "This app's access to the seller was revoked, or the seller is suspended."


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

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        previous = request.refresh_token_instance
        issued_from = (  # a token rotated in its grace period no longer points to its access token
            {"access_token_id": previous.access_token_id}
            if previous.access_token_id is not None
            else {"access_token__source_refresh_token": previous}
        )
        with cross_tenant_scope():
            binding = (
                GrantedToken.objects.select_related("grant__tenant").filter(**issued_from).first()
            )
        return self._act_under(binding.grant if binding else None, request)

    def _load_access_token(self, token: str) -> AccessToken | None:
        """The bearer token, with the grant it acts under (``partner_grant``, read by
        ``partners.services.grant_of_token``) loaded by the same query."""
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()  # as the toolkit's lookup
        with cross_tenant_scope():
            binding = (
                GrantedToken.objects.select_related(
                    "access_token__application", "access_token__user", "grant__tenant"
                )
                .filter(access_token__token_checksum=checksum)
                .first()
            )
        if binding is None:  # unknown, or bound to no grant (refused by the authentication)
            return super()._load_access_token(token)
        access_token = binding.access_token
        access_token.partner_grant = binding.grant
        return access_token

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
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        grant = request.partner_grant
        with tenant_scope(grant.tenant):
            GrantedToken.objects.create(tenant=grant.tenant, access_token=access_token, grant=grant)
        return access_token
