"""Stores and POS (api.md §4)."""

from django.http import HttpRequest, JsonResponse

from sandbox import render, stores
from sandbox.errors import ApiError
from sandbox.http import json_body
from sandbox.models import Token
from sandbox.views.common import Family, endpoint, no_content


def _own_user(token: Token, user_id: str) -> None:
    if not user_id.isdigit():
        raise ApiError(400, "INVALID_USER_ID", "user_id must be numeric")
    if int(user_id) != token.account.user_id:
        raise ApiError(403, "forbidden", "user_id is not the token's user")


def _create_store(request: HttpRequest, token: Token, user_id: str) -> JsonResponse:
    _own_user(token, user_id)
    return JsonResponse(render.store(stores.create_store(token.account, json_body(request))))


def _search_stores(request: HttpRequest, token: Token, user_id: str) -> JsonResponse:
    _own_user(token, user_id)
    found = stores.search_stores(token.account, request.GET)
    offset, limit = stores.page(request.GET)
    return JsonResponse(
        {
            "paging": render.paging(found.count(), offset, limit),
            "results": [render.store(row) for row in found[offset : offset + limit]],
        }
    )


def _get_store(request: HttpRequest, token: Token, store_id: str) -> JsonResponse:
    return JsonResponse(render.store(stores.store_of(token.account, store_id)))


def _update_store(request: HttpRequest, token: Token, user_id: str, store_id: str):
    _own_user(token, user_id)
    store = stores.store_of(token.account, store_id)
    return JsonResponse(render.store(stores.update_store(store, json_body(request))))


def _delete_store(request: HttpRequest, token: Token, user_id: str, store_id: str):
    _own_user(token, user_id)
    store = stores.store_of(token.account, store_id)
    deleted = {"store": store.pk, "user": token.account.user_id}
    store.delete()
    return JsonResponse(deleted)


def _create_pos(request: HttpRequest, token: Token) -> JsonResponse:
    pos = stores.create_pos(token.account, json_body(request))
    return JsonResponse(render.pos(pos, request.build_absolute_uri))


def _search_pos(request: HttpRequest, token: Token) -> JsonResponse:
    found = stores.search_pos(token.account, request.GET)
    offset, limit = stores.page(request.GET)
    return JsonResponse(
        {
            "paging": render.paging(found.count(), offset, limit),
            "results": [
                render.pos(row, request.build_absolute_uri)
                for row in found[offset : offset + limit]
            ],
        }
    )


def _get_pos(request: HttpRequest, token: Token, pos_id: str) -> JsonResponse:
    pos = stores.pos_of(token.account, pos_id)
    return JsonResponse(render.pos(pos, request.build_absolute_uri))


def _update_pos(request: HttpRequest, token: Token, pos_id: str) -> JsonResponse:
    pos = stores.update_pos(stores.pos_of(token.account, pos_id), json_body(request))
    return JsonResponse(render.pos(pos, request.build_absolute_uri))


def _delete_pos(request: HttpRequest, token: Token, pos_id: str):
    stores.pos_of(token.account, pos_id).delete()
    return no_content()


user_stores = endpoint(Family.LEGACY, POST=_create_store)
user_stores_search = endpoint(Family.LEGACY, GET=_search_stores)
store = endpoint(Family.LEGACY, GET=_get_store)
user_store = endpoint(Family.LEGACY, PUT=_update_store, DELETE=_delete_store)
points_of_sale = endpoint(Family.LEGACY, POST=_create_pos, GET=_search_pos)
point_of_sale = endpoint(Family.LEGACY, GET=_get_pos, PUT=_update_pos, DELETE=_delete_pos)
