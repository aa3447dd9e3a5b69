"""Strict input (partners/input.py): what a request sends that the operation does not take is
refused with the field named, in the one error format, never ignored: unknown body fields (nested
too, read-only ones too) on every write, unknown or repeated query parameters on every list, a
``limit`` out of range, naive datetimes in bodies and filters, a currency other than the seller's.
The API reads JSON only: the schema declares nothing else, and the browsable API still renders.
"""

import json
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from merchant_platform.api_urls import router
from orders.models import Order
from partners.models import WebhookEndpoint
from pos.models import PointOfSale, Store
from tenants.scope import tenant_scope
from tests.api.test_bad_input import OWN_OBJECTS, ROUTES, _url
from tests.factories import make_member, make_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

ORDERS = "/api/v1/orders"
UTC_MINUS_3 = dt_timezone(timedelta(hours=-3))
# Every list of the API, read from its router.
LISTS = [
    reverse(f"api:{pattern.name}")
    for pattern in router.urls
    if pattern.callback.actions.get("get") == "list"
]


def send(client: Client, method: str, path: str, body: object) -> object:
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


def order_body(pos, **fields) -> dict:
    return {
        "pos": pos.pk,
        "api": "v1",
        "mode": "dynamic",
        "external_reference": "sale-1",
        "title": "Lunch",
        "items": [{"title": "Flan", "unit_price": "7.50"}],
    } | fields


def field_codes(response) -> dict[str, list[str]]:
    body = response.json()
    assert body["code"] == "validation_error", body
    return {name: [e["code"] for e in errors] for name, errors in body["fields"].items()}


def rows(tenant) -> dict[str, int]:
    with tenant_scope(tenant):
        return {m.__name__: m.objects.count() for m in (Order, Store, PointOfSale, WebhookEndpoint)}


# Bodies ------------------------------------------------------------------------------------


def test_every_list_and_every_write_is_covered():
    lists = {"/api/v1/orders", "/api/v1/stores", "/api/v1/pos", "/api/v1/webhook-endpoints"}
    assert lists <= set(LISTS)
    names = {name for _, name, _ in ROUTES}
    assert {"order-list", "order-refund", "order-cancel", "store-list", "store-detail"} <= names
    assert {"pos-list", "pos-detail", "webhook-endpoint-list", "webhook-endpoint-detail"} <= names
    assert {"store-resync", "webhook-endpoint-test", "webhook-endpoint-rotate-secret"} <= names


@pytest.mark.parametrize(("basename", "url_name", "method"), ROUTES)
def test_an_unknown_body_field_is_refused_by_name_on_every_write(
    seller, partner, basename, url_name, method
):
    pattern = next(p for p in router.urls if p.name == url_name)
    obj = OWN_OBJECTS[basename](seller) if pattern.pattern.regex.groupindex else None
    before = rows(seller)

    response = send(partner, method, _url(url_name, pattern.callback, obj), {"foo": "bar"})

    assert response.status_code == 400, response.content
    assert field_codes(response)["foo"] == ["unknown_field"]
    assert rows(seller) == before


def test_the_order_of_the_issue_with_a_foreign_currency_and_a_stray_field_is_not_made(
    seller, pos, partner
):
    response = send(partner, "post", ORDERS, order_body(pos, currency="USD", foo="bar"))

    assert response.status_code == 400
    assert field_codes(response) == {"currency": ["currency_mismatch"], "foo": ["unknown_field"]}
    assert "ARS" in response.json()["fields"]["currency"][0]["message"]
    assert rows(seller)["Order"] == 0


def test_the_sellers_own_currency_is_accepted(seller, pos, partner):
    response = send(partner, "post", ORDERS, order_body(pos, currency="ARS"))

    assert response.status_code == 201, response.content
    assert response.json()["currency"] == "ARS"


def test_unknown_fields_of_nested_objects_are_named_by_their_path(pos, partner):
    body = order_body(
        pos,
        items=[
            {"title": "Flan", "unit_price": "7.50"},
            {"title": "Café", "unit_price": "2", "x": 1},
        ],
    )

    response = send(partner, "post", ORDERS, body)

    assert response.status_code == 400
    assert field_codes(response) == {"items.1.x": ["unknown_field"]}


def test_unknown_fields_are_reported_with_the_other_errors_of_the_body(pos, partner):
    response = send(partner, "post", ORDERS, order_body(pos, api="v9", colour="red"))

    assert field_codes(response) == {"api": ["invalid_choice"], "colour": ["unknown_field"]}


def test_a_read_only_field_is_refused_too(seller, partner):
    store = OWN_OBJECTS["store"](seller)

    response = send(partner, "patch", f"/api/v1/stores/{store.pk}", {"sync_state": "synced"})

    assert response.status_code == 400
    assert field_codes(response) == {"sync_state": ["unknown_field"]}
    assert "read-only" in response.json()["message"]


@pytest.mark.parametrize("expiration", ["2030-12-01T10:00:00", "2030-12-01"])
def test_a_naive_expiration_date_is_refused(seller, pos, partner, expiration):
    response = send(partner, "post", ORDERS, order_body(pos, expiration_date=expiration))

    assert response.status_code == 400
    assert field_codes(response) == {"expiration_date": ["naive_datetime"]}
    assert rows(seller)["Order"] == 0


def test_an_expiration_date_with_its_offset_is_taken(pos, partner):
    expiration = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    body = order_body(pos, expiration_date=expiration.astimezone(UTC_MINUS_3).isoformat())

    response = send(partner, "post", ORDERS, body)

    assert response.status_code == 201, response.content
    expires_at = datetime.fromisoformat(response.json()["expires_at"])
    assert abs(expires_at - expiration) < timedelta(minutes=1)  # read with its offset


# Query strings -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", LISTS)
def test_an_unknown_query_parameter_is_refused_on_every_list(partner, path):
    response = partner.get(path, {"colour": "red", "limit": "5"})

    assert response.status_code == 400
    assert field_codes(response) == {"colour": ["unknown_field"]}
    assert "limit" in response.json()["message"]  # what the list does take


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=created&status=processed", {"status": ["repeated"]}),
        ("limit=1&limit=2", {"limit": ["repeated"]}),
        ("limit=abc", {"limit": ["invalid"]}),
        ("limit=0", {"limit": ["min_value"]}),
        ("limit=100000", {"limit": ["max_value"]}),
        ("created_after=2026-12-01T10:00:00", {"created_after": ["naive_datetime"]}),
        ("created_before=2026-12-01", {"created_before": ["naive_datetime"]}),
    ],
)
def test_bad_list_queries_are_400_on_the_parameter(seller, pos, partner, query, expected):
    make_order(seller, pos)

    response = partner.get(f"{ORDERS}?{query}")

    assert response.status_code == 400, response.content
    codes = field_codes(response)
    assert {name: codes[name] for name in expected} == expected


def test_limit_names_its_maximum(partner):
    response = partner.get(ORDERS, {"limit": "501"})

    assert "500" in response.json()["fields"]["limit"][0]["message"]


def test_known_parameters_given_once_are_taken(seller, pos, partner):
    order = make_order(seller, pos)

    response = partner.get(
        ORDERS,
        {
            "status": order.status,
            "created_after": "2000-01-01T00:00:00-03:00",
            "created_before": "2100-01-01T00:00:00Z",
            "limit": "500",
            "format": "json",
        },
    )

    assert response.status_code == 200, response.content
    assert [row["uid"] for row in response.json()["results"]] == [str(order.uid)]


# JSON only ---------------------------------------------------------------------------------


def test_the_schema_declares_json_bodies_only_and_closes_them():
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    bodies = [
        operation["requestBody"]
        for item in schema["paths"].values()
        for operation in item.values()
        if "requestBody" in operation
    ]
    assert len(bodies) >= 10
    for body in bodies:
        assert list(body["content"]) == ["application/json"]
        ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert schema["components"]["schemas"][ref]["additionalProperties"] is False, ref


def test_the_browsable_api_still_renders_for_a_signed_in_owner(seller, pos, client):
    order = make_order(seller, pos)
    client.force_login(make_member(seller, "owner"))

    page = client.get(ORDERS, headers={"Accept": "text/html"})

    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert str(order.uid) in page.text
    assert "application/json" in page.text  # the raw-data form posts JSON
