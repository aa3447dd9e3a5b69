"""Issue 17: a POS's customer display shows only the POS's newest order. With two open orders on
one POS, paying the newer used to turn the display to the older one, QR and all, in front of the
buyer who had just paid; now it shows "Pagado" for ``DISPLAY_FINAL_STATE_SECONDS`` and goes idle.
"""

from datetime import timedelta
from io import BytesIO

import pytest
import time_machine
import zxingcpp
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from tests.browser import chromium  # noqa: F401 (fixture)
from tests.factories import make_order, make_pos
from tests.orders.conftest import new_order, pay, reload

pytestmark = pytest.mark.django_db


def decoded(page) -> set[str]:
    """The QR codes an independent decoder reads from a screenshot of ``page``."""
    screenshot = Image.open(BytesIO(page.screenshot(full_page=True)))
    return {
        barcode.text
        for barcode in zxingcpp.read_barcodes(screenshot, formats=zxingcpp.BarcodeFormat.QRCode)
    }


def state(client, pos) -> dict:
    return client.get(reverse("display:state", args=[pos.display_token])).json()


@pytest.mark.parametrize("status", ["processed", "expired", "canceled"])
def test_the_final_state_stays_for_the_period_then_idle_never_an_older_open_order(
    client, tenant_a, settings, status
):
    settings.DISPLAY_FINAL_STATE_SECONDS = 15
    pos = make_pos(tenant_a)
    make_order(tenant_a, pos, status="created", qr_data="000201OLDER")
    newer = make_order(tenant_a, pos, status=status, closed_at=timezone.now())

    shown = state(client, pos)

    assert shown["order"]["uid"] == str(newer.uid)
    with time_machine.travel(newer.closed_at + timedelta(seconds=14)):
        assert state(client, pos)["order"]["uid"] == str(newer.uid)
    with time_machine.travel(newer.closed_at + timedelta(seconds=16)):
        assert state(client, pos) == {"state": "idle"}
        assert "000201OLDER" not in client.get(f"/display/{pos.display_token}/").text


def test_a_failed_newest_order_leaves_the_display_idle(client, tenant_a):
    pos = make_pos(tenant_a)
    make_order(tenant_a, pos, status="created", qr_data="000201OLDER")
    make_order(tenant_a, pos, status="failed", closed_at=timezone.now())

    assert state(client, pos) == {"state": "idle"}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_paying_the_newer_of_two_open_orders_shows_paid_not_the_older_qr(
    chromium,  # noqa: F811
    live_server,
    real_worker,
    settings,
    client,
    seller,
    pos,
):
    settings.SITE_URL = live_server.url
    client.put(
        "/sandbox/_control/application",
        {"webhook_url": f"{live_server.url}/webhooks/mercadopago/"},
        content_type="application/json",
    )
    older = new_order(seller, pos, reference="OLDER-1")
    newer = new_order(seller, pos, reference="NEWER-1")  # the partner API allows both
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    display = context.new_page()
    display.goto(reverse("display:page", args=[pos.display_token]))
    assert display.locator("main").get_attribute("data-uid") == str(newer.uid)
    assert decoded(display) == {newer.qr_data}
    display.evaluate("window.notReloaded = true")

    pay(client, newer)  # the webhook reaches the live server; the worker processes it

    display.locator("#paid").wait_for(state="visible", timeout=15_000)
    assert display.locator("#paid").inner_text() == "Pagado"
    assert display.evaluate("window.notReloaded") is True
    assert reload(older).status == "created"
    assert display.locator("#qr").count() == 0

    settings.DISPLAY_FINAL_STATE_SECONDS = 0  # the period is over: the display turns idle
    display.locator("main[data-state=idle]").wait_for(timeout=15_000)
    assert decoded(display) == set()
    assert "Listo para la próxima compra" in display.locator("main").inner_text()
    context.close()
