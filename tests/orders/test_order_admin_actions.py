"""The order admin's list (badges, filters, search, constant query count), QR preview and
actions (cancel, refresh from Mercado Pago, refund with a form), each following the role."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Refund
from sandbox import models as mercadopago
from tenants.roles import Role
from tenants.scope import tenant_scope
from tests.factories import make_connected_tenant, make_member, make_order, make_pos, make_user
from tests.orders.conftest import pay, reload
from tests.orders.test_refunds import paid_order
from tests.orders.test_webhooks import new_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

ORDERS = reverse("admin:orders_order_changelist")


def order_page(order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def refund_page(order) -> str:
    return reverse("admin:orders_order_refund", args=[order.pk])


def act(client, action: str, *orders):
    data = {"action": action, "_selected_action": [order.pk for order in orders]}
    return client.post(ORDERS, data, follow=True)


def sandbox_refunded(order) -> Decimal:
    """What the sandbox (Mercado Pago) has refunded of ``order``'s (v1) payment."""
    with tenant_scope(order.tenant):
        mp_payment_id = order.payments.get().mp_payment_id
    return mercadopago.Payment.objects.get(transaction_id=mp_payment_id).refunded_amount


# Cancel -----------------------------------------------------------------------------------------


def test_a_cashier_cancels_an_order_from_its_page(client, seller, pos):
    order = new_order(seller, pos)
    client.force_login(make_member(seller, Role.CASHIER))

    page = client.get(order_page(order)).text
    assert 'value="cancel"' in page
    assert refund_page(order) not in page  # refunds need an owner or manager
    response = act(client, "cancel", order)

    assert "1 order(s) canceled" in response.text
    assert reload(order).status == "canceled"


def test_a_viewer_is_not_offered_cancel_and_cannot_post_it(client, seller, pos):
    order = new_order(seller, pos)
    client.force_login(make_member(seller, Role.VIEWER))

    assert 'value="cancel"' not in client.get(ORDERS).text
    assert 'value="cancel"' not in client.get(order_page(order)).text
    act(client, "cancel", order)
    assert reload(order).status == "created"
    assert client.get(refund_page(order)).status_code == 403


def test_canceling_a_paid_order_shows_the_services_error(client, seller, pos):
    order = paid_order(seller, pos, client, "v1")
    client.force_login(make_member(seller, Role.CASHIER))

    response = act(client, "cancel", order)

    assert response.status_code == 200
    assert "Only an order waiting for payment can be canceled" in response.text
    assert reload(order).status == "processed"


# Refresh ----------------------------------------------------------------------------------------


def test_refresh_picks_up_a_payment_made_in_mercado_pago(client, seller, pos):
    order = new_order(seller, pos)
    pay(client, order)
    assert reload(order).status == "created"  # no webhook reached the platform
    client.force_login(make_member(seller, Role.VIEWER))

    response = act(client, "refresh", order)

    assert "1 order(s) refreshed" in response.text
    assert reload(order).status == "processed"


# Refund -----------------------------------------------------------------------------------------


def test_an_owner_refunds_part_then_the_rest_through_the_form(client, seller, pos):
    order = paid_order(seller, pos, client, "v1")
    client.force_login(make_member(seller, Role.OWNER))
    assert refund_page(order) in client.get(order_page(order)).text
    assert "refundable now" in client.get(refund_page(order)).text

    response = client.post(refund_page(order), {"amount": "30.00"}, follow=True)
    assert "Refund of 30.00 ARS: Processed." in response.text
    assert reload(order).status == "processed"
    assert sandbox_refunded(order) == Decimal("30.00")

    response = client.post(refund_page(order), {"amount": ""}, follow=True)  # the rest
    assert "Refund of 70.00 ARS: Processed." in response.text
    assert reload(order).status == "refunded"
    assert sandbox_refunded(order) == Decimal("100.00")
    with tenant_scope(seller):
        assert sorted(Refund.objects.values_list("amount", flat=True)) == [30, 70]


def test_a_refund_beyond_what_is_left_shows_the_error_and_changes_nothing(client, seller, pos):
    order = paid_order(seller, pos, client, "v1")
    client.force_login(make_member(seller, Role.MANAGER))

    response = client.post(refund_page(order), {"amount": "100.01"})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert "errorlist" in response.text
    assert reload(order).status == "processed"
    assert sandbox_refunded(order) == 0
    with tenant_scope(seller):
        assert not Refund.objects.exists()


def test_refunding_an_unpaid_order_is_a_form_error_not_a_500(client, seller, pos):
    order = new_order(seller, pos)
    client.force_login(make_member(seller, Role.OWNER))

    response = client.post(refund_page(order), {"amount": "1.00"})

    assert response.status_code == 200
    assert "Only a paid order can be refunded" in response.text


def test_a_cashier_may_not_refund(client, seller, pos):
    order = paid_order(seller, pos, client, "v1")
    client.force_login(make_member(seller, Role.CASHIER))

    assert client.post(refund_page(order), {"amount": "1.00"}).status_code == 403
    assert sandbox_refunded(order) == 0


def test_platform_staff_cancel_and_refund_any_sellers_orders(client, seller, pos):
    open_order = new_order(seller, pos, reference="OPEN-1")
    paid = paid_order(seller, pos, client, "v1", reference="PAID-1")
    client.force_login(make_user(is_staff=True, is_superuser=True))

    assert "1 order(s) canceled" in act(client, "cancel", open_order).text
    client.post(refund_page(paid), {"amount": "100.00"})

    assert reload(open_order).status == "canceled"
    assert reload(paid).status == "refunded"
    assert sandbox_refunded(paid) == Decimal("100.00")


# Isolation --------------------------------------------------------------------------------------


def test_another_sellers_order_is_not_reachable_by_url(client, seller, pos):
    order = paid_order(seller, pos, client, "v1")
    other = make_connected_tenant("Padaria", site="MLB")
    client.force_login(make_member(other, Role.OWNER))

    for url in (order_page(order), refund_page(order)):
        theirs = client.get(url, follow=True)
        missing = client.get(url.replace(f"/{order.pk}/", "/999999/"), follow=True)
        assert "doesn\u2019t exist" in theirs.text
        assert theirs.redirect_chain == missing.redirect_chain
    client.post(refund_page(order), {"amount": "1.00"})
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
    client.force_login(make_member(seller, Role.VIEWER))
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
    assert ">canceled</span>" in page  # the status badges
    assert "border-radius" in page


def test_the_list_query_count_does_not_grow_with_the_orders(
    client, seller, django_assert_max_num_queries
):
    client.force_login(make_member(seller, Role.VIEWER))
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
    client.force_login(make_member(seller, Role.VIEWER))

    qr_url = reverse("orders:qr-svg", args=[order.pk])
    assert f'<img src="{qr_url}"' in client.get(order_page(order)).text
    assert client.get(qr_url).status_code == 200
    unsent_page = client.get(order_page(unsent)).text
    assert reverse("orders:qr-svg", args=[unsent.pk]) not in unsent_page
