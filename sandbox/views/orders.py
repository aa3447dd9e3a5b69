"""The Orders API for QR (api.md §3)."""

from django.http import HttpRequest, JsonResponse

from sandbox import orders_api, render
from sandbox.http import json_body
from sandbox.models import Token
from sandbox.views.common import Family, endpoint, idempotent


def _create(request: HttpRequest, token: Token) -> JsonResponse:
    body = json_body(request)
    return idempotent(request, token, lambda: (201, render.order(orders_api.create(token, body))))


def _search(request: HttpRequest, token: Token) -> JsonResponse:
    found, paging = orders_api.search(token.account, request.GET)
    return JsonResponse({"data": [render.order(row) for row in found], "paging": paging})


def _get(request: HttpRequest, token: Token, order_id: str) -> JsonResponse:
    return JsonResponse(render.order(orders_api.get(token.account, order_id)))


def _cancel(request: HttpRequest, token: Token, order_id: str) -> JsonResponse:
    return idempotent(
        request, token, lambda: (200, render.order(orders_api.cancel(token.account, order_id)))
    )


def _refund(request: HttpRequest, token: Token, order_id: str) -> JsonResponse:
    body = json_body(request)
    return idempotent(
        request,
        token,
        lambda: (201, render.order(orders_api.refund(token.account, order_id, body))),
    )


orders = endpoint(Family.ORDERS, POST=_create, GET=_search)
order = endpoint(Family.ORDERS, GET=_get)
cancel = endpoint(Family.ORDERS, POST=_cancel)
refund = endpoint(Family.ORDERS, POST=_refund)
