"""What every endpoint of the partner API shares: who is calling, for which seller, with what
right; the tenant scope around the view; throttling, pagination and one error format.

A request acts for exactly one tenant: an OAuth2 token's grant decides it, and a signed-in user
(the browsable API) acts for the tenant chosen in the session, as in the admin. Views that use
``TenantAPIMixin`` run, and render, inside that tenant's scope.
"""

from contextlib import ExitStack

import orjson
from django.conf import settings
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AccessToken
from rest_framework import exceptions, permissions
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from merchant_platform import request_context
from merchant_platform.rate_limits import Budget, parse_rate, spend_budget
from partners import versions
from partners.input import StrictCursorPagination, StrictFilterBackend
from partners.oauth import refusal_of
from tenants.models import Tenant
from tenants.roles import Capability, role_can
from tenants.scope import tenant_scope


class PartnerTokenAuthentication(OAuth2Authentication):
    """A bearer token of a partner app; the request acts for the seller of the token's grant.

    No ``Authorization: Bearer`` header: not this authentication's business (None). A token
    that does not authenticate is refused with the reason (``partners.oauth.refusal_of``) as the
    error's code: ``token_invalid``, ``token_expired``, ``token_revoked`` or
    ``seller_suspended``, with an RFC 6750 ``invalid_token`` challenge. The request's log lines
    name the partner app (its client id) and the seller from then on.
    """

    def authenticate(self, request: Request):
        token = bearer_token(request)
        if token is None:
            return None
        authenticated = super().authenticate(request)
        if authenticated is None:
            request.token_refusal = refusal_of(token)
            raise exceptions.AuthenticationFailed(
                request.token_refusal.message, code=request.token_refusal.code
            )
        user, access_token = authenticated
        grant = access_token.partner_grant  # loaded and checked by the validator
        request.partner_grant = grant
        request_context.bind(partner=access_token.application.client_id)
        request_context.bind_tenant(grant.tenant)
        return user, access_token

    def authenticate_header(self, request: Request) -> str:
        refusal = getattr(request, "token_refusal", None)
        if refusal is None:
            return f'Bearer realm="{self.www_authenticate_realm}"'
        return (
            f'Bearer realm="{self.www_authenticate_realm}", error="invalid_token", '
            f'error_description="{refusal.message}"'
        )


def bearer_token(request: Request) -> str | None:
    """The token of the request's ``Authorization: Bearer`` header ("" when it is empty)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


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
    """``API_THROTTLE_RATE`` requests per grant (one app acting for one seller, however many
    tokens it mints) and per signed-in user for the browsable API, counted atomically in the
    shared cache (``merchant_platform.rate_limits``): DRF's own ``SimpleRateThrottle`` reads and
    rewrites a history, so concurrent requests overwrite each other's counts and let more than
    the rate through. The budget is left on the request (``rate_budget``) for the answer's
    ``RateLimit-*`` headers."""

    def allow_request(self, request: Request, view) -> bool:
        rate = parse_rate(settings.API_THROTTLE_RATE)
        if rate is None:
            return True
        if is_token_request(request):
            ident = f"grant:{request.partner_grant.pk}"
        elif request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            return True
        self.budget = request.rate_budget = spend_budget(f"partner-api:{ident}", rate)
        return self.budget.allowed

    def wait(self) -> float:
        return self.budget.reset


def rate_limit_headers(budget: Budget) -> dict[str, str]:
    """The ``RateLimit-*`` headers of an answer (IETF draft httpapi-ratelimit-headers, as
    separate fields): the limit, the requests left in the window, and the seconds until it
    resets."""
    return {
        "RateLimit-Limit": str(budget.limit),
        "RateLimit-Remaining": str(max(0, budget.remaining)),
        "RateLimit-Reset": str(budget.reset),
    }


class RateLimited(exceptions.Throttled):
    """429 ``rate_limited``: the grant's (or user's) budget of the window is spent."""

    default_code = "rate_limited"
    default_detail = "Too many requests."


class TenantAPIMixin:
    """Base of the API's views: authenticated, scoped, throttled, rendered inside the scope;
    bodies are JSON only (415 otherwise) and lists refuse unknown query parameters
    (``partners.input``). Every answer, errors too, names its API version (``Api-Version``; an
    unknown one asked for is a 400 ``invalid_api_version``) and, once the request was counted,
    where its rate limit stands (``RateLimit-*``).

    ``read_scope`` and ``write_scope`` are the OAuth2 scopes of safe and unsafe methods (None:
    any token); ``write_capability`` is the role capability a signed-in user needs to write, and
    ``action_capabilities`` overrides it per action.
    """

    authentication_classes = [PartnerTokenAuthentication, SessionAuthentication]
    permission_classes = [ActsForTenant]
    throttle_classes = [PerClientRateThrottle]
    parser_classes = [JSONParser]  # the schema declares JSON bodies only
    filter_backends = [StrictFilterBackend]
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

    def determine_version(self, request: Request, *args, **kwargs) -> tuple[str | None, None]:
        """DRF's versioning hook, run before authentication: an unknown ``Api-Version`` is
        refused first; ``request.version`` is the header's value (None without one)."""
        return versions.asked_version(request), None

    def throttled(self, request: Request, wait: float | None) -> None:
        raise RateLimited(wait)

    def finalize_response(self, request: Request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response[versions.HEADER] = versions.answered_version(request)
        budget = getattr(request, "rate_budget", None)
        if budget is not None:
            for name, value in rate_limit_headers(budget).items():
                response[name] = value
        return response

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        self._tenant_scope.enter_context(tenant_scope(acting_tenant(request)))


class FastJSONRenderer(JSONRenderer):
    """DRF's JSON, byte for byte, written by orjson (several times faster than ``json.dumps``
    for a page of orders). What orjson would write otherwise goes through DRF's encoder
    (datetimes, with DRF's milliseconds; dataclasses; lazy strings; decimals), and an indented
    answer asked for (``Accept: application/json; indent=2``), or data orjson refuses (an
    integer past 64 bits), is DRF's own."""

    OPTIONS = (
        orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    )

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None or self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            text = orjson.dumps(data, default=self.encoder_class().default, option=self.OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        # As DRF: the two line separators JavaScript does not take raw in a string.
        return text.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")


class NewestFirstPagination(StrictCursorPagination):
    """Cursor pagination, newest first: stable while rows are added, with no page count."""

    ordering = ("-created_at", "-pk")
    page_size = 50
    max_page_size = 500
