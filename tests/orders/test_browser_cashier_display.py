"""Issue 7's flow in a real browser (Debian's headless Chromium): a cashier creates an order on
the cashier page, the customer display shows its QR, an independent decoder reads the QR from a
screenshot, the buyer pays it in the sandbox wallet, and the display turns to "Paid" by itself:
Mercado Pago's webhook reaches the live server and a real Celery worker processes it."""

from io import BytesIO

import pytest
import zxingcpp
from PIL import Image

from orders.models import Order
from pos.models import PointOfSale
from tenants.scope import tenant_scope
from tests.browser import chromium  # noqa: F401 (fixture)
from tests.factories import make_connected_tenant, make_member
from tests.orders.conftest import pay, synced_pos

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_cashier_order_is_scanned_from_the_display_paid_and_shown_paid(
    chromium,  # noqa: F811
    live_server,
    real_worker,
    settings,
    client,
):
    settings.SITE_URL = live_server.url
    client.put(
        "/sandbox/_control/application",
        {"webhook_url": f"{live_server.url}/webhooks/mercadopago/"},
        content_type="application/json",
    )
    seller = make_connected_tenant("Parrilla", site="MLA")
    pos = synced_pos(seller)
    make_member(seller, "cashier", "browser-cashier")
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto("/admin/login/?next=/cashier/")
    page.fill("#id_username", "browser-cashier")
    page.fill("#id_password", "test-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/cashier/")

    page.select_option("#id_pos", str(pos.pk))
    page.fill("#id_amount", "85,00")
    page.fill("#id_description", "Mesa 7")
    page.click("#cashier-form input[type=submit]")
    page.wait_for_url("**/cashier/?order=*")
    with tenant_scope(seller):
        order = Order.objects.get()
        token = PointOfSale.objects.get(pk=pos.pk).display_token
    assert page.locator("#order-status").get_attribute("data-status") == "created"

    display = context.new_page()
    display.goto(f"/display/{token}/")
    screenshot = display.screenshot(full_page=True)
    decoded = {
        barcode.text
        for barcode in zxingcpp.read_barcodes(
            Image.open(BytesIO(screenshot)), formats=zxingcpp.BarcodeFormat.QRCode
        )
    }
    assert decoded == {order.qr_data}  # the decoder may report one QR more than once

    pay(client, order)

    display.locator("#paid").wait_for(state="visible", timeout=15_000)
    assert display.locator("#paid").inner_text() == "Pagado"
    page.locator("#order-status[data-status=processed]").wait_for(timeout=15_000)
    context.close()
