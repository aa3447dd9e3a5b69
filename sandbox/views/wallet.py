"""The buyer wallet: an HTML page, and the same as JSON for tests (``POST /sandbox/wallet/pay``)."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render as render_page
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from sandbox import wallet
from sandbox.errors import ApiError
from sandbox.http import legacy_error
from sandbox.lifecycle import PAYMENT_METHODS
from sandbox.models import Account, PointOfSale


@csrf_exempt
@require_POST
def pay(request: HttpRequest) -> JsonResponse:
    """Pay a ``qr_data`` or a POS's static QR; answers with what was paid."""
    try:
        values = json.loads(request.body or b"{}")
        if not isinstance(values, dict):
            raise ValueError("the body must be a JSON object")
    except ValueError as error:
        return legacy_error(400, "bad_request", str(error))
    try:
        return JsonResponse(wallet.receipt(wallet.pay(wallet.purchase_of(values))))
    except ApiError as error:
        return legacy_error(error.status, error.code, error.message)


@require_http_methods(["GET", "POST"])
def page(request: HttpRequest) -> HttpResponse:
    """The wallet page: paste a QR or pick a POS, choose how to pay, pay."""
    context = {
        "points_of_sale": PointOfSale.objects.select_related("account", "store").order_by(
            "account__user_id", "external_id"
        ),
        "buyers": Account.objects.filter(kind=Account.Kind.BUYER).order_by("user_id"),
        "payment_methods": PAYMENT_METHODS.values(),
        "values": request.POST,
    }
    status = 200
    if request.method == "POST":
        values = dict(request.POST.items())
        user_id, _, external_pos_id = values.pop("pos", "").partition("/")
        values |= {"user_id": user_id, "external_pos_id": external_pos_id}
        try:
            context["receipt"] = wallet.receipt(wallet.pay(wallet.purchase_of(values)))
        except ApiError as error:
            context["error"] = error
            status = error.status
    return render_page(request, "sandbox/wallet.html", context, status=status)
