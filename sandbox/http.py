"""Request authentication and Mercado Pago's error envelopes, shared by the sandbox's views.

Two error families, as Mercado Pago answers them:

- ``legacy_error``: in-store QR, stores, POS, merchant orders, payments and OAuth:
  ``{"message": ..., "error": <errorKey>, "status": <http status>, "cause": [...]}``
- ``orders_error``: the Orders API (``/v1/orders``):
  ``{"errors": [{"code": <code>, "message": ..., "details": [...]}]}``
"""

import json

from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from sandbox.models import Token


def legacy_error(status: int, error: str, message: str, cause: list | None = None) -> JsonResponse:
    return JsonResponse(
        {"message": message, "error": error, "status": status, "cause": cause or []},
        status=status,
    )


def orders_error(
    status: int, code: str, message: str, details: list[str] | None = None
) -> JsonResponse:
    return JsonResponse(
        {"errors": [{"code": code, "message": message, "details": details or []}]},
        status=status,
    )


def request_token(request: HttpRequest) -> Token | None:
    """The live token named by ``Authorization: Bearer …``, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value:
        return None
    token = (
        Token.objects.select_related("account", "application")
        .filter(access_token=value.strip(), revoked=False)
        .first()
    )
    if token is None or (token.expires_at is not None and token.expires_at <= timezone.now()):
        return None
    return token


class InvalidJSON(ValueError):
    """The request body is not a JSON object."""


def json_body(request: HttpRequest) -> dict:
    """The request's JSON object body ({} when empty); ``InvalidJSON`` otherwise."""
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidJSON(str(error)) from error
    if not isinstance(body, dict):
        raise InvalidJSON("the body must be a JSON object")
    return body
