"""The legacy in-store QR API (api.md §2).

The hybrid ``PUT …/qrs`` answers 201 with ``qr_data`` (the migration guide's reading); the
reference's "empty 201" is the other reading, so clients must accept both (api.md §11.2).
Without a valid token, ``DELETE …/orders`` answers 400 ``invalid_access_token`` as api.md §2.4
lists it for that endpoint; the others answer 401 ``unauthorized``.

Every error answers the body the legacy API's OpenAPI documents (``qr-dynamic.yaml``,
``instore_orders_v2.yaml``): ``{"errorKey": "<key>"}``, without the message, status or cause of
the other legacy endpoints (stores, POS, payments).
"""

from django.http import HttpRequest, JsonResponse

from sandbox import instore, lifecycle, render
from sandbox.errors import ApiError
from sandbox.http import json_body
from sandbox.models import Order, Token
from sandbox.views.common import Family, endpoint, no_content


def _qr_answer(order: Order) -> dict:
    return {"qr_data": order.qr_data, "in_store_order_id": order.order_id}


def _dynamic(request: HttpRequest, token: Token, user_id: str, external_pos_id: str):
    pos = instore.point_of_sale(token.account, user_id, external_pos_id)
    order = instore.create(token, pos, json_body(request), Order.Mode.DYNAMIC)
    return JsonResponse(_qr_answer(order))


def _hybrid(request: HttpRequest, token: Token, user_id: str, external_pos_id: str):
    pos = instore.point_of_sale(token.account, user_id, external_pos_id)
    order = instore.create(token, pos, json_body(request), Order.Mode.HYBRID)
    return JsonResponse(_qr_answer(order), status=201)


def _static(
    request: HttpRequest, token: Token, user_id: str, external_store_id: str, external_pos_id: str
):
    pos = instore.store_pos(token.account, user_id, external_store_id, external_pos_id)
    instore.create(token, pos, json_body(request), Order.Mode.STATIC)
    return no_content()


def _shown(request: HttpRequest, token: Token, user_id: str, external_pos_id: str):
    pos = instore.point_of_sale(token.account, user_id, external_pos_id)
    return JsonResponse([render.instore_order(instore.shown_order(pos))], safe=False)


def _remove(request: HttpRequest, token: Token, user_id: str, external_pos_id: str):
    pos = instore.point_of_sale(token.account, user_id, external_pos_id)
    lifecycle.cancel(instore.shown_order(pos))
    return no_content()


qrs = endpoint(Family.INSTORE, POST=_dynamic, PUT=_hybrid)
store_pos_orders = endpoint(Family.INSTORE, PUT=_static)
pos_orders = endpoint(
    Family.INSTORE,
    GET=_shown,
    DELETE=_remove,
    unauthorized_by_method={"DELETE": ApiError(400, "invalid_access_token", "access denied")},
)
