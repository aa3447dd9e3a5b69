"""The endpoint Mercado Pago notifies (webhooks and legacy IPN)."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders import notifications
from orders.models import Notification


@csrf_exempt
@require_POST
def mercadopago_webhook(request: HttpRequest) -> JsonResponse:
    """Store the notification, check it, answer at once; a Celery task does the rest.

    200 when it is accepted, 401 when a webhook's signature is missing or wrong (the row is
    kept as rejected), 413 for a body larger than Django accepts.
    """
    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse({"status": "rejected", "detail": "body too large"}, status=413)
    notification = notifications.receive(
        query=request.GET.dict(), headers=dict(request.headers), body=body
    )
    if notification.status == Notification.Status.REJECTED:
        return JsonResponse({"status": "rejected", "detail": notification.detail}, status=401)
    return JsonResponse({"status": "received", "id": notification.pk})
