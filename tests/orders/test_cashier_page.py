"""The cashier page: create a QR order on a POS, watch it, cancel it; roles and tenants apply."""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from orders import services
from orders.models import Order, Status
from pos import qr, qr_links
from sandbox import models as sandbox_models
from tenants.models import Tenant
from tenants.scope import tenant_scope
from tests.factories import make_connected_tenant, make_member
from tests.orders.conftest import pay, synced_pos


def signed_in(tenant, role: str) -> Client:
    client = Client()
    client.force_login(make_member(tenant, role))
    return client


def create(client: Client, pos, **fields):
    values = {"pos": pos.pk, "amount": "85,00", "description": "Table 7"}
    return client.post("/cashier/", values | fields)


@pytest.mark.parametrize(("api", "mode"), [("v1", "dynamic"), ("instore", "hybrid")])
def test_a_cashier_creates_an_order_with_the_sellers_defaults_and_sees_its_qr(
    seller, pos, api, mode
):
    Tenant.objects.filter(pk=seller.pk).update(order_api=api, qr_mode=mode)
    cashier = signed_in(seller, "cashier")

    response = create(cashier, pos, api="instore" if api == "v1" else "v1", mode="static")

    with tenant_scope(seller):
        order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cashier/?order={order.uid}"
    assert (order.api, order.mode, order.status) == (api, mode, Status.CREATED)
    assert order.total_amount == Decimal("85.00")
    assert order.qr_data
    page = cashier.get(response["Location"])
    assert qr_links.image_url(order.qr_data, qr.SVG).encode() in page.content
    assert f"/display/{pos.display_token}/".encode() in page.content
    assert f'<code id="order-qr-text">{order.qr_data}</code>'.encode() in page.content
    assert sandbox_models.Order.objects.count() == 1


def test_the_page_watches_the_order_turn_paid(seller, pos, client):
    cashier = signed_in(seller, "cashier")
    create(cashier, pos)
    with tenant_scope(seller):
        order = Order.objects.get()
    status_url = f"/cashier/orders/{order.uid}/status.json"
    assert cashier.get(status_url).json()["status"] == "created"

    pay(client, order)
    services.refresh_order(tenant=seller, order=order)

    assert cashier.get(status_url).json() == {
        "status": "processed",
        "status_display": "Procesado (pagado)",  # in the cashier's language: the seller's
    }


def test_a_cashier_cancels_the_order(seller, pos):
    cashier = signed_in(seller, "cashier")
    create(cashier, pos)
    with tenant_scope(seller):
        order = Order.objects.get()

    unconfirmed = cashier.post(f"/cashier/orders/{order.uid}/cancel")

    assert unconfirmed["Location"] == f"/cashier/?order={order.uid}&cancel=ask"
    with tenant_scope(seller):
        assert Order.objects.get().status == Status.CREATED  # nothing happens unconfirmed
    asking = cashier.get(unconfirmed["Location"]).content.decode()
    assert '<dialog id="cancel-dialog"' in asking
    assert 'aria-describedby="cancel-dialog-text" open>' in asking
    assert 'name="confirm" value="yes"' in asking

    response = cashier.post(f"/cashier/orders/{order.uid}/cancel", {"confirm": "yes"})

    assert response.status_code == 302
    with tenant_scope(seller):
        assert Order.objects.get().status == Status.CANCELED


def test_an_invalid_amount_is_shown_on_the_form_and_nothing_is_created(seller, pos):
    response = create(signed_in(seller, "cashier"), pos, amount="0")

    assert response.status_code == 200
    with translation.override("es-ar"):  # the seller's language
        assert escape(gettext("Type an amount more than 0.")) in response.content.decode()
    with tenant_scope(seller):
        assert not Order.objects.exists()


def test_a_viewer_may_not_use_the_cashier_page(seller, pos):
    viewer = signed_in(seller, "viewer")

    assert viewer.get("/cashier/").status_code == 403
    assert create(viewer, pos).status_code == 403


def test_another_sellers_pos_and_orders_are_out_of_reach(seller, pos):
    other = make_connected_tenant("Padaria", site="MLB")
    other_pos = synced_pos(other, external_id="CAIXA1")
    other_cashier = signed_in(other, "cashier")
    create(signed_in(seller, "cashier"), pos)
    with tenant_scope(seller):
        order = Order.objects.get()

    choices = other_cashier.get("/cashier/").content.decode()
    assert f'<option value="{other_pos.pk}"' in choices
    assert f'<option value="{pos.pk}"' not in choices
    assert create(other_cashier, pos).status_code == 200  # not a choice: the form refuses it
    assert other_cashier.get(f"/cashier/?order={order.uid}").status_code == 404
    assert other_cashier.get(f"/cashier/orders/{order.uid}/status.json").status_code == 404
    cancel = other_cashier.post(f"/cashier/orders/{order.uid}/cancel", {"confirm": "yes"})
    assert cancel.status_code == 404
    with tenant_scope(seller):
        assert Order.objects.get().status == Status.CREATED


def test_a_seller_with_one_point_of_sale_finds_it_chosen(seller, pos):
    form = signed_in(seller, "cashier").get("/cashier/").context["form"]

    assert form["pos"].value() == pos.pk
