"""Issue 17: the customer display in headless Chromium, as the buyer and the shop see it: open,
paid and idle at a landscape tablet's and a phone's size without horizontal scrolling and with
no serious accessibility violation (axe-core), the state announced, the next order swapped in
without a reload (so full screen stays), and full screen offered only where the browser has it.
"""

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from orders.models import Order
from tenants.scope import tenant_scope
from tests.browser import (
    chromium,  # noqa: F401 (fixture)
    fits_its_width,
    serious_violations,
)
from tests.factories import make_order, make_pos, make_tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QR_DATA = "00020101021243650016COM.MERCADOLIBRE0201306361234"
LANDSCAPE, PORTRAIT = {"width": 1280, "height": 800}, {"width": 390, "height": 844}


def assert_fits_and_is_accessible(page) -> None:
    assert fits_its_width(page)
    assert serious_violations(page) == []


def set_status(order: Order, status: str) -> None:
    with tenant_scope(order.tenant):
        Order.objects.filter(pk=order.pk).update(status=status, closed_at=timezone.now())


def open_display(chromium, live_server, pos, viewport):  # noqa: F811
    context = chromium.new_context(base_url=live_server.url, viewport=viewport)
    page = context.new_page()
    page.goto(reverse("display:page", args=[pos.display_token]))
    page.evaluate("window.notReloaded = true")
    return page


@pytest.mark.parametrize("viewport", [LANDSCAPE, PORTRAIT], ids=["1280x800", "390x844"])
def test_open_paid_and_idle_fit_the_screen_and_pass_axe(
    chromium,  # noqa: F811
    live_server,
    settings,
    viewport,
):
    tenant = make_tenant("Parrilla del Puerto", site="MLA")
    pos = make_pos(tenant)
    order = make_order(tenant, pos, status="created", qr_data=QR_DATA, title="Mesa 4")
    page = open_display(chromium, live_server, pos, viewport)

    page.locator("#qr svg").wait_for()
    assert page.locator("#qr").get_attribute("role") == "img"
    assert "ARS\xa0100,00" in page.locator("#qr").get_attribute("aria-label")
    page.wait_for_function("document.getElementById('countdown').textContent.includes(':')")
    assert_fits_and_is_accessible(page)

    set_status(order, "processed")
    page.locator("#paid").wait_for(state="visible")
    assert page.locator("#qr").count() == 0
    assert_fits_and_is_accessible(page)

    settings.DISPLAY_FINAL_STATE_SECONDS = 0
    page.locator("main[data-state=idle]").wait_for()
    page.wait_for_function("document.getElementById('clock').textContent.includes(':')")
    assert_fits_and_is_accessible(page)
    assert page.evaluate("window.notReloaded") is True
    page.context.close()


def test_the_state_is_announced_and_the_next_order_keeps_full_screen(
    chromium,  # noqa: F811
    live_server,
):
    tenant = make_tenant("Kiosco", site="MLA")
    pos = make_pos(tenant)
    page = open_display(chromium, live_server, pos, LANDSCAPE)
    button = page.locator("#fullscreen")

    button.click()
    page.wait_for_function("document.fullscreenElement !== null")
    assert button.is_hidden()

    order = make_order(tenant, pos, status="created", qr_data=QR_DATA)
    page.locator("#qr svg").wait_for()
    announcement = page.locator("#announcement")
    assert announcement.get_attribute("role") == "status"
    assert "ARS\xa0100,00" in announcement.inner_text()

    set_status(order, "processed")
    page.locator("#paid").wait_for(state="visible")
    with translation.override(tenant.site_info.language):
        paid = translation.gettext("Paid")
    assert announcement.inner_text().startswith(f"{paid}. ARS\xa0100,00")
    assert page.evaluate("window.notReloaded") is True
    assert page.evaluate("document.fullscreenElement !== null")
    page.context.close()


def test_no_full_screen_button_where_the_browser_has_no_full_screen(
    chromium,  # noqa: F811
    live_server,
):
    pos = make_pos(make_tenant("Kiosco", site="MLA"))
    context = chromium.new_context(base_url=live_server.url, viewport=PORTRAIT)
    context.add_init_script(
        "Object.defineProperty(Document.prototype, 'fullscreenEnabled', {get: () => false})"
    )
    page = context.new_page()
    page.goto(reverse("display:page", args=[pos.display_token]))
    page.wait_for_function("document.getElementById('clock').textContent.includes(':')")

    assert page.locator("#fullscreen").is_hidden()
    assert page.evaluate("getComputedStyle(document.body).userSelect") == "none"
    context.close()
