"""Issue 17: a POS has one order in front of the buyer. On the cashier page a second order on a
POS with an open one asks to replace it; only on confirmation is the open one canceled in Mercado
Pago (the sandbox) and the new one created. ``create_order(replace_open=True)`` does the same for
any caller; without it (the partner API) orders are created side by side as before."""

import json
from decimal import Decimal

import pytest
from django.test import Client

from orders import services
from orders.errors import NotAllowed
from orders.models import Order, Status
from sandbox import models as sandbox_models
from tenants.scope import tenant_scope
from tests.factories import make_member
from tests.orders.conftest import new_order, pay, reload

pytestmark = pytest.mark.django_db


def signed_in(tenant) -> Client:
    client = Client()
    cashier = make_member(tenant, "cashier")
    cashier.language = "en"  # the page's words and amounts in English
    cashier.save(update_fields=["language"])
    client.force_login(cashier)
    return client


def create(client: Client, pos, amount: str, description: str, **extra):
    fields = {"pos": pos.pk, "amount": amount, "description": description}
    return client.post("/cashier/", fields | extra)


def orders(seller) -> list[Order]:
    with tenant_scope(seller):
        return list(Order.objects.order_by("pk"))


def sandbox_status(order: Order) -> str:
    return sandbox_models.Order.objects.get(order_id=order.mp_order_id).status


def test_a_second_order_on_a_busy_pos_asks_first_and_replaces_only_when_confirmed(
    seller, pos, client
):
    cashier = signed_in(seller)
    assert create(cashier, pos, "85", "Mesa 7").status_code == 302
    [first] = orders(seller)

    asked = create(cashier, pos, "120", "Mesa 9")

    assert asked.status_code == 200
    assert orders(seller) == [first]  # nothing created
    assert sandbox_models.Order.objects.count() == 1
    page = asked.content.decode()
    assert f'data-uid="{first.uid}"' in page
    assert "ARS\xa085.00 · “Mesa 7”, created 0\xa0minutes ago" in page  # amount, title, age
    assert f'name="replace" value="{first.uid}"' in page
    assert f'href="/cashier/?order={first.uid}" id="replace-open-keep"' in page
    assert 'value="Mesa 9"' in page  # the new order's input is kept for the confirmation
    assert reload(first).status == Status.CREATED

    replaced = create(cashier, pos, "120", "Mesa 9", replace=str(first.uid))

    first_now, second = orders(seller)
    assert replaced.status_code == 302
    assert replaced["Location"] == f"/cashier/?order={second.uid}"
    assert (first_now.status, sandbox_status(first)) == ("canceled", "canceled")
    assert (second.status, sandbox_status(second)) == ("created", "created")
    assert (second.title, second.total_amount) == ("Mesa 9", Decimal("120"))
    refused = client.post(
        "/sandbox/wallet/pay",
        json.dumps({"qr_data": first.qr_data}),
        content_type="application/json",
    )
    assert refused.status_code != 200  # the replaced order's QR no longer takes a payment


def test_a_confirmation_for_another_order_asks_again(seller, pos):
    cashier = signed_in(seller)
    create(cashier, pos, "85", "Mesa 7")
    [first] = orders(seller)
    services.cancel_order(tenant=seller, order=first)
    create(cashier, pos, "90", "Mesa 8")
    [_, open_one] = orders(seller)

    response = create(cashier, pos, "120", "Mesa 9", replace=str(first.uid))

    assert response.status_code == 200
    assert f'name="replace" value="{open_one.uid}"' in response.content.decode()
    assert len(orders(seller)) == 2


def test_a_pos_whose_order_closed_needs_no_confirmation(seller, pos, client):
    cashier = signed_in(seller)
    create(cashier, pos, "85", "Mesa 7")
    [first] = orders(seller)
    pay(client, first)
    services.refresh_order(tenant=seller, order=first)

    assert create(cashier, pos, "120", "Mesa 9").status_code == 302
    assert [order.status for order in orders(seller)] == ["processed", "created"]


def test_the_service_replaces_only_when_asked(seller, pos, client):
    first = new_order(seller, pos, reference="A")
    second = new_order(seller, pos, reference="B")  # the partner API's behaviour is unchanged
    assert [reload(first).status, reload(second).status] == ["created", "created"]
    with tenant_scope(seller):
        assert services.open_order_on(pos) == second

    third = services.create_order(
        tenant=seller, pos=pos, api="v1", mode="dynamic", external_reference="C",
        title="Asado", total_amount=Decimal("10"), replace_open=True,
    )  # fmt: skip

    assert [reload(o).status for o in (first, second, third)] == ["canceled", "canceled", "created"]
    pay(client, third)  # the buyer pays before its notification arrives
    with pytest.raises(NotAllowed, match=r"Processed \(paid\)"):
        services.create_order(
            tenant=seller, pos=pos, api="v1", mode="dynamic", external_reference="D",
            title="Asado", total_amount=Decimal("10"), replace_open=True,
        )  # fmt: skip
    assert [order.external_reference for order in orders(seller)] == ["A", "B", "C"]
    assert reload(third).status == "processed"
