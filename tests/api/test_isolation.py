"""Tenant isolation over the whole partner API: with every token of tenant A (each scope set an
app can hold), every route of every registered viewset answers 404 for tenant B's objects, for
every method it serves, and no list ever shows them.

Routes are read from the API's router, so an endpoint added later is covered, and fails here
until tenant B has an object for it in ``B_OBJECTS``.
"""

import json
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import URLPattern, reverse
from oauth2_provider.models import Application

from merchant_platform.api_urls import router
from orders.models import Order, Payment, Refund
from partners.models import Event, WebhookDelivery, WebhookEndpoint
from pos.models import PointOfSale, Store
from tenants.scope import tenant_scope
from tests.api.conftest import ALL_SCOPES, api_client, issue_token
from tests.factories import (
    make_event,
    make_member,
    make_order,
    make_payment,
    make_pos,
    make_refund,
    make_webhook_delivery,
    make_webhook_endpoint,
)

# How to make tenant B's object for each basename, and the value its URL names it by.
B_OBJECTS: dict[str, Callable] = {
    "order": lambda tenant: make_order(tenant, qr_data="00020101021243650016COM.MERCADOLIBRE"),
    "store": lambda tenant: make_pos(tenant).store,
    "pos": lambda tenant: make_pos(tenant, qr_code="00020101021243650016COM.MERCADOLIBRE"),
    "webhook-endpoint": make_webhook_endpoint,
    "webhook-delivery": make_webhook_delivery,
    "event": make_event,
    "payment": make_payment,
    "refund": make_refund,
    "sandbox-order": make_order,
}
MODELS = {
    "order": Order,
    "store": Store,
    "pos": PointOfSale,
    "webhook-endpoint": WebhookEndpoint,
    "webhook-delivery": WebhookDelivery,
    "event": Event,
    "payment": Payment,
    "refund": Refund,
    "sandbox-order": Order,
}
# Named in the API by their uid (as "uid" for orders, as "id" for events).
BY_UID = {"order", "event", "payment", "refund", "sandbox-order"}
READ_ONLY_SCOPES = frozenset(scope for scope in ALL_SCOPES if scope.endswith(":read"))


def _detail_routes() -> list[tuple[str, str, str]]:
    """(basename, url name, method) of every route that names one object."""
    routes = []
    for pattern in router.urls:
        if not pattern.pattern.regex.groupindex:
            continue
        basename = _basename(pattern)
        for method in pattern.callback.actions:
            routes.append((basename, pattern.name, method))
    return routes


def _list_routes() -> list[tuple[str, str]]:
    return [
        (_basename(pattern), pattern.name)
        for pattern in router.urls
        if pattern.callback.actions.get("get") == "list"  # exports: tests/api/test_exports_api.py
    ]


def _basename(pattern: URLPattern) -> str:
    return next(
        basename for _, _, basename in router.registry if pattern.name.startswith(f"{basename}-")
    )


def _url(url_name: str, pattern_view, obj) -> str:
    view_class = pattern_view.cls
    kwarg = view_class.lookup_url_kwarg or view_class.lookup_field
    return reverse(f"api:{url_name}", kwargs={kwarg: getattr(obj, view_class.lookup_field)})


@pytest.fixture
def objects_of_b(tenant_b) -> dict[str, object]:
    return {basename: make(tenant_b) for basename, make in B_OBJECTS.items()}


@pytest.fixture(params=["token with every scope", "token with read scopes", "owner's session"])
def client_of_a(request, tenant_a) -> tuple[Client, frozenset[str]]:
    """A client of tenant A, and the scopes it acts with (an owner's role allows everything)."""
    if request.param == "owner's session":
        client = Client()
        client.force_login(make_member(tenant_a, "owner"))
        return client, ALL_SCOPES
    scopes = ALL_SCOPES if request.param == "token with every scope" else READ_ONLY_SCOPES
    return api_client(issue_token(tenant_a, scopes)), scopes


def _expected_status(view_class, method: str, scopes: frozenset[str]) -> int:
    """404, or 403 where the token lacks the route's scope (whatever object it names)."""
    scope = (
        view_class.read_scope if method in ("get", "head", "options") else view_class.write_scope
    )
    return 404 if scope is None or scope in scopes else 403


def test_every_registered_viewset_has_an_object_of_tenant_b():
    assert {basename for _, _, basename in router.registry} <= B_OBJECTS.keys()


def test_every_route_answers_404_for_tenant_bs_objects(tenant_a, objects_of_b, client_of_a):
    client, scopes_of_a = client_of_a
    patterns = {pattern.name: pattern for pattern in router.urls}
    answers, expected = {}, {}
    for basename, url_name, method in _detail_routes():
        view = patterns[url_name].callback
        url = _url(url_name, view, objects_of_b[basename])
        if method in ("get", "head", "options", "delete"):
            response = getattr(client, method)(url)
        else:
            response = getattr(client, method)(url, json.dumps({}), content_type="application/json")
        answers[(url_name, method)] = response.status_code
        expected[(url_name, method)] = _expected_status(view.cls, method, scopes_of_a)

    assert len(answers) >= 20, "the API's detail routes were not found"
    assert answers == expected
    for basename, obj in objects_of_b.items():
        with tenant_scope(obj.tenant):
            assert MODELS[basename].objects.filter(pk=obj.pk).exists(), basename


def test_lists_show_tenant_as_objects_and_never_tenant_bs(tenant_a, objects_of_b, client_of_a):
    for make in B_OBJECTS.values():
        make(tenant_a)
    with tenant_scope(tenant_a):  # a token lists its own app's endpoints only (its app's here)
        WebhookEndpoint.objects.update(
            application=Application.objects.filter(partner_grants__tenant=tenant_a).first()
        )
    client, _scopes = client_of_a
    listed, expected = {}, {}
    for basename, url_name in _list_routes():
        response = client.get(reverse(f"api:{url_name}"))
        if response.status_code == 403:  # the token lacks this list's scope
            continue
        assert response.status_code == 200, (url_name, response.content)
        listed[url_name] = {str(row[_id_field(basename)]) for row in response.json()["results"]}
        with tenant_scope(tenant_a):
            expected[url_name] = {
                _public_id(basename, obj) for obj in MODELS[basename].objects.all()
            }

    assert listed
    assert listed == expected


def _id_field(basename: str) -> str:
    return "uid" if basename == "order" else "id"


def _public_id(basename: str, obj) -> str:
    return str(obj.uid if basename in BY_UID else obj.pk)
