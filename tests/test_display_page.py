"""The customer-facing display page of a POS (/display/<token>/) and its state.json."""

import html
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation

from orders import services
from orders.models import Order, OrderItem
from orders.validation import ItemInput
from pos import qr
from pos.models import PointOfSale
from pos.services import rotate_display_token
from tenants.scope import tenant_scope
from tests.browser import chromium  # noqa: F401 (fixture)
from tests.factories import make_connected_tenant, make_member, make_order, make_pos, make_tenant
from tests.orders.conftest import pay, synced_pos

pytestmark = pytest.mark.django_db

ITEMS = [ItemInput("Bife de chorizo", Decimal("600.50"), 2), ItemInput("Agua", Decimal("50.00"))]
QR_OPTIONS = qr.ImageOptions(size=10, border=4, ec="M")
TIMES = "\N{MULTIPLICATION SIGN}"


@pytest.fixture
def seller():
    """An Argentinian seller connected to the sandbox."""
    return make_connected_tenant("Parrilla", site="MLA")


@pytest.fixture
def pos(seller):
    return synced_pos(seller)


def page(client, pos: PointOfSale):
    return client.get(reverse("display:page", args=[pos.display_token]))


def state(client, pos: PointOfSale) -> dict:
    response = client.get(reverse("display:state", args=[pos.display_token]))
    assert response.status_code == 200
    return response.json()


def text(response) -> str:
    return html.unescape(response.content.decode())


def translated(tenant, message: str) -> str:
    """``message`` in the language of ``tenant``'s display."""
    with translation.override(tenant.site_info.language):
        return translation.gettext(message)


def test_a_pos_without_orders_shows_the_idle_screen_in_the_sellers_language(client, tenant_a):
    pos = make_pos(tenant_a)

    response = page(client, pos)

    assert response.status_code == 200
    assert "Listo para la próxima compra" in text(response)
    assert '<html lang="es' in text(response)
    assert 'id="qr"' not in text(response)
    assert response["Cache-Control"] == "no-store"
    assert response["X-Robots-Tag"] == "noindex"
    assert state(client, pos) == {"state": "idle"}


def test_a_brazilian_seller_gets_the_page_in_portuguese(client, tenant_b):
    pos = make_pos(tenant_b)
    order = make_order(tenant_b, pos, status="created", qr_data="000201BR", title="Café")

    body = text(page(client, pos))

    assert '<html lang="pt-br">' in body
    assert translated(tenant_b, "Pay with Mercado Pago") in body
    assert "Pronto para a próxima compra" not in body
    assert "BRL\xa0100,00" in body
    assert order.title in body


def test_an_open_order_shows_amount_items_countdown_and_its_qr_inline(client, seller, pos):
    order = services.create_order(
        tenant=seller, pos=pos, api="v1", mode="dynamic", external_reference="mesa-4",
        title="Mesa 4", items=ITEMS,
    )  # fmt: skip
    assert order.status == "created"
    assert order.qr_data

    response = page(client, pos)
    body = text(response)

    assert "ARS\xa01.251,00" in body
    assert f"2 {TIMES} Bife de chorizo" in body
    assert "ARS\xa01.201,00" in body
    assert f"1 {TIMES} Agua" in body
    assert translated(seller, "Open the Mercado Pago app") in body
    assert 'id="countdown"' in body
    svg = qr.render(order.scan_payload, qr.SVG, QR_OPTIONS).decode()
    assert svg in response.content.decode()
    assert state(client, pos)["order"] == {
        "uid": str(order.uid),
        "total_amount": "1251.00",
        "currency": "ARS",
        "title": "Mesa 4",
        "items": [
            {
                "title": "Bife de chorizo",
                "quantity": 2,
                "unit_price": "600.50",
                "total_amount": "1201.00",
            },
            {"title": "Agua", "quantity": 1, "unit_price": "50.00", "total_amount": "50.00"},
        ],
        "expires_at": order.expires_at.isoformat(),
        "status": "created",
    }


def test_the_state_turns_paid_once_the_order_is_paid_then_idle(client, seller, pos):
    order = services.create_order(
        tenant=seller, pos=pos, api="v1", mode="dynamic", external_reference="mesa-5",
        title="Mesa 5", items=ITEMS,
    )  # fmt: skip
    assert state(client, pos)["state"] == "open"

    pay(client, order)
    order = services.refresh_order(tenant=seller, order=order)

    assert order.status == "processed"
    paid = state(client, pos)
    assert (paid["state"], paid["order"]["uid"], paid["order"]["status"]) == (
        "paid",
        str(order.uid),
        "processed",
    )
    body = text(page(client, pos))
    assert "Pagado" in body
    assert 'id="qr"' not in body
    with time_machine.travel(order.closed_at + timedelta(seconds=31)):
        assert state(client, pos) == {"state": "idle"}


@pytest.mark.parametrize("status", ["expired", "canceled"])
def test_a_closed_order_stays_shown_for_a_while(client, tenant_a, status):
    pos = make_pos(tenant_a)
    order = make_order(tenant_a, pos, status=status, closed_at=timezone.now())

    shown = state(client, pos)

    assert (shown["state"], shown["order"]["uid"]) == (status, str(order.uid))
    label = {"expired": "Vencido", "canceled": "Cancelado"}[status]
    assert f'id="{status}">{label}<' in page(client, pos).content.decode()
    with time_machine.travel(order.closed_at + timedelta(seconds=31)):
        assert state(client, pos) == {"state": "idle"}


def test_the_newest_open_order_is_shown(client, tenant_a):
    pos = make_pos(tenant_a)
    make_order(tenant_a, pos, status="processed", closed_at=timezone.now(), title="Paid")
    make_order(tenant_a, pos, status="created", title="Older")
    newest = make_order(tenant_a, pos, status="pending", title="Newest")

    assert state(client, pos)["order"]["uid"] == str(newest.uid)
    assert "Newest" in text(page(client, pos))


def test_an_unknown_token_is_404(client, tenant_a):
    make_pos(tenant_a)

    assert client.get("/display/not-a-token/").status_code == 404
    assert client.get("/display/not-a-token/state.json").status_code == 404


def test_rotating_the_token_retires_the_old_link(client, tenant_a):
    pos = make_pos(tenant_a)
    old = pos.display_token

    rotate_display_token(tenant=tenant_a, pos=pos)

    assert pos.display_token != old
    assert client.get(f"/display/{old}/").status_code == 404
    assert client.get(f"/display/{old}/state.json").status_code == 404
    assert page(client, pos).status_code == 200


def test_each_pos_gets_its_own_token(tenant_a):
    first, second = make_pos(tenant_a), make_pos(tenant_a)

    assert len(first.display_token) >= 43
    assert first.display_token != second.display_token


def test_a_display_never_shows_another_pos_or_tenant(client, tenant_a):
    other_tenant = make_tenant("Seller C", site="MLA")
    pos_a, other_pos_a = make_pos(tenant_a), make_pos(tenant_a)
    make_order(tenant_a, other_pos_a, status="created", title="Other POS order")
    order_c = make_order(other_tenant, status="created", title="Other seller order")
    with tenant_scope(other_tenant):
        OrderItem.objects.create(
            tenant=other_tenant, order=order_c, position=0, title="Secret item",
            unit_price=Decimal("100.00"), quantity=1,
        )  # fmt: skip

    body = text(page(client, pos_a))

    assert state(client, pos_a) == {"state": "idle"}
    assert "Other POS order" not in body
    assert "Other seller order" not in body
    assert "Secret item" not in body


def test_the_admin_shows_the_link_and_rotates_it(client, tenant_a):
    pos = make_pos(tenant_a)
    manager = make_member(tenant_a, "manager", language="en")
    viewer = make_member(tenant_a, "viewer")
    old_url = reverse("display:page", args=[pos.display_token])
    changelist = reverse("admin:pos_pointofsale_changelist")
    rotate = {"action": "rotate_display_link", "_selected_action": [pos.pk]}

    client.force_login(viewer)
    client.post(changelist, rotate)
    with tenant_scope(tenant_a):
        assert PointOfSale.objects.get(pk=pos.pk).display_token == pos.display_token

    client.force_login(manager)
    change_page = client.get(reverse("admin:pos_pointofsale_change", args=[pos.pk]))
    assert f'href="{old_url}"' in change_page.content.decode()
    response = client.post(changelist, rotate, follow=True)

    assert "1 display links rotated" in response.content.decode()
    with tenant_scope(tenant_a):
        rotated = PointOfSale.objects.get(pk=pos.pk)
    assert rotated.display_token != pos.display_token
    client.logout()
    assert client.get(old_url).status_code == 404
    assert page(client, rotated).status_code == 200


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_page_turns_expired_without_a_reload(chromium, live_server):  # noqa: F811
    tenant = make_tenant("Kiosco", site="MLA")
    pos = make_pos(tenant)
    order = make_order(
        tenant, pos, status="created", qr_data="00020101021243650016COM.MERCADOLIBRE"
    )
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 800, "height": 1280}
    )
    page = context.new_page()
    page.goto(reverse("display:page", args=[pos.display_token]))
    page.wait_for_selector("#qr svg")
    page.evaluate("window.notReloaded = true")

    with tenant_scope(tenant):
        Order.objects.filter(pk=order.pk).update(status="expired", closed_at=timezone.now())

    page.wait_for_selector("#expired:not([hidden])", timeout=5000)
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#qr").count() == 0
    context.close()
