"""The Orders API for QR (api.md §3)."""

from django.http import HttpRequest, JsonResponse

from sandbox import orders_api, render
from sandbox.http import json_body
from sandbox.models import Order, Token
from sandbox.views.common import Family, endpoint, idempotent


def _order(row: Order) -> dict:
    """The order as the Orders API answers it, with the ``discounts`` it was created with."""
    return render.order(row) | ({"discounts": row.discounts} if row.discounts else {})


def _create(request: HttpRequest, token: Token) -> JsonResponse:
    body = json_body(request)
    return idempotent(request, token, lambda: (201, _order(orders_api.create(token, body))))


def _search(request: HttpRequest, token: Token) -> JsonResponse:
    found, paging = orders_api.search(token.account, request.GET)
    return JsonResponse({"data": [_order(row) for row in found], "paging": paging})


def _get(request: HttpRequest, token: Token, order_id: str) -> JsonResponse:
    return JsonResponse(_order(orders_api.get(token.account, order_id)))


def _cancel(request: HttpRequest, token: Token, order_id: str) -> JsonResponse:
    return idempotent(
        request, token, lambda: (200, _order(orders_api.cancel(token.account, order_id)))
    )


def _refund(request: HttpRequest, token: Token, order_id: str) -> JsonResponse:
    body = json_body(request)
    return idempotent(
        request,
        token,
        lambda: (201, _order(orders_api.refund(token.account, order_id, body))),
    )


orders = endpoint(Family.ORDERS, POST=_create, GET=_search)
order = endpoint(Family.ORDERS, GET=_get)
cancel = endpoint(Family.ORDERS, POST=_cancel)
refund = endpoint(Family.ORDERS, POST=_refund)
