"""Merchant orders and payments (api.md §7, §8)."""

from django.http import HttpRequest, JsonResponse

from sandbox import payments, render
from sandbox.http import json_body
from sandbox.models import Token
from sandbox.views.common import Family, endpoint, idempotent


def _merchant_order(request: HttpRequest, token: Token, merchant_order_id: str):
    found = payments.merchant_order_of(token.account, merchant_order_id)
    return JsonResponse(render.merchant_order(found))


def _search_merchant_orders(request: HttpRequest, token: Token) -> JsonResponse:
    found, offset, limit = payments.search_merchant_orders(token.account, request.GET)
    total = found.count()
    return JsonResponse(
        {
            "elements": [render.merchant_order(row) for row in found[offset : offset + limit]],
            "next_offset": offset + limit if offset + limit < total else None,
            "total": total,
        }
    )


def _payment(request: HttpRequest, token: Token, payment_id: str) -> JsonResponse:
    return JsonResponse(render.payment(payments.payment_of(token.account, payment_id)))


def _refunds(request: HttpRequest, token: Token, payment_id: str) -> JsonResponse:
    found = payments.payment_of(token.account, payment_id)
    return JsonResponse([render.refund(row) for row in payments.refunds_of(found)], safe=False)


def _payment_refund(
    request: HttpRequest, token: Token, payment_id: str, refund_id: str
) -> JsonResponse:
    found = payments.payment_of(token.account, payment_id)
    return JsonResponse(render.refund(payments.refund_of(found, refund_id)))


def _refund(request: HttpRequest, token: Token, payment_id: str) -> JsonResponse:
    body = json_body(request)
    missing = payments.payment_error(
        400, "bad_request", 4292, "Header X-Idempotency-Key can't be null"
    )

    def work() -> tuple[int, dict]:
        found = payments.payment_of(token.account, payment_id)
        return 201, render.refund(payments.refund(found, body))

    return idempotent(request, token, work, missing=missing)


merchant_order = endpoint(Family.LEGACY, unauthorized="invalid_token", GET=_merchant_order)
merchant_orders_search = endpoint(
    Family.LEGACY, unauthorized="invalid_token", GET=_search_merchant_orders
)
payment = endpoint(Family.LEGACY, GET=_payment)
payment_refunds = endpoint(Family.LEGACY, GET=_refunds, POST=_refund)
payment_refund = endpoint(Family.LEGACY, GET=_payment_refund)
