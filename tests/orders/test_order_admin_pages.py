"""What the order admin shows: the description as the cashier typed it (escaped), amounts in the
person's money locale, and the order's notifications from Mercado Pago with when they were
received, newest first, bounded, in a constant number of queries."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders import services
from orders.admin import NOTIFICATIONS_SHOWN
from orders.models import Notification
from orders.validation import ItemInput
from tenants.roles import Role
from tests.factories import make_connected_tenant, make_order, make_payment, make_tenant
from tests.orders.test_order_admin_actions import member

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

ORDERS = reverse("admin:orders_order_changelist")
NOTIFICATIONS = reverse("admin:orders_notification_changelist")
TYPED = "Empanadas <b>x3</b> & ñandú “al horno” 🥟"
RECEIVED = datetime(2025, 3, 10, 15, 0, 5, tzinfo=UTC)  # 12:00:05 in Buenos Aires


def order_page(order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def as_the_cashier_creates_it(seller, pos, typed: str):
    """An order made as the cashier page makes it: title and one item named as typed."""
    return services.create_order(
        tenant=seller,
        pos=pos,
        api="v1",
        mode="dynamic",
        external_reference="CAJA-1",
        title=typed,
        items=[ItemInput(typed, Decimal("1500.50"))],
    )


def received(order, at: datetime, **fields) -> Notification:
    values = {"kind": "webhook", "status": "processed", "topic": "order", **fields}
    row = Notification.objects.create(tenant=order.tenant, order=order, **values)
    Notification.objects.filter(pk=row.pk).update(received_at=at)  # auto_now_add
    return row


# The description --------------------------------------------------------------------------------


def test_the_description_the_cashier_typed_is_shown_as_typed_and_escaped(client, seller, pos):
    order = as_the_cashier_creates_it(seller, pos, TYPED)
    client.force_login(member(seller, Role.VIEWER))

    response = client.get(order_page(order))
    listed = client.get(ORDERS).text

    escaped = "Empanadas &lt;b&gt;x3&lt;/b&gt; &amp; ñandú “al horno” 🥟"
    page = response.text
    assert f'<div class="readonly">{escaped}</div>' in page  # the Description row
    assert "<b>x3</b>" not in page
    assert "form-row field-title" not in page  # the title is the description: not shown twice
    assert escaped in listed
    assert "<b>x3</b>" not in listed


def test_an_api_order_shows_its_description_and_its_own_title(client, seller):
    order = make_order(seller, title="Mesa 4", description="Dos cafés <i>y</i> medialunas")
    client.force_login(member(seller, Role.VIEWER))

    page = client.get(order_page(order)).text

    assert '<div class="readonly">Dos cafés &lt;i&gt;y&lt;/i&gt; medialunas</div>' in page
    assert '<div class="readonly">Mesa 4</div>' in page


# Amounts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("site", "language", "shown"),
    [
        ("MLA", "", "ARS\xa01.500,50"),  # the seller's language: es-AR
        ("MLA", "en", "ARS\xa01,500.50"),
        ("MLB", "", "BRL\xa01.500,50"),
    ],
)
def test_amounts_are_shown_in_the_persons_locale(client, site, language, shown):
    seller = make_tenant("Loja", site=site)
    order = make_order(seller, status="processed", total_amount=Decimal("1500.50"))
    make_payment(seller, order, refunded_amount=Decimal("1500.50"))
    client.force_login(member(seller, Role.VIEWER, language=language))

    listed = client.get(ORDERS).text
    page = client.get(order_page(order)).text

    assert f'<td class="field-total">{shown}</td>' in listed
    assert f'<div class="readonly">{shown}</div>' in page  # the total
    assert re.search(rf'<td class="field-paid">\s*<p>{shown}</p>', page)  # the payment's
    assert "1500.50" not in page  # no amount left unformatted


# Notifications ----------------------------------------------------------------------------------


def test_the_notifications_show_newest_first_with_their_receipt_time_in_the_sellers_zone(
    client, seller
):
    order = make_order(seller, status="processed")
    received(order, RECEIVED, action="order.processed", processed_at=RECEIVED)
    received(
        order,
        RECEIVED + timedelta(minutes=3),
        kind="ipn",
        topic="payment",
        status="failed",
        detail="Mercado Pago did not answer",
    )
    elsewhere = make_order(seller)
    received(elsewhere, RECEIVED, resource_id="NOT-THIS-ONE", action="order.other")
    client.force_login(member(seller, Role.VIEWER))

    response = client.get(order_page(order))

    shown = [(n.topic, n.status) for n in response.context["notifications"]]
    assert shown == [("payment", "failed"), ("order", "processed")]
    page = response.text
    assert page.index(">2025-03-10 12:03:05<") < page.index(">2025-03-10 12:00:05<")
    assert 'datetime="2025-03-10T15:00:05+00:00"' in page  # the server's receipt time, exact
    assert "America/Argentina/Buenos_Aires" in page
    assert "IPN (legacy, unsigned)" in page
    assert "Mercado Pago did not answer" in page
    assert "order.other" not in page


def test_the_notifications_are_bounded_and_cost_no_query_per_row(client, seller):
    order = make_order(seller, status="processed")
    client.force_login(member(seller, Role.VIEWER))
    received(order, RECEIVED)
    client.get(order_page(order))
    with CaptureQueriesContext(connection) as one:
        client.get(order_page(order))
    for minutes in range(1, NOTIFICATIONS_SHOWN + 10):
        received(order, RECEIVED + timedelta(minutes=minutes), resource_id=f"N-{minutes}")

    with CaptureQueriesContext(connection) as many:
        response = client.get(order_page(order))

    assert len(many.captured_queries) == len(one.captured_queries)
    rows = response.context["notifications"]
    assert len(rows) == NOTIFICATIONS_SHOWN
    assert rows[0].received_at == RECEIVED + timedelta(minutes=NOTIFICATIONS_SHOWN + 9)
    assert response.context["more_notifications"]
    inbox = f"{NOTIFICATIONS}?order__id__exact={order.pk}"
    assert inbox in response.text
    assert client.get(inbox).status_code == 200  # the link's filter is allowed


def test_the_inbox_link_lists_only_that_orders_notifications_of_the_seller(client, seller):
    order, other = make_order(seller), make_order(seller)
    received(order, RECEIVED, resource_id="ORD-MINE")
    received(other, RECEIVED, resource_id="ORD-OTHER")
    theirs = make_order(make_connected_tenant("Padaria", site="MLB"))
    received(theirs, RECEIVED, resource_id="ORD-THEIRS")
    client.force_login(member(seller, Role.VIEWER))

    mine = client.get(NOTIFICATIONS, {"order__id__exact": order.pk}).text
    foreign = client.get(NOTIFICATIONS, {"order__id__exact": theirs.pk}).text

    assert "ORD-MINE" in mine
    assert "ORD-OTHER" not in mine
    assert "ORD-THEIRS" not in foreign
