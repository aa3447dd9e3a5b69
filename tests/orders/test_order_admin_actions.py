"""The order admin's actions (cancel, refresh from Mercado Pago, refund), each offered only where
the services would take it and only to the roles allowed; bulk actions skip, and name, the orders
they cannot act on; a refund is made only once confirmed, and only once."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from merchant_platform.money import AmountError, parse_typed_amount
from orders import services
from orders.models import Refund
from orders.validation import ItemInput
from pos import qr, qr_links
from sandbox import models as mercadopago
from tenants.models import User
from tenants.roles import Role
from tenants.scope import tenant_scope
from tests.factories import (
    make_connected_tenant,
    make_member,
    make_order,
    make_payment,
    make_pos,
    make_user,
)
from tests.orders.conftest import pay, reload, synced_pos
from tests.orders.test_refunds import paid_order
from tests.orders.test_webhooks import new_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

ORDERS = reverse("admin:orders_order_changelist")
CANCEL, REFRESH, REFUND = 'id="order-cancel"', 'id="order-refresh"', 'id="order-refund"'
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="parallel writers need PostgreSQL"
)


def order_page(order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def refund_page(order) -> str:
    return reverse("admin:orders_order_refund", args=[order.pk])


def member(seller, role: str, language: str = "en") -> User:
    """A member of ``seller`` who reads the admin in ``language`` ("": the seller's, es-AR)."""
    user = make_member(seller, role)
    User.objects.filter(pk=user.pk).update(language=language)
    return user


def act(client, action: str, *orders):
    data = {"action": action, "_selected_action": [order.pk for order in orders]}
    return client.post(ORDERS, data, follow=True)


def sandbox_refunded(order) -> Decimal:
    """What the sandbox (Mercado Pago) has refunded of ``order``'s (v1) payment."""
    with tenant_scope(order.tenant):
        mp_payment_id = order.payments.get().mp_payment_id
    return mercadopago.Payment.objects.get(transaction_id=mp_payment_id).refunded_amount


def refunds_of(order) -> list[Decimal]:
    with tenant_scope(order.tenant):
        return list(
            Refund.objects.filter(order=order).order_by("pk").values_list("amount", flat=True)
        )


def big_paid_order(seller, pos, client, reference: str = "BIG-1"):
    """A v1 order of ARS 2000.00, paid in the sandbox and brought up to date."""
    order = services.create_order(
        tenant=seller,
        pos=pos,
        api="v1",
        mode="dynamic",
        external_reference=reference,
        title="Parrillada para dos",
        items=[ItemInput("Parrillada para dos", Decimal("2000.00"))],
    )
    pay(client, order)
    return services.refresh_order(tenant=seller, order=order)


# What each order offers -------------------------------------------------------------------------


def _processed(seller, **payment):
    order = make_order(seller, status="processed")
    make_payment(seller, order, **payment)
    return order


def _awaiting_a_refunds_answer(seller):
    order = _processed(seller)
    with tenant_scope(seller):
        Refund.objects.create(
            tenant=seller, order=order, payment=order.payments.get(), amount=Decimal("10.00")
        )
    return order


ORDERS_AND_WHAT_THEY_OFFER = {
    # name: (make the order, (cancel, refresh, refund) offered)
    "open": (lambda s: make_order(s, status="created"), (True, True, False)),
    "open legacy dynamic QR": (
        lambda s: make_order(s, status="created", api="instore"),
        (False, True, False),
    ),
    "pending": (lambda s: make_order(s, status="pending"), (False, True, False)),
    "paid": (_processed, (False, True, True)),
    "paid, part refunded": (
        lambda s: _processed(s, refunded_amount=Decimal("40.00")),
        (False, True, True),
    ),
    "paid, all refunded, not yet refunded status": (
        lambda s: _processed(s, refunded_amount=Decimal("100.00")),
        (False, True, False),
    ),
    "paid, a refund awaits Mercado Pago": (_awaiting_a_refunds_answer, (False, True, False)),
    "refunded": (
        lambda s: (
            make_payment(
                s, make_order(s, status="refunded"), refunded_amount=Decimal("100.00")
            ).order
        ),
        (False, True, False),
    ),
    "expired": (lambda s: make_order(s, status="expired"), (False, True, False)),
    "canceled": (lambda s: make_order(s, status="canceled"), (False, True, False)),
    "failed": (lambda s: make_order(s, status="failed"), (False, False, False)),
}


@pytest.mark.parametrize("case", ORDERS_AND_WHAT_THEY_OFFER)
def test_an_order_page_offers_only_the_actions_that_can_succeed(client, case):
    seller = make_connected_tenant("Parrilla", site="MLA")
    make, (cancel, refresh, refund) = ORDERS_AND_WHAT_THEY_OFFER[case]
    order = make(seller)
    client.force_login(member(seller, Role.OWNER))

    page = client.get(order_page(order)).text

    assert (CANCEL in page, REFRESH in page, REFUND in page) == (cancel, refresh, refund)


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        (Role.OWNER, (True, True)),
        (Role.MANAGER, (True, True)),
        (Role.CASHIER, (True, True)),
        (Role.VIEWER, (False, False)),
    ],
)
def test_the_actions_follow_the_role(client, seller, role, offered):
    open_order = make_order(seller, status="created")
    paid = _processed(seller)
    client.force_login(member(seller, role))

    open_page, paid_page = (
        client.get(order_page(open_order)).text,
        client.get(order_page(paid)).text,
    )
    changelist = client.get(ORDERS).text

    assert (CANCEL in open_page, REFRESH in open_page) == offered
    assert (REFUND in paid_page) == (role in (Role.OWNER, Role.MANAGER))
    assert ('name="action"' in changelist) == any(offered)  # a viewer gets no action menu


def test_a_viewer_cannot_post_any_action(client, seller, pos):
    order = new_order(seller, pos)
    paid = big_paid_order(seller, pos, client)
    client.force_login(member(seller, Role.VIEWER))

    act(client, "cancel", order)
    act(client, "refresh", order)
    confirmed = {"confirm": "yes", "amount": "", "seen_refundable": "2000.00"}

    assert client.get(refund_page(paid)).status_code == 403
    assert client.post(refund_page(paid), confirmed).status_code == 403
    assert reload(order).status == "created"
    assert refunds_of(paid) == []


# Cancel -----------------------------------------------------------------------------------------


def test_a_cashier_cancels_an_order_from_its_page(client, seller, pos):
    order = new_order(seller, pos)
    client.force_login(member(seller, Role.CASHIER))

    page = client.get(order_page(order)).text
    assert CANCEL in page
    assert REFUND not in page  # refunds need an owner or manager
    response = act(client, "cancel", order)

    assert "1 order canceled." in response.text
    assert reload(order).status == "canceled"


def test_a_bulk_cancel_skips_and_names_the_orders_it_cannot_cancel(client, seller, pos):
    paid = paid_order(seller, pos, client, "v1", reference="PAID-1")
    expired = make_order(seller, status="expired", external_reference="GONE-1")
    open_order = new_order(seller, pos, reference="OPEN-1")
    client.force_login(member(seller, Role.CASHIER))

    response = act(client, "cancel", paid, expired, open_order)

    assert response.status_code == 200
    page = response.text
    assert "1 order canceled." in page
    assert "2 orders skipped, they cannot be canceled:" in page
    assert (
        "PAID-1: Only an order waiting for payment can be canceled; this one is Processed (paid)."
        in page
    )
    assert "GONE-1: Only an order waiting for payment can be canceled; this one is Expired." in page
    assert 'class="error"' not in page  # skipped, not failed
    assert [reload(o).status for o in (paid, expired, open_order)] == [
        "processed",
        "expired",
        "canceled",
    ]


# Refresh ----------------------------------------------------------------------------------------


def test_refresh_picks_up_a_payment_made_in_mercado_pago(client, seller, pos):
    order = new_order(seller, pos)
    pay(client, order)
    assert reload(order).status == "created"  # no webhook reached the platform
    failed = make_order(seller, status="failed", external_reference="REFUSED-1")
    client.force_login(member(seller, Role.CASHIER))

    response = act(client, "refresh", order, failed)

    assert "1 order refreshed." in response.text
    assert (
        "1 order skipped, there is nothing to refresh: REFUSED-1: Mercado Pago never took it"
        in (response.text)
    )
    assert reload(order).status == "processed"


# Refund: asked, confirmed, made once ------------------------------------------------------------


def test_a_partial_refund_typed_in_the_sellers_locale_is_made_only_once_confirmed(
    client, seller, pos
):
    order = big_paid_order(seller, pos, client)
    client.force_login(member(seller, Role.OWNER, language=""))  # es-AR: 1.500,50

    asked = client.get(refund_page(order))
    assert "ARS\xa02.000,00" in asked.text  # refundable now
    assert "1.500,50" in asked.text  # how to type it
    review = client.post(refund_page(order), {"amount": "1.500,50"})

    assert review.templates[0].name == "admin/orders/order/refund_confirmation.html"
    assert "ARS\xa01.500,50" in review.text  # the refund
    assert "ARS\xa0499,50" in review.text  # what stays refundable
    assert refunds_of(order) == []  # a GET and an unconfirmed POST refund nothing
    assert sandbox_refunded(order) == 0

    confirmed = review.context["form"].initial | {"confirm": "yes"}
    assert confirmed == {
        "amount": Decimal("1500.50"),
        "seen_refundable": Decimal("2000.00"),
        "confirm": "yes",
    }
    done = client.post(refund_page(order), confirmed, follow=True)
    again = client.post(refund_page(order), confirmed, follow=True)  # a double submit

    assert done.redirect_chain[-1][0] == order_page(order)
    assert "ARS\xa01.500,50" in done.text  # the message, in the person's locale
    assert "No se devolvió nada." in again.text  # the seller's Spanish
    assert refunds_of(order) == [Decimal("1500.50")]
    assert sandbox_refunded(order) == Decimal("1500.50")
    assert reload(order).status == "processed"


def test_a_full_refund_asks_for_confirmation_then_nothing_is_left_to_offer(client, seller, pos):
    order = paid_order(seller, pos, client, "v1")
    client.force_login(member(seller, Role.MANAGER))

    review = client.post(refund_page(order), {"amount": ""})  # everything refundable

    assert review.context["whole"] is True
    assert "Refund all that is refundable, ARS\xa0100.00, of order sale-1" in review.text
    assert "ARS\xa00.00" in review.text  # stays refundable
    assert refunds_of(order) == []
    confirmed = {"confirm": "yes", "amount": "", "seen_refundable": "100.00"}
    client.post(refund_page(order), confirmed)

    assert reload(order).status == "refunded"
    assert sandbox_refunded(order) == Decimal("100.00")
    with tenant_scope(seller):
        assert Refund.objects.get().whole  # the Orders API's total refund
    assert REFUND not in client.get(order_page(order)).text
    left = client.get(refund_page(order), follow=True)  # by URL: sent back, with the reason
    assert left.redirect_chain[-1][0] == order_page(order)
    assert "Only a paid order can be refunded; this one is Refunded." in left.text


def _refused_as(typed: str) -> str:
    """What ``parse_typed_amount`` tells an es-AR person who typed ``typed``, in their words."""
    with translation.override("es-ar"), pytest.raises(AmountError) as refused:
        parse_typed_amount(typed, "es-AR", "ARS")
    return refused.value.message


@pytest.mark.parametrize("typed", ["1.50", "1,505", "0", "1500.50"])  # refused, never guessed
def test_an_amount_typed_unlike_the_sellers_locale_is_refused_on_the_form(
    client, seller, pos, typed
):
    order = big_paid_order(seller, pos, client)
    client.force_login(member(seller, Role.OWNER, language=""))

    response = client.post(refund_page(order), {"amount": typed})

    assert response.templates[0].name == "admin/orders/order/refund.html"
    assert response.context["form"].errors["amount"] == [_refused_as(typed)]
    assert refunds_of(order) == []


def test_an_amount_beyond_what_is_refundable_is_refused_on_the_form(client, seller, pos):
    order = paid_order(seller, pos, client, "v1")
    services.refund_order(tenant=seller, order=order, amount=Decimal("30.00"))
    client.force_login(member(seller, Role.OWNER))

    response = client.post(refund_page(order), {"amount": "70.01"})

    assert response.context["form"].errors["amount"] == ["At most ARS\xa070.00 can be refunded."]
    assert refunds_of(order) == [Decimal("30.00")]
    assert sandbox_refunded(order) == Decimal("30.00")


def test_a_confirmation_made_before_another_refund_refunds_nothing(client, seller, pos):
    order = paid_order(seller, pos, client, "v1")
    client.force_login(member(seller, Role.OWNER))
    stale = {"confirm": "yes", "amount": "30.00", "seen_refundable": "100.00"}
    services.refund_order(tenant=seller, order=order, amount=Decimal("50.00"))  # meanwhile

    response = client.post(refund_page(order), stale, follow=True)

    assert (
        "ARS\xa050.00 is refundable now, not ARS\xa0100.00. Nothing was refunded." in response.text
    )
    assert refunds_of(order) == [Decimal("50.00")]
    assert sandbox_refunded(order) == Decimal("50.00")


def test_a_tampered_confirmation_refunds_nothing(client, seller, pos):
    order = paid_order(seller, pos, client, "v1")
    client.force_login(member(seller, Role.OWNER))

    response = client.post(refund_page(order), {"confirm": "yes", "amount": "x"}, follow=True)

    assert response.redirect_chain[-1][0] == refund_page(order)
    assert refunds_of(order) == []


def test_a_cashier_may_not_refund(client, seller, pos):
    order = paid_order(seller, pos, client, "v1")
    client.force_login(member(seller, Role.CASHIER))

    confirmed = {"confirm": "yes", "amount": "1.00", "seen_refundable": "100.00"}
    assert client.post(refund_page(order), confirmed).status_code == 403
    assert sandbox_refunded(order) == 0


def test_an_unpaid_order_is_sent_back_to_its_page_with_the_reason(client, seller, pos):
    order = new_order(seller, pos)
    client.force_login(member(seller, Role.OWNER))

    response = client.post(refund_page(order), {"amount": "1.00"}, follow=True)

    assert response.redirect_chain[-1][0] == order_page(order)
    assert (
        "Only a paid order can be refunded; this one is Created (waiting for the buyer)."
        in response.text
    )


def test_platform_staff_cancel_and_refund_any_sellers_orders(client, seller, pos):
    open_order = new_order(seller, pos, reference="OPEN-1")
    paid = paid_order(seller, pos, client, "v1", reference="PAID-1")
    staff = make_user(is_staff=True, is_superuser=True, language="en")
    client.force_login(staff)

    assert "1 order canceled." in act(client, "cancel", open_order).text
    assert REFUND in client.get(order_page(paid)).text
    client.post(refund_page(paid), {"confirm": "yes", "amount": "", "seen_refundable": "100.00"})

    assert reload(open_order).status == "canceled"
    assert reload(paid).status == "refunded"
    assert sandbox_refunded(paid) == Decimal("100.00")


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_confirmation_submitted_twice_at_once_refunds_once(transactional_db):
    """Two browsers (or a double click that reached two workers) post the same confirmation at
    the same moment: the service takes one under the order's row lock, refuses the other."""
    seller = make_connected_tenant("Parrilla", site="MLA")
    order = paid_order(seller, synced_pos(seller), Client(), "v1")
    owner = member(seller, Role.OWNER)
    confirmed = {"confirm": "yes", "amount": "30.00", "seen_refundable": "100.00"}
    start = threading.Barrier(2, timeout=60)

    def submit() -> str:
        browser = Client()
        browser.force_login(owner)
        try:
            start.wait()
            return browser.post(refund_page(order), confirmed, follow=True).text
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        pages = list(pool.map(lambda _: submit(), range(2)))

    assert sum("Refund of ARS\xa030.00" in page for page in pages) == 1
    assert refunds_of(order) == [Decimal("30.00")]
    assert sandbox_refunded(order) == Decimal("30.00")


# Isolation --------------------------------------------------------------------------------------


def test_another_sellers_order_is_not_reachable_by_url(client, seller, pos):
    order = paid_order(seller, pos, client, "v1")
    other = make_connected_tenant("Padaria", site="MLB")
    client.force_login(member(other, Role.OWNER))

    for url in (order_page(order), refund_page(order)):
        theirs = client.get(url, follow=True)
        missing = client.get(url.replace(f"/{order.pk}/", "/999999/"), follow=True)
        assert "doesn\u2019t exist" in theirs.text
        assert theirs.redirect_chain == missing.redirect_chain
    client.post(refund_page(order), {"confirm": "yes", "amount": "", "seen_refundable": "100.00"})
    act(client, "cancel", order)
    assert sandbox_refunded(order) == 0
    assert reload(order).status == "processed"


# The list and the detail ------------------------------------------------------------------------


def test_filters_and_search_find_the_right_rows(client, seller):
    first, second = make_pos(seller), make_pos(seller)
    a = make_order(seller, first, external_reference="REF-A", status="created", mp_order_id="ORDX1")
    b = make_order(seller, second, external_reference="REF-B", status="canceled", mode="hybrid")
    c = make_order(seller, second, external_reference="REF-C", api="instore", status="created")
    elsewhere = make_pos(make_connected_tenant("Padaria", site="MLB"), name="Caja de Padaria")
    client.force_login(member(seller, Role.VIEWER))
    assert elsewhere.name not in client.get(ORDERS).text  # nor in the POS filter

    def shown(**query) -> set[str]:
        page = client.get(ORDERS, query).text
        return {o.external_reference for o in (a, b, c) if o.external_reference in page}

    assert shown() == {"REF-A", "REF-B", "REF-C"}
    assert shown(status__exact="created") == {"REF-A", "REF-C"}
    assert shown(pos__id__exact=second.pk) == {"REF-B", "REF-C"}
    assert shown(pos__store__id__exact=first.store_id) == {"REF-A"}
    assert shown(mode__exact="hybrid") == {"REF-B"}
    assert shown(api__exact="instore") == {"REF-C"}
    assert shown(q="REF-B") == {"REF-B"}
    assert shown(q="ORDX1") == {"REF-A"}
    today = a.created_at
    dated = {"created_at__year": today.year, "created_at__month": today.month}
    assert shown(**dated) == {"REF-A", "REF-B", "REF-C"}
    assert shown(created_at__year=today.year - 1) == set()
    page = client.get(ORDERS).text
    assert '<span class="order-status order-status-canceled">canceled</span>' in page
    assert "orders/order-admin.css" in page  # the badges' colours


def test_the_list_query_count_does_not_grow_with_the_orders(
    client, seller, django_assert_max_num_queries
):
    client.force_login(member(seller, Role.VIEWER))
    orders = [make_order(seller) for _ in range(5)]
    client.get(ORDERS)
    with CaptureQueriesContext(connection) as five:
        client.get(ORDERS)
    orders += [make_order(seller) for _ in range(45)]
    with django_assert_max_num_queries(len(five.captured_queries)):
        page = client.get(ORDERS).text
    assert all(order.external_reference in page for order in orders)


def test_the_order_page_shows_its_qr_preview(client, seller, pos):
    order = new_order(seller, pos)
    unsent = make_order(seller)
    client.force_login(member(seller, Role.VIEWER))

    qr_url = qr_links.image_url(order.scan_payload, qr.SVG)
    assert f'<img src="{qr_url}"' in client.get(order_page(order)).text
    assert client.get(qr_url).status_code == 200
    unsent_page = client.get(order_page(unsent)).text
    assert "/pos/qr/" not in unsent_page
