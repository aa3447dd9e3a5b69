"""The partner API's OpenAPI description (drf-spectacular), served at ``/api/schema/``.

``PartnerTokenScheme`` describes partner tokens as DOT's
OAuth2 scheme, with the scope each operation needs; ``add_error_responses`` (a postprocessing
hook) adds the errors of the one error format (partners/errors.py) to every operation;
``SwaggerView`` serves the docs at ``/api/docs/`` so that Swagger UI's OAuth2 popup works.
Imported by ``PartnersConfig.ready`` so the scheme is registered before any schema is generated.
"""

from typing import Any

from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework import permissions

from partners.idempotency import HEADER as IDEMPOTENCY_HEADER
from partners.oauth import SELLER_SUSPENDED, TOKEN_EXPIRED, TOKEN_INVALID, TOKEN_REVOKED


class PartnerTokenScheme(DjangoOAuthToolkitScheme):
    """OAuth2 (flows, URLs and scopes from ``SPECTACULAR_SETTINGS``); each operation requires the
    scope its view declares (``TenantAPIMixin.read_scope`` / ``write_scope``)."""

    target_class = "partners.rest.PartnerTokenAuthentication"

    def get_security_requirement(self, auto_schema) -> dict[str, list[str]] | None:
        view = auto_schema.view
        if not hasattr(view, "required_scope"):
            return super().get_security_requirement(auto_schema)
        scope = view.required_scope(view.request)
        return {self.name: [scope] if scope else []}

    def get_security_definition(self, auto_schema) -> dict[str, Any]:
        definition = super().get_security_definition(auto_schema)
        # Client credentials issue no refresh token (RFC 6749, 4.4.3).
        definition["flows"].get("clientCredentials", {}).pop("refreshUrl", None)
        return {
            **definition,
            "description": (
                "A partner app's OAuth2 token; it acts for exactly one seller. Authorization "
                "code requires PKCE (S256): a seller's owner or manager signs in, picks the "
                "seller and consents. Client credentials work for an app installed on one seller."
            ),
        }


FIELD_ERROR = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "Stable, for programs (`min_value`...)."},
        "message": {"type": "string", "description": "For people."},
    },
    "required": ["code", "message"],
    "additionalProperties": False,
}

ERROR = {
    "type": "object",
    "description": "The one error format of the API (docs/api.md).",
    "properties": {
        "code": {
            "type": "string",
            "description": "Stable and machine-readable: `validation_error`, `not_found`, "
            "`insufficient_scope`, `order_not_cancelable`, `refused_by_mercadopago`...",
        },
        "message": {"type": "string", "description": "For people; safe to show."},
        "fields": {
            "type": "object",
            "description": "Validation errors only: dotted field path (`items.0.unit_price`) "
            "-> its problems.",
            "additionalProperties": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/FieldError"},
            },
        },
        "mercadopago_error": {
            "type": "string",
            "description": "Mercado Pago's own error code, when Mercado Pago refused the call.",
        },
        "mercadopago_status": {
            "type": "integer",
            "description": "The HTTP status Mercado Pago answered, when it refused the call.",
        },
        "request_id": {
            "type": "string",
            "description": "The request's id (also its `Request-Id` header): quote it to the "
            "platform's operators, who find the request's log lines by it.",
        },
    },
    "required": ["code", "message"],
    "additionalProperties": False,
}


def _error_response(description: str, examples: dict[str, dict], **headers: dict) -> dict:
    response: dict[str, Any] = {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "examples": {
                    name: {"value": value, "summary": value["message"]}
                    for name, value in examples.items()
                },
            }
        },
    }
    if headers:
        response["headers"] = headers
    return response


RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": {
        "description": "Requests allowed in the window.",
        "schema": {"type": "integer"},
    },
    "RateLimit-Remaining": {
        "description": "Requests left in the window.",
        "schema": {"type": "integer"},
    },
    "RateLimit-Reset": {
        "description": "Seconds until the window resets.",
        "schema": {"type": "integer"},
    },
}


def _error(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"code": code, "message": message, **extra}


# Status -> (component name, response). Which operations get which: ``_statuses_of``.
ERROR_RESPONSES: dict[str, tuple[str, dict]] = {
    "400": (
        "ValidationError",
        _error_response(
            "The input is invalid; `fields` says which field breaks which rule.",
            {
                "ValidationError": _error(
                    "validation_error",
                    "Ensure this value is greater than or equal to 0.01.",
                    fields={
                        "items.0.unit_price": [
                            {
                                "code": "min_value",
                                "message": "Ensure this value is greater than or equal to 0.01.",
                            }
                        ]
                    },
                ),
            },
        ),
    ),
    "401": (
        "Unauthenticated",
        _error_response(
            "No token (`not_authenticated`), or a token refused: unknown (`token_invalid`), "
            "expired (`token_expired`: refresh it), revoked with the seller's consent or its app "
            "(`token_revoked`: ask the seller to connect the app again), or of a suspended "
            "seller (`seller_suspended`).",
            {
                "NotAuthenticated": _error(
                    "not_authenticated", "Authentication credentials were not provided."
                ),
                **{
                    refusal.code.title().replace("_", ""): _error(refusal.code, refusal.message)
                    for refusal in (TOKEN_INVALID, TOKEN_EXPIRED, TOKEN_REVOKED, SELLER_SUSPENDED)
                },
            },
            **{
                "WWW-Authenticate": {
                    "description": "The scheme to authenticate with; for a refused token, "
                    "RFC 6750's `invalid_token` error and an `error_description`.",
                    "schema": {"type": "string"},
                }
            },
        ),
    ),
    "403": (
        "Forbidden",
        _error_response(
            "The token lacks this operation's scope, or the signed-in user's role does not "
            "allow it.",
            {
                "InsufficientScope": _error(
                    "insufficient_scope", "This token lacks the orders:write scope."
                ),
                "RoleNotAllowed": _error(
                    "role_not_allowed", "Your role in this seller does not allow this."
                ),
            },
        ),
    ),
    "404": (
        "NotFound",
        _error_response(
            "No such object for this seller (another seller's objects are never found), or an "
            "invalid pagination cursor.",
            {"NotFound": _error("not_found", "Not found.")},
        ),
    ),
    "409": (
        "Conflict",
        _error_response(
            "The object's state does not allow this, the seller is not connected to Mercado "
            f"Pago, or the `{IDEMPOTENCY_HEADER}` was used with another request.",
            {
                "NotCancelable": _error(
                    "order_not_cancelable", "Only an order that is not paid can be canceled."
                ),
                "NotConnected": _error(
                    "seller_not_connected", "Connect the seller's Mercado Pago account first."
                ),
                "KeyReused": _error(
                    "idempotency_key_reused",
                    "This Idempotency-Key was used with another request.",
                ),
            },
        ),
    ),
    "415": (
        "UnsupportedMediaType",
        _error_response(
            "The request body is not in a media type this operation accepts.",
            {
                "UnsupportedMediaType": _error(
                    "unsupported_media_type", 'Unsupported media type "text/plain" in request.'
                )
            },
        ),
    ),
    "422": (
        "RefusedByMercadoPago",
        _error_response(
            "Mercado Pago refused the call; `mercadopago_error` is its error code.",
            {
                "Refused": _error(
                    "refused_by_mercadopago",
                    "The POS does not exist for this user.",
                    mercadopago_error="pos_not_found",
                    mercadopago_status=404,
                )
            },
        ),
    ),
    "429": (
        "RateLimited",
        _error_response(
            "Too many requests for this app and seller (or signed-in user) in the window; retry "
            "after `Retry-After` seconds.",
            {
                "RateLimited": _error(
                    "rate_limited", "Too many requests. Expected available in 12 seconds."
                )
            },
            **{
                "Retry-After": {
                    "description": "Seconds to wait before retrying.",
                    "schema": {"type": "integer"},
                },
                **RATE_LIMIT_HEADERS,
            },
        ),
    ),
    "503": (
        "MercadoPagoUnavailable",
        _error_response(
            "Mercado Pago did not answer or failed; the message says whether the write stays "
            "pending (and is sent again) or was not taken.",
            {
                "Unavailable": _error(
                    "mercadopago_unavailable",
                    "Mercado Pago did not answer: the order stays pending and is sent again.",
                )
            },
        ),
    ),
}


# The writes that reach Mercado Pago, by scope: they may be refused (422) or find it down (503).
MERCADOPAGO_SCOPES = frozenset({"orders:write", "stores:write", "pos:write"})


def _statuses_of(path: str, method: str, operation: dict) -> list[str]:
    """The error statuses ``operation`` can answer.

    Every operation: 401, 403, 429. Input (a body, query or header parameters) or a write (a
    service may refuse it): 400; a body: 415. A path parameter or a pagination cursor: 404.
    Writes: 409; those that reach Mercado Pago (``MERCADOPAGO_SCOPES``) also 422 and 503.
    """
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    statuses = ["401", "403", "429"]
    write = method.upper() not in permissions.SAFE_METHODS
    if write or has_body or any(p["in"] in ("query", "header") for p in parameters):
        statuses.append("400")
    if has_body:
        statuses.append("415")
    if "{" in path or any(p["in"] == "query" and p["name"] == "cursor" for p in parameters):
        statuses.append("404")
    if write:
        statuses.append("409")
    scopes = {s for r in operation.get("security", []) for s in r.get("oauth2", [])}
    if write and scopes & MERCADOPAGO_SCOPES:
        statuses += ["422", "503"]
    return sorted(statuses)


def add_error_responses(result: dict, generator, request, public: bool) -> dict:
    """drf-spectacular postprocessing hook: the ``Error`` component and, on every operation,
    the error responses it can give (``_statuses_of``), unless the view declared its own."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {}).update({"Error": ERROR, "FieldError": FIELD_ERROR})
    responses = components.setdefault("responses", {})
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            for status in _statuses_of(path, method, operation):
                name, response = ERROR_RESPONSES[status]
                responses[name] = response
                operation["responses"].setdefault(
                    status, {"$ref": f"#/components/responses/{name}"}
                )
    return result


class SwaggerView(SpectacularSwaggerView):
    """Swagger UI (``/api/docs/``) under the site's own Cross-Origin-Opener-Policy.

    drf-spectacular answers ``unsafe-none`` for identity providers on another origin. Ours is on
    this origin, where the sign-in, consent and callback pages are ``same-origin``
    (SecurityMiddleware): a docs page with another policy would lose its popup, whose
    ``window.opener`` is cut as it reaches the consent page, and no code would come back.
    """

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        del response.headers["Cross-Origin-Opener-Policy"]  # SecurityMiddleware sets the site's
        return response
