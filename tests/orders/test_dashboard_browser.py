"""The dashboard's date range in headless Chromium: the seller picks two days in the date inputs,
submits, and reads gross, refunds, net and marketplace fees of those days."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders.models import Refund
from tenants.scope import tenant_scope
from tests.browser import chromium  # noqa: F401 (fixture)
from tests.factories import make_member, make_order, make_payment, make_pos, make_store, make_tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SALE = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)  # 10 Mar 2025, 12:00 in Buenos Aires
REFUND = datetime(2025, 3, 12, 2, 30, tzinfo=UTC)  # 11 Mar 2025, 23:30 in Buenos Aires


def test_a_range_picked_in_the_date_inputs_shows_its_totals(chromium, live_server):  # noqa: F811
    seller = make_tenant("Parrilla", site="MLA")
    pos = make_pos(seller, make_store(seller, name="Centro"), name="Caja 1")
    order = make_order(
        seller,
        pos,
        status="processed",
        total_amount=Decimal("1500.50"),
        marketplace_fee=Decimal("150.05"),
        paid_at=SALE,
        closed_at=SALE,
    )
    payment = make_payment(seller, order, refunded_amount=Decimal("500.25"))
    with tenant_scope(seller):
        Refund.objects.create(
            tenant=seller,
            order=order,
            payment=payment,
            amount=Decimal("500.25"),
            status=Refund.Status.PROCESSED,
            processed_at=REFUND,
        )
    make_member(seller, "viewer", "dashboard-viewer")
    page = chromium.new_page(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page.goto("/admin/login/?next=/admin/dashboard/")
    page.fill("#id_username", "dashboard-viewer")
    page.fill("#id_password", "test-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/dashboard/")

    page.fill("#period-from", "2025-03-10")
    page.fill("#period-to", "2025-03-11")
    page.click("#period input[type=submit]")
    page.wait_for_url("**/admin/dashboard/?from=2025-03-10&to=2025-03-11")

    total = page.locator("#takings-total tbody tr")
    assert [total.locator(f"td.{name}").inner_text() for name in ("gross", "refunds", "net")] == [
        "ARS 1500.50",
        "ARS 500.25",
        "ARS 1000.25",
    ]
    assert total.locator("td.fees").inner_text() == "ARS 150.05"
    assert page.locator("#paid-by-pos td.net").inner_text() == "ARS 1000.25"
    page.click("#period-today")
    page.wait_for_url("**/admin/dashboard/")
    assert page.locator("#takings-total td.gross").inner_text() == "ARS 0.00"
    page.close()
