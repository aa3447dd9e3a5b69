"""The error the emulated API answers with; views render it in their API's envelope."""

from django.http import JsonResponse


class ApiError(Exception):
    """A Mercado Pago error: HTTP status, error code (``errorKey``) and message.

    ``details`` fill the Orders API's ``errors[].details``; ``cause`` the legacy ``cause`` list
    (the payments API puts its numeric codes there, e.g. ``{"code": 4292, ...}``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[str] | None = None,
        cause: list[dict] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.cause = cause or []


def instore_error(status: int, key: str) -> JsonResponse:
    """An error of the legacy in-store QR API, in the body its OpenAPI documents
    (``qr-dynamic.yaml``, ``instore_orders_v2.yaml``): ``{"errorKey": "<key>"}``, nothing more."""
    return JsonResponse({"errorKey": key}, status=status)
