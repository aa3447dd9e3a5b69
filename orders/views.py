"""The endpoint Mercado Pago notifies (webhooks and legacy IPN)."""

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from merchant_platform.client_address import client_address
from orders import notifications
from orders.models import Notification


@csrf_exempt
@require_POST
def mercadopago_webhook(request: HttpRequest) -> JsonResponse:
    """Store the notification, check it, answer at once; a Celery task does the rest.

    200 when it is accepted; 401 when a webhook's signature is missing or wrong (a bounded
    record is kept as rejected); 413 for a body over ``NOTIFICATIONS_MAX_BYTES``, refused before
    more than that is read; 429 when the client's address is over its rate of rejected requests
    (nothing is stored).
    """
    address = client_address(request)
    query, headers = request.GET.dict(), dict(request.headers)
    try:
        declared, body = _body_within(request, settings.NOTIFICATIONS_MAX_BYTES)
        if body is None:
            notifications.refuse_too_large(
                query=query, headers=headers, size=declared, client_address=address
            )
            return JsonResponse({"status": "rejected", "detail": "body too large"}, status=413)
        notification = notifications.receive(
            query=query, headers=headers, body=body, client_address=address
        )
    except notifications.Throttled as throttled:
        response = JsonResponse({"status": "throttled", "detail": str(throttled)}, status=429)
        response["Retry-After"] = str(throttled.retry_after)
        return response
    if notification.status == Notification.Status.REJECTED:
        return JsonResponse({"status": "rejected", "detail": notification.detail}, status=401)
    return JsonResponse({"status": "received", "id": notification.pk})


def _body_within(request: HttpRequest, cap: int) -> tuple[int | None, bytes | None]:
    """The declared size and the body; the body is None when it is over ``cap`` bytes.

    A declared ``Content-Length`` over the cap is refused without reading; otherwise at most
    ``cap + 1`` bytes are read, also from a chunked body (which Django, going by its missing
    ``Content-Length``, would read as empty: the server's ``wsgi.input`` de-chunks it).
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > cap:
        return declared, None
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    stream = request.META["wsgi.input"] if chunked and not declared else request
    parts, size = [], 0
    while size <= cap:
        part = stream.read(cap + 1 - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    body = b"".join(parts)
    return (declared or None), (body if size <= cap else None)
