"""The dashboard in headless Chromium: the seller picks two days in the date inputs, submits,
and reads gross, refunds, net and marketplace fees of those days in its locale; the chart of
takings per day passes an axe-core check and fits a phone; the export links download files."""

import csv
import io
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine

from orders.models import Refund
from tenants.scope import tenant_scope
from tests.browser import (
    chromium,  # noqa: F401 (fixture)
    fits_its_width,
    serious_violations,
)
from tests.factories import make_member, make_order, make_payment, make_pos, make_store, make_tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SALE = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)  # 10 Mar 2025, 12:00 in Buenos Aires
REFUND = datetime(2025, 3, 12, 2, 30, tzinfo=UTC)  # 11 Mar 2025, 23:30 in Buenos Aires
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/helpers/shots"))  # noqa: S108 (looked at)


def signed_in(chromium, live_server, username: str, width: int = 1280):  # noqa: F811
    page = chromium.new_page(base_url=live_server.url, viewport={"width": width, "height": 900})
    page.goto("/admin/login/?next=/admin/dashboard/")
    page.fill("#id_username", username)
    page.fill("#id_password", "test-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/dashboard/")
    return page


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
    page = signed_in(chromium, live_server, "dashboard-viewer")

    page.fill("#period-from", "2025-03-10")
    page.fill("#period-to", "2025-03-11")
    page.click("#period input[type=submit]")
    page.wait_for_url("**/admin/dashboard/?from=2025-03-10&to=2025-03-11")

    total = page.locator("#takings-total tbody tr")
    # In the viewer's locale (the seller's, es-AR): a dot between thousands, a comma before cents.
    assert [total.locator(f"td.{name}").inner_text() for name in ("gross", "refunds", "net")] == [
        "ARS\u00a01.500,50",
        "ARS\u00a0500,25",
        "ARS\u00a01.000,25",
    ]
    assert total.locator("td.fees").inner_text() == "ARS\u00a0150,05"
    assert page.locator("#paid-by-pos td.net").inner_text() == "ARS\u00a01.000,25"
    page.click("#period-today")
    page.wait_for_url("**/admin/dashboard/")
    assert page.locator("#takings-total td.gross").inner_text() == "ARS\u00a00,00"
    page.close()


def test_the_chart_is_accessible_fits_a_phone_and_the_links_download(chromium, live_server):  # noqa: F811
    seller = make_tenant("Parrilla", site="MLA")
    centro = make_pos(seller, make_store(seller, name="Centro"), name="Caja 1")
    for days_later, amount in enumerate(("1500.50", "820.00", "0", "2310.75", "640.00")):
        if amount != "0":  # a quiet day shows as zero
            at = SALE + timedelta(days=days_later)
            with time_machine.travel(at, tick=False):  # created when paid, as the export reads
                order = make_order(
                    seller,
                    centro,
                    status="processed",
                    total_amount=Decimal(amount),
                    description="=HYPERLINK(1)",
                    paid_at=at,
                    closed_at=at,
                )
            payment = make_payment(seller, order, approved_at=at)
    with tenant_scope(seller):  # more refunded on the last day than sold: a negative net
        Refund.objects.create(
            tenant=seller,
            order=order,
            payment=payment,
            amount=Decimal("640.00"),
            status=Refund.Status.PROCESSED,
            processed_at=at,
        )
    make_member(seller, "viewer", "chart-viewer")
    period = "/admin/dashboard/?from=2025-03-09&to=2025-03-15"
    SHOTS.mkdir(parents=True, exist_ok=True)

    for width in (1280, 390):
        page = signed_in(chromium, live_server, "chart-viewer", width)
        page.goto(period)
        chart = page.get_by_role("img", name="2025")  # the SVG, named by its <title>
        assert chart.count() == 1
        page.locator("#takings-chart summary").click()  # the same figures as a table
        rows = page.locator("#takings-per-day tbody tr")
        assert rows.count() == 7
        assert rows.nth(3).locator("td.gross").inner_text() == "ARS\u00a00,00"
        assert rows.nth(5).locator("td.net").inner_text() == "ARS\u00a00,00"
        page.screenshot(path=SHOTS / f"dashboard-{width}.png", full_page=True)
        assert fits_its_width(page)
        assert serious_violations(page) == []
        assert page.locator("#takings-chart svg").bounding_box()["width"] <= width
        page.close()

    page = signed_in(chromium, live_server, "chart-viewer")
    page.goto(period)
    with page.expect_download() as download:
        page.click("#exports a.export-csv[data-kind=orders]")
    assert download.value.suggested_filename == (
        f"{seller.slug}-orders-2025-03-09-to-2025-03-15.csv"
    )
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [row["total_amount"] for row in rows] == ["1500.50", "820.00", "2310.75", "640.00"]
    assert {row["description"] for row in rows} == {"'=HYPERLINK(1)"}
    page.close()
