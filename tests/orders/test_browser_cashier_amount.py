"""Issue 17's "decimal comma x100" in a real browser (Debian's headless Chromium): a cashier of an
Argentine seller types amounts as Argentines write them, sees each one large and formatted before
creating the order, and an entry that could mean two amounts is refused and creates nothing."""

from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import gettext

from orders.models import Order
from pos import services as pos_services
from tenants.scope import tenant_scope
from tests.browser import chromium  # noqa: F401 (fixture)
from tests.factories import make_connected_tenant, make_member
from tests.orders.conftest import synced_pos

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def orders_of(seller) -> list[Decimal]:
    with tenant_scope(seller):
        return list(Order.objects.order_by("pk").values_list("total_amount", flat=True))


def test_an_argentine_cashier_types_a_decimal_comma(chromium, live_server):  # noqa: F811
    seller = make_connected_tenant("Parrilla", site="MLA")
    first = synced_pos(seller)
    with tenant_scope(seller):
        second = pos_services.create_pos(
            tenant=seller, store=first.store, name="Caja 2", external_id="CAJA2"
        )
    make_member(seller, "cashier", "amount-cashier")
    viewport = {"width": 1280, "height": 900}
    context = chromium.new_context(base_url=live_server.url, viewport=viewport)
    page = context.new_page()
    page.goto("/admin/login/?next=/cashier/")
    page.fill("#id_username", "amount-cashier")
    page.fill("#id_password", "test-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/cashier/")
    preview = page.locator("#amount-preview")

    def charge(pos, typed: str) -> None:
        page.select_option("#id_pos", str(pos.pk))
        page.fill("#id_description", "Mesa 7")
        page.fill("#id_amount", "")
        page.type("#id_amount", typed)  # key by key, as a cashier types

    assert page.get_attribute("#id_amount", "inputmode") == "decimal"
    charge(first, "1500,50")
    assert preview.inner_text() == "ARS\xa01.500,50"  # shown large before the order exists
    page.click("#cashier-form input[type=submit]")
    page.wait_for_url("**/cashier/?order=*")
    assert orders_of(seller) == [Decimal("1500.50")]
    assert page.locator("#order-amount").inner_text() == "ARS\xa01.500,50"

    charge(second, "1.500,50")
    assert preview.inner_text() == "ARS\xa01.500,50"
    page.click("#cashier-form input[type=submit]")
    page.wait_for_url("**/cashier/?order=*")
    assert orders_of(seller) == [Decimal("1500.50"), Decimal("1500.50")]

    charge(first, "1,505")  # 1.505 with three decimals in Argentina: not guessed
    assert preview.inner_text() == preview.get_attribute("data-invalid")  # in the seller's words
    assert preview.inner_text().endswith("1.500,50")
    page.set_viewport_size({"width": 390, "height": 844})
    page.click("#cashier-form input[type=submit]")
    page.wait_for_load_state()
    with translation.override("es-ar"):  # the seller's language
        too_many = gettext(
            "%(currency)s amounts have at most %(places)d decimals, like %(example)s."
        )
    assert too_many % {"currency": "ARS", "places": 2, "example": "1.500,50"} in page.inner_text(
        ".errorlist"
    )
    assert orders_of(seller) == [Decimal("1500.50"), Decimal("1500.50")]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
