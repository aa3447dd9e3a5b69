"""The order admin in headless Chromium with a refund Mercado Pago keeps in process: the refunds
table says it is processing in Mercado Pago, the order still offers what is left to refund, and
the page passes axe-core and fits 390 px. Set ``REFUND_SCREENSHOTS`` to a folder to keep
screenshots of the page at 1280 and 390 px."""

import os
from decimal import Decimal
from pathlib import Path

import pytest

from orders import services
from tenants.roles import Role
from tests.browser import (
    chromium,  # noqa: F401 (fixture)
    fits_its_width,
    serious_violations,
)
from tests.factories import make_connected_tenant
from tests.faults import set_faults
from tests.orders.conftest import synced_pos
from tests.orders.test_order_admin_actions import big_paid_order, member
from tests.orders.test_order_admin_browser import PHONE, WIDE, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_celery"),
]

SHOTS = os.environ.get("REFUND_SCREENSHOTS")


def test_a_refund_in_process_is_shown_as_processing_in_mercado_pago(
    chromium,  # noqa: F811
    live_server,
    client,
):
    seller = make_connected_tenant("Parrilla Don Julio", site="MLA")
    order = big_paid_order(seller, synced_pos(seller), client)
    set_faults(client, refund_outcome="pending")
    services.refund_order(tenant=seller, order=order, amount=Decimal("500.00"))
    owner = member(seller, Role.OWNER, language="en")
    page = chromium.new_page(base_url=live_server.url, viewport=WIDE)
    sign_in(page, owner.username)

    page.goto(f"/admin/orders/order/{order.pk}/change/")

    status = page.locator(".field-refund_status").first.inner_text()
    assert status == "Processing in Mercado Pago"
    assert page.locator("#order-refund").count() == 1  # 1,500.00 is still refundable
    assert serious_violations(page) == []
    for label, viewport in (("1280", WIDE), ("390", PHONE)):
        page.set_viewport_size(viewport)
        if SHOTS:
            shot = Path(SHOTS) / f"order-refund-processing-{label}.png"
            page.screenshot(path=str(shot), full_page=True)
        assert fits_its_width(page), label
    page.close()
