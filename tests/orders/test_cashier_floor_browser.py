"""Issue 17's cashier page in a real browser (Debian's headless Chromium): a cashier signs in and
lands on it, charges at 390 px without horizontal scrolling, hears the payment (if the sound is
on), sees the state fill the screen with the status announced, prints the receipt, signs out;
cancelling asks first. axe-core finds no serious violation on the page or the receipt."""

import pytest

from orders import services
from orders.models import Order, Status
from tenants.scope import tenant_scope
from tests.browser import (
    chromium,  # noqa: F401 (fixture)
    fits_its_width,
    serious_violations,
)
from tests.factories import make_connected_tenant, make_member
from tests.orders.conftest import pay, reload, synced_pos

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Counts the tones the page starts, without sound: Web Audio is the browser's, not the page's.
COUNT_TONES = """
window.tones = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.tones += 1;
  return start.apply(this, args);
};
"""


def sign_in(chromium, live_server, username: str, width: int = 390):  # noqa: F811
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 844}
    )
    context.add_init_script(COUNT_TONES)
    page = context.new_page()
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "test-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/cashier/")  # not the admin's index
    return context, page


def charge(page, amount: str, description: str) -> None:
    page.fill("#id_amount", amount)
    page.fill("#id_description", description)
    page.click("#cashier-form input[type=submit]")
    page.wait_for_url("**/cashier/?order=*")


def amounts_on_one_line(page) -> bool:
    """Whether each amount of the day's list is on one line ("ARS 1.50" over "0,50" would read
    as other amounts)."""
    return page.locator("#day-orders td.cashier-number").evaluate_all(
        """cells => cells.length > 0 && cells.every(cell => {
            const range = document.createRange();
            range.selectNodeContents(cell);
            const tops = [...range.getClientRects()].map(rect => Math.round(rect.top));
            return new Set(tops).size === 1;
        })"""
    )


def test_a_cashier_charges_hears_the_payment_prints_and_signs_out(
    chromium,  # noqa: F811
    live_server,
    client,
):
    seller = make_connected_tenant("Parrilla", site="MLA")
    synced_pos(seller)
    make_member(seller, "cashier", "floor-cashier")
    context, page = sign_in(chromium, live_server, "floor-cashier")
    assert page.locator("#logout-form button").is_visible()  # the admin's header signs out
    page.check("#cashier-sound")
    page.reload()
    assert page.is_checked("#cashier-sound")  # remembered in this browser

    charge(page, "1.500,50", "Mesa 7")
    with tenant_scope(seller):
        order = Order.objects.get()
    assert page.locator("#order-qr").is_visible()
    assert fits_its_width(page)
    assert amounts_on_one_line(page)
    assert page.locator("#logout-form button").is_visible()
    assert serious_violations(page) == []
    announced = page.locator("[aria-live] #order-status")
    before = announced.inner_text()

    pay(client, order)
    services.refresh_order(tenant=seller, order=order)

    page.locator("#order-final[data-state=paid]").wait_for(state="visible", timeout=15_000)
    assert not page.locator("#order-qr").is_visible()
    assert reload(order).status == "processed"
    assert announced.inner_text() == "Procesado (pagado)" != before  # in the seller's Spanish
    assert page.evaluate("window.tones") == 2  # the two notes of the chime
    assert fits_its_width(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    assert serious_violations(page) == []

    page.click("#print-receipt")
    page.wait_for_url(f"**/cashier/orders/{order.uid}/receipt/")
    assert page.inner_text("#receipt-amount") == "ARS\xa01.500,50"
    assert serious_violations(page) == []
    page.click("a[href='?width=80']")
    assert page.locator("#receipt").get_attribute("data-width") == "80"

    page.goto("/cashier/")
    page.click("#logout-form button")
    page.wait_for_load_state()
    page.goto("/cashier/")
    assert "/admin/login/" in page.url  # signed out
    context.close()


def test_cancelling_asks_first_and_keeping_the_order_keeps_it(chromium, live_server):  # noqa: F811
    seller = make_connected_tenant("Parrilla", site="MLA")
    synced_pos(seller)
    make_member(seller, "cashier", "cancel-cashier")
    context, page = sign_in(chromium, live_server, "cancel-cashier")
    charge(page, "85", "Mesa 9")
    with tenant_scope(seller):
        order = Order.objects.get()
    dialog = page.locator("#cancel-dialog")

    page.click("#cancel-ask")
    assert dialog.is_visible()
    assert page.evaluate("document.activeElement.id") == "cancel-keep"
    page.click("#cancel-keep")

    assert not dialog.is_visible()
    assert reload(order).status == Status.CREATED
    page.click("#cancel-ask")
    page.click("#cancel-confirm")
    page.locator("#order-final[data-state=canceled]").wait_for(state="visible")
    assert reload(order).status == Status.CANCELED
    assert not page.locator("#order-qr").is_visible()
    context.close()
