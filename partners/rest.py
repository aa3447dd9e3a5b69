"""What every endpoint of the partner API shares: who is calling, for which seller, with what
right; the tenant scope around the view; throttling, pagination and one error format.

A request acts for exactly one tenant: an OAuth2 token's grant decides it, and a signed-in user
(the browsable API) acts for the tenant chosen in the session, as in the admin. Views that use
``TenantAPIMixin`` run, and render, inside that tenant's scope.
"""

from contextlib import ExitStack

from django.conf import settings
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AccessToken
from rest_framework import exceptions, permissions
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from merchant_platform import request_context
from merchant_platform.rate_limits import parse_rate, spend
from partners.services import grant_of_token
from tenants.models import Tenant
from tenants.roles import Capability, role_can
from tenants.scope import tenant_scope


class PartnerTokenAuthentication(OAuth2Authentication):
    """A bearer token of a partner app; the request acts for the seller of the token's grant.

    A token whose grant was revoked, or whose seller is suspended, is refused (401). The
    request's log lines name the partner app (its client id) and the seller from then on.
    """

    def authenticate(self, request: Request):
        authenticated = super().authenticate(request)
        if authenticated is None:
            return None
        user, access_token = authenticated
        grant = grant_of_token(access_token)
        if grant is None or not grant.is_usable:
            raise exceptions.AuthenticationFailed(
                "This token's access to the seller was revoked, or the seller is suspended."
            )
        request.partner_grant = grant
        request_context.bind(partner=access_token.application.client_id)
        request_context.bind_tenant(grant.tenant)
        return user, access_token


def acting_tenant(request: Request) -> Tenant | None:
    """The tenant the request acts for: the token's seller, or the session's chosen tenant."""
    grant = getattr(request, "partner_grant", None)
    if grant is not None:
        return grant.tenant
    return getattr(request._request, "tenant", None)


def is_token_request(request: Request) -> bool:
    return isinstance(request.auth, AccessToken)


def client_id_of(request: Request) -> str:
    """Who is calling, for keys that are per client: ``app:<id>`` or ``user:<id>``."""
    if is_token_request(request):
        return f"app:{request.auth.application_id}"
    return f"user:{request.user.pk}"


class ActsForTenant(permissions.BasePermission):
    """A token with the view's scope, or a signed-in member whose role has its capability.

    No credentials: 401. A session without a chosen tenant, a missing scope or a role without
    the capability: 403.
    """

    def has_permission(self, request: Request, view) -> bool:
        token_request = is_token_request(request)
        if not token_request and not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        tenant = acting_tenant(request)
        if tenant is None:
            raise PermissionDeniedWithCode(
                "Choose the seller to act for first (/tenants/select/).", code="tenant_required"
            )
        if token_request:
            scope = view.required_scope(request)
            if scope is not None and scope not in request.auth.scopes:
                raise PermissionDeniedWithCode(
                    f"This token lacks the {scope} scope.", code="insufficient_scope"
                )
            return True
        capability = view.required_capability(request)
        if not role_can(getattr(request._request, "tenant_role", None), capability):
            raise PermissionDeniedWithCode(
                "Your role in this seller does not allow this.", code="role_not_allowed"
            )
        return True


class PermissionDeniedWithCode(exceptions.PermissionDenied):
    def __init__(self, detail: str, *, code: str) -> None:
        super().__init__(detail, code=code)


class PerClientRateThrottle(BaseThrottle):
    """``API_THROTTLE_RATE`` requests per token (per signed-in user for the browsable API),
    counted atomically in the shared cache (``merchant_platform.rate_limits``): DRF's own
    ``SimpleRateThrottle`` reads and rewrites a history, so concurrent requests overwrite each
    other's counts and let more than the rate through."""

    def allow_request(self, request: Request, view) -> bool:
        if is_token_request(request):
            ident = f"token:{request.auth.token_checksum}"
        elif request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            return True
        allowed, self.retry_after = spend(
            f"partner-api:{ident}", parse_rate(settings.API_THROTTLE_RATE)
        )
        return allowed

    def wait(self) -> float:
        return self.retry_after


class TenantAPIMixin:
    """Base of the API's views: authenticated, scoped, throttled, rendered inside the scope.

    ``read_scope`` and ``write_scope`` are the OAuth2 scopes of safe and unsafe methods (None:
    any token); ``write_capability`` is the role capability a signed-in user needs to write, and
    ``action_capabilities`` overrides it per action.
    """

    authentication_classes = [PartnerTokenAuthentication, SessionAuthentication]
    permission_classes = [ActsForTenant]
    throttle_classes = [PerClientRateThrottle]
    read_scope: str | None = None
    write_scope: str | None = None
    write_capability: Capability = Capability.VIEW
    action_capabilities: dict[str, Capability] = {}

    def required_scope(self, request: Request) -> str | None:
        return self.read_scope if request.method in permissions.SAFE_METHODS else self.write_scope

    def required_capability(self, request: Request) -> Capability:
        action = getattr(self, "action", None)
        if action in self.action_capabilities:
            return self.action_capabilities[action]
        if request.method in permissions.SAFE_METHODS:
            return Capability.VIEW
        return self.write_capability

    @property
    def tenant(self) -> Tenant:
        return acting_tenant(self.request)

    def dispatch(self, request, *args, **kwargs):
        with ExitStack() as self._tenant_scope:
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()  # the browsable API's forms read the tenant's rows
            return response

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        self._tenant_scope.enter_context(tenant_scope(acting_tenant(request)))


class NewestFirstPagination(CursorPagination):
    """Cursor pagination, newest first: stable while rows are added, with no page count."""

    ordering = ("-created_at", "-pk")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
