"""A list costs the same SQL queries with 10 rows as with 60: no query per row, in the partner
API's order list and in every admin changelist, for a seller's member and for platform staff.
And a long admin list is counted up to a limit only (``tenants.admin_pagination``).

Not timed: ``bench/lists.py`` measures the figures (queries per page at 10, 100 and 1,000 rows,
response times, the query plan) on a seeded PostgreSQL.
"""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Notification, Order, OrderItem, Refund
from partners.models import WebhookDelivery, WebhookEndpoint
from tenants.admin_pagination import EstimatedCountPaginator
from tenants.roles import Role
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.factories import (
    _invitation,
    _mismatch,
    make_dispute,
    make_grant,
    make_member,
    make_order,
    make_payment,
    make_pos,
    make_report_file,
    make_store,
    make_tenant,
    make_user,
)

pytestmark = pytest.mark.django_db

FEW, MANY = 10, 60  # both fit on one page (the admin shows 100, the API 50 by default)


@pytest.fixture
def seller(db):
    return make_tenant("Lists", site="MLA")


def add_orders(seller, count: int) -> None:
    """Orders with an item each, and for every other one a payment and a refund of it."""
    pos = make_pos(seller)
    for n in range(count):
        order = make_order(seller, pos)
        with tenant_scope(seller):
            OrderItem.objects.create(
                order=order, position=0, title="Item", unit_price=order.total_amount, quantity=1
            )
        if n % 2:
            payment = make_payment(seller, order)
            with tenant_scope(seller):
                Refund.objects.create(order=order, payment=payment, amount=Decimal("1.00"))


def add_notifications(seller, count: int) -> None:
    for n in range(count):
        order = make_order(seller)
        Notification.objects.create(
            tenant=seller,
            order=order,
            kind="webhook",
            status="processed",
            topic="order",
            resource_id=f"ORD{order.pk}",
            request_id=f"request-{order.pk}-{n}",
        )


def add_stores(seller, count: int) -> None:
    for _ in range(count):
        make_store(seller)


def add_points_of_sale(seller, count: int) -> None:
    store = make_store(seller)
    for _ in range(count):
        make_pos(seller, store)


def add_grants(seller, count: int) -> None:
    for _ in range(count):
        make_grant(seller)


def _endpoints(seller, count: int) -> list[WebhookEndpoint]:
    grant = make_grant(seller)
    with tenant_scope(seller):
        return [
            WebhookEndpoint.objects.create(
                url=f"https://partner.example.com/hooks/{n}",
                events=["order.processed"],
                secret=f"whsec-{n}",
                application=grant.application,
            )
            for n in range(count)
        ]


def add_endpoints(seller, count: int) -> None:
    _endpoints(seller, count)


def add_deliveries(seller, count: int) -> None:
    endpoints = _endpoints(seller, 3)
    with tenant_scope(seller):
        for n in range(count):
            WebhookDelivery.objects.create(
                endpoint=endpoints[n % 3], event_type="order.processed", payload={"n": n}
            )


def add_invitations(seller, count: int) -> None:
    for _ in range(count):
        _invitation(seller)


def add_disputes(seller, count: int) -> None:
    for _ in range(count):
        make_dispute(seller)


def add_report_files(seller, count: int) -> None:
    for _ in range(count):
        make_report_file(seller)


def add_mismatches(seller, count: int) -> None:
    for _ in range(count):
        _mismatch(seller)


ADMIN_LISTS = {
    "orders": ("/admin/orders/order/", add_orders),
    "notifications": ("/admin/orders/notification/", add_notifications),
    "stores": ("/admin/pos/store/", add_stores),
    "points of sale": ("/admin/pos/pointofsale/", add_points_of_sale),
    "connected apps": ("/admin/partners/partnergrant/", add_grants),
    "webhook endpoints": ("/admin/partners/webhookendpoint/", add_endpoints),
    "webhook deliveries": ("/admin/partners/webhookdelivery/", add_deliveries),
    "invitations": ("/admin/accounts/invitation/", add_invitations),
    "disputes": ("/admin/disputes/dispute/", add_disputes),
    "report files": ("/admin/reports/reportfile/", add_report_files),
    "mismatches": ("/admin/reports/mismatch/", add_mismatches),
}


def queries_of(client, url: str) -> tuple[object, list[str]]:
    """The answer to ``url`` and the SQL it ran (after a first request, which may set up the
    session)."""
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response
    return response, [query["sql"] for query in captured.captured_queries]


def assert_same_queries(few: list[str], many: list[str]) -> None:
    assert len(many) == len(few), "\n".join(
        ["A longer list ran more queries. With more rows:", *many]
    )


@pytest.mark.parametrize("who", ["member", "staff"])
@pytest.mark.parametrize("name", ADMIN_LISTS)
def test_an_admin_list_costs_no_query_per_row(client, seller, who, name):
    url, add_rows = ADMIN_LISTS[name]
    member = make_member(seller, Role.OWNER)
    client.force_login(member if who == "member" else make_user(is_staff=True, is_superuser=True))
    add_rows(seller, FEW)
    response, few = queries_of(client, url)
    shown = len(response.context["cl"].result_list)

    add_rows(seller, MANY - FEW)
    response, many = queries_of(client, url)

    assert len(response.context["cl"].result_list) == shown + MANY - FEW
    assert_same_queries(few, many)


def test_the_api_order_list_costs_no_query_per_row_and_four_in_all(seller, settings):
    """The page's orders, and their items, payments and refunds; the token is authenticated
    from the cache (``partners.token_cache``, on in production with Redis)."""
    settings.API_TOKEN_CACHE_SECONDS = 60
    api = api_client(issue_token(seller))
    add_orders(seller, FEW)
    response, few = queries_of(api, "/api/v1/orders")
    assert len(response.json()["results"]) == FEW

    add_orders(seller, MANY - FEW)
    response, many = queries_of(api, f"/api/v1/orders?limit={MANY}")

    assert len(response.json()["results"]) == MANY
    assert {len(order["payments"]) for order in response.json()["results"]} == {0, 1}
    assert_same_queries(few, many)
    assert len(many) <= 4, "\n".join(many)


def test_a_long_admin_list_is_counted_up_to_a_limit_then_estimated(client, seller, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_limit", 5)
    monkeypatch.setattr(admin.site._registry[Order], "list_per_page", 2)
    add_orders(seller, 8)
    client.force_login(make_member(seller, Role.VIEWER, language="en"))

    response = client.get("/admin/orders/order/")
    changelist = response.context["cl"]
    beyond = client.get("/admin/orders/order/", {"p": 99})

    if connection.vendor == "postgresql":  # the planner's estimate, at least the rows counted
        assert changelist.paginator.count_is_estimate
        assert changelist.result_count >= 6
        assert f"about {changelist.result_count} orders" in response.text
        assert beyond.status_code == 200  # a page past the estimate is empty, not an error
        assert list(beyond.context["cl"].result_list) == []
    else:  # other databases count every row, as Django does
        assert not changelist.paginator.count_is_estimate
        assert changelist.result_count == 8
        assert "about" not in response.text
        assert beyond.status_code == 302  # Django's answer to a page that does not exist
