"""Bad input on every route of the partner API that takes a body: invalid JSON, a body larger than
the platform accepts, a body that is not an object, and a content type other than JSON (forms
too: the API takes JSON only). Each gets a 4xx in
the one error format, never a 5xx, and changes nothing.

Routes are read from the API's router, so a route added later is covered.
"""

import pytest
from django.conf import settings
from django.urls import reverse
from oauth2_provider.models import Application

from merchant_platform.api_urls import router
from orders.models import Order
from partners.models import WebhookEndpoint
from pos.models import PointOfSale, Store
from tenants.scope import tenant_scope
from tests.factories import make_order, make_pos, make_webhook_delivery, make_webhook_endpoint

WRITE_METHODS = ("post", "put", "patch")
# Actions that read no body: whatever JSON they get, they do what their URL says.
BODYLESS_ACTIONS = (
    "-cancel",
    "-resync",
    "-rotate-secret",
    "-test",
    "-redeliver",
    "-pay",
    "-expire",
)


def _own_endpoint(tenant):
    """An endpoint of the token's app: its own."""
    return make_webhook_endpoint(
        tenant, application=Application.objects.get(partner_grants__tenant=tenant)
    )


def _open_order(tenant):
    return make_order(tenant, qr_data="00020101021243650016COM.MERCADOLIBRE")


OWN_OBJECTS = {
    "order": _open_order,
    "sandbox-order": _open_order,
    "store": lambda tenant: make_pos(tenant).store,
    "pos": make_pos,
    "webhook-endpoint": _own_endpoint,
    "webhook-delivery": lambda tenant: make_webhook_delivery(tenant, _own_endpoint(tenant)),
}
BAD_BODIES = {
    "invalid JSON": ('{"total_amount": "10.00",', "application/json", 400),
    "JSON that is not an object": ('["total_amount"]', "application/json", 400),
    "not JSON at all": ("total_amount=10.00", "text/plain", 415),
    # The API takes JSON only: a form is refused, not read.
    "a form": ("total_amount=10.00", "application/x-www-form-urlencoded", 415),
    "a multipart form": (
        '--B\r\nContent-Disposition: form-data; name="total_amount"\r\n\r\n10.00\r\n--B--\r\n',
        "multipart/form-data; boundary=B",
        415,
    ),
    "too large": (
        '{"x": "' + "a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"}',
        "application/json",
        413,
    ),
}


def _write_routes() -> list[tuple[str, str, str]]:
    """(basename, url name, method) of every route that takes a body."""
    routes = []
    for pattern in router.urls:
        basename = next(b for _, _, b in router.registry if pattern.name.startswith(f"{b}-"))
        for method in pattern.callback.actions:
            if method in WRITE_METHODS:
                routes.append((basename, pattern.name, method))
    return routes


def _url(url_name: str, view, obj) -> str:
    if not obj:
        return reverse(f"api:{url_name}")
    kwarg = view.cls.lookup_url_kwarg or view.cls.lookup_field
    return reverse(f"api:{url_name}", kwargs={kwarg: getattr(obj, view.cls.lookup_field)})


def _rows(tenant) -> dict[str, int]:
    with tenant_scope(tenant):
        return {m.__name__: m.objects.count() for m in (Order, Store, PointOfSale, WebhookEndpoint)}


ROUTES = _write_routes()
CASES = [
    (*route, case)
    for route in ROUTES
    for case in BAD_BODIES
    if not (case == "JSON that is not an object" and route[1].endswith(BODYLESS_ACTIONS))
]


def test_the_routes_are_found():
    assert {method for _, _, method in ROUTES} == set(WRITE_METHODS)
    assert len(ROUTES) >= 10


@pytest.mark.django_db
@pytest.mark.parametrize(("basename", "url_name", "method", "case"), CASES)
def test_bad_bodies_get_a_4xx_in_the_error_format(
    api_a, tenant_a, basename, url_name, method, case
):
    pattern = next(p for p in router.urls if p.name == url_name)
    obj = OWN_OBJECTS[basename](tenant_a) if pattern.pattern.regex.groupindex else None
    body, content_type, expected_status = BAD_BODIES[case]
    before = _rows(tenant_a)

    response = getattr(api_a, method)(_url(url_name, pattern.callback, obj), body, content_type)

    assert response.status_code == expected_status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) >= {"code", "message"}
    assert _rows(tenant_a) == before
