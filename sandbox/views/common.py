"""What every emulated endpoint does: route by method, authenticate the seller's Bearer token,
and render errors in the endpoint's family (legacy ``error``/``message``, the in-store QR API's
``errorKey``, or the Orders API's ``errors[]``)."""

from collections.abc import Callable, Mapping
from enum import Enum

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox import idempotency
from sandbox.errors import ApiError, instore_error
from sandbox.http import InvalidJSON, json_body, legacy_error, orders_error, request_token
from sandbox.models import Token

Handler = Callable[..., HttpResponse]


class Family(Enum):
    LEGACY = "legacy"
    INSTORE = "instore"  # the legacy in-store QR endpoints: ``{"errorKey": ...}`` only
    ORDERS = "orders"


def render_error(family: Family, error: ApiError) -> JsonResponse:
    if family is Family.ORDERS:
        return orders_error(error.status, error.code, error.message, error.details)
    if family is Family.INSTORE:
        return instore_error(error.status, error.code)
    return legacy_error(error.status, error.code, error.message, error.cause)


def endpoint(
    family: Family,
    unauthorized: str = "unauthorized",
    *,
    unauthorized_by_method: Mapping[str, ApiError] | None = None,
    **handlers: Handler,
):
    """A view calling ``handlers[METHOD](request, token, **url_kwargs)`` for the token's seller.

    Without a valid token it answers 401 ``unauthorized`` (or the code given), unless
    ``unauthorized_by_method`` names another error for the request's method.
    """

    @csrf_exempt
    def view(request: HttpRequest, **kwargs) -> HttpResponse:
        handler = handlers.get(request.method)
        if handler is None:
            return HttpResponseNotAllowed(list(handlers))
        token = request_token(request)
        if token is None:
            error = (unauthorized_by_method or {}).get(request.method)
            return render_error(
                family, error or ApiError(401, unauthorized, "invalid access token")
            )
        try:
            return handler(request, token, **kwargs)
        except InvalidJSON as error:
            code = "json_syntax_error" if family is Family.ORDERS else "bad_request"
            return render_error(family, ApiError(400, code, str(error)))
        except ApiError as error:
            return render_error(family, error)

    return view


def idempotent(
    request: HttpRequest,
    token: Token,
    work: Callable[[], tuple[int, dict]],
    missing: ApiError | None = None,
) -> JsonResponse:
    """``work()`` guarded by the request's ``X-Idempotency-Key`` (required)."""
    key = request.headers.get("X-Idempotency-Key", "")
    if not key:
        raise missing or ApiError(
            400, "empty_required_header", "X-Idempotency-Key is required", ["X-Idempotency-Key"]
        )
    if len(key) > idempotency.MAX_KEY_LENGTH:
        raise ApiError(
            400,
            "invalid_idempotency_key_length",
            f"X-Idempotency-Key is longer than {idempotency.MAX_KEY_LENGTH} characters",
        )
    fingerprint = idempotency.fingerprint(request.method, request.path, json_body(request))
    status, body = idempotency.run(token.account, key, fingerprint, work)
    return JsonResponse(body, status=status)


def no_content() -> HttpResponse:
    return HttpResponse(status=204)
