"""One error format for the whole partner API.

Every error answers ``{"code", "message"}``; a validation error adds ``fields`` (dotted field
path -> list of ``{"code", "message"}``), and an error that Mercado Pago returned adds
``mercadopago_error`` (its code) and ``mercadopago_status``. ``code`` is stable and meant for
programs; ``message`` is for people; ``request_id`` names the request in the logs (its
``Request-Id`` header). See docs/api.md.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from merchant_platform import request_context
from orders.errors import InvalidOrder, MercadoPagoUnavailable, NotAllowed, RefusedByMercadoPago
from tenants.services import NotConnected

FieldErrors = dict[str, list[dict[str, str]]]


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    """An error in the one format, with the id of the request (its ``Request-Id``) to quote."""
    extra["request_id"] = request_context.request_id()
    return {"code": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}


SERVER_ERROR_MESSAGE = "The server failed to answer this request; it may be retried."
API_PREFIX = "/api/"


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 (``handler500``): the API's error format under ``/api/``, the page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body("server_error", SERVER_ERROR_MESSAGE), status=500)
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 (``handler400``: a suspicious request, a host not allowed...), as
    ``server_error`` answers its 500."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body("bad_request", "The request is malformed."), status=400)
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 (``handler404``: a path under ``/api/`` outside ``/api/v1/`` too), as
    ``server_error`` answers its 500."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return defaults.page_not_found(request, exception)


@csrf_exempt  # like the API's views: a POST without a CSRF token gets this 404, not a CSRF page
def unknown_path(request: HttpRequest, path: str) -> JsonResponse:
    """Any ``/api/v1/`` path no route matches (an id of the wrong shape too): a JSON 404."""
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's exception handler for the API: maps every known error to the one format."""
    answer = _answer(exc)
    if answer is None:
        return None  # a bug: Django's 500 handler logs it
    status_code, body = answer
    set_rollback()
    headers = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait) + 1)
    if isinstance(exc, exceptions.APIException):
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
    return Response(body, status=status_code, headers=headers)


def _answer(exc: Exception) -> tuple[int, dict] | None:
    match exc:
        case InvalidOrder():
            fields: FieldErrors = {}
            for problem in exc.problems:
                fields.setdefault(problem.field, []).append(
                    {"code": problem.code, "message": problem.message}
                )
            return 400, error_body("validation_error", exc.message, fields=fields)
        case NotAllowed() | NotConnected():
            code = getattr(exc, "code", "seller_not_connected")
            return 409, error_body(code, str(exc))
        case RefusedByMercadoPago():
            return 422, error_body(
                "refused_by_mercadopago",
                exc.message,
                mercadopago_error=exc.code,
                mercadopago_status=exc.status,
            )
        case MercadoPagoUnavailable():
            return 503, error_body(exc.code, exc.message)
        case DjangoValidationError():
            return 400, _validation_body(_django_details(exc))
        case exceptions.ValidationError():
            return 400, _validation_body(_flatten(exc.get_full_details()))
        case Http404():
            return 404, error_body("not_found", "Not found.")
        case RequestDataTooBig():
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return 413, error_body("body_too_large", f"The body is larger than {limit} bytes.")
        case DjangoPermissionDenied():
            return 403, error_body("permission_denied", "You may not do this.")
        case exceptions.APIException():
            detail = exc.get_full_details()
            if isinstance(detail, dict) and "message" in detail:
                fields = getattr(exc, "fields", None)  # a header's problem: invalid_api_version
                return exc.status_code, error_body(
                    str(detail["code"]), str(detail["message"]), fields=fields
                )
            return exc.status_code, error_body(exc.default_code, str(exc.detail))
    return None


def _validation_body(fields: FieldErrors) -> dict[str, object]:
    first = next(iter(fields.values()))[0]["message"] if fields else "Invalid input."
    return error_body("validation_error", first, fields=fields)


def _flatten(details: object, prefix: str = "") -> FieldErrors:
    """DRF's nested error details as ``{"items.0.unit_price": [{"code", "message"}]}``."""
    fields: FieldErrors = {}
    if isinstance(details, dict) and set(details) == {"message", "code"}:
        fields[prefix or "non_field_errors"] = [_detail(details)]
    elif isinstance(details, dict):
        for name, value in details.items():
            path = f"{prefix}.{name}" if prefix else str(name)
            for key, errors in _flatten(value, path).items():
                fields.setdefault(key, []).extend(errors)
    elif isinstance(details, list):
        for index, value in enumerate(details):
            if isinstance(value, dict) and set(value) == {"message", "code"}:
                fields.setdefault(prefix or "non_field_errors", []).append(_detail(value))
            elif value:  # a list of nested objects: an empty dict means that item was valid
                for key, errors in _flatten(value, f"{prefix}.{index}").items():
                    fields.setdefault(key, []).extend(errors)
    return fields


def _detail(detail: dict) -> dict[str, str]:
    return {"code": str(detail["code"]), "message": str(detail["message"])}


def _django_details(error: DjangoValidationError) -> FieldErrors:
    if hasattr(error, "error_dict"):
        return {
            field: [{"code": e.code or "invalid", "message": m} for e in errors for m in e]
            for field, errors in error.error_dict.items()
        }
    return {
        "non_field_errors": [
            {"code": e.code or "invalid", "message": m} for e in error.error_list for m in e
        ]
    }
