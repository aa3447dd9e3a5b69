"""The disputes admin in headless Chromium: the owner reads its seller's disputes, open ones first
with the documentation deadline and the days left; the list and an order's page with its dispute
pass axe-core with no serious violation and fit 390 px without side scrolling.

Screenshots of both pages at 1280 and 390 px go to ``DISPUTES_SCREENSHOTS`` when it is set.
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from disputes.models import Dispute
from tenants.roles import Role
from tests.browser import (
    chromium,  # noqa: F401 (fixture)
    fits_its_width,
    serious_violations,
)
from tests.factories import make_dispute, make_member, make_order, make_payment, make_tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
SHOTS = os.environ.get("DISPUTES_SCREENSHOTS")


def check_page(page, name: str) -> None:
    assert serious_violations(page) == [], name
    for label, viewport in (("1280", WIDE), ("390", PHONE)):
        page.set_viewport_size(viewport)
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / f"disputes-{name}-{label}.png"), full_page=True)
        assert fits_its_width(page), f"{name} at {label}"
    page.set_viewport_size(WIDE)


def test_the_owner_reads_its_disputes_deadline_first(chromium, live_server):  # noqa: F811
    seller = make_tenant("Parrilla", site="MLA")
    owner = make_member(seller, Role.OWNER, "owner-en", language="en")
    order = make_order(seller, status="processed", external_reference="MESA-7")
    urgent = make_dispute(
        seller,
        make_payment(seller, order),
        amount=Decimal("1500.50"),
        deadline=timezone.now() + timedelta(days=2, hours=2),
    )
    later = make_dispute(seller, deadline=timezone.now() + timedelta(days=9, hours=2))
    closed = make_dispute(seller, status=Dispute.Status.CLOSED, coverage_applied=True)
    make_dispute(make_tenant("Heladería"))

    page = chromium.new_page(base_url=live_server.url, viewport=WIDE)
    page.goto("/admin/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", "test-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")

    page.goto("/admin/disputes/dispute/")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 3  # the other seller's is not listed
    ids = [rows.nth(n).locator("th").inner_text() for n in range(3)]
    assert ids == [urgent.mp_chargeback_id, later.mp_chargeback_id, closed.mp_chargeback_id]
    first = rows.nth(0)
    assert "2 days left" in first.inner_text()
    assert first.locator(".dispute-deadline-soon").count() == 1
    assert "ARS\u00a01,500.50" in first.inner_text()
    assert "9 days left" in rows.nth(1).inner_text()
    assert "Closed in your favor" in rows.nth(2).inner_text()
    check_page(page, "list")

    page.goto(f"/admin/orders/order/{order.pk}/change/")
    assert urgent.mp_chargeback_id in page.inner_text("body")
    assert "2 days left" in page.inner_text("body")
    check_page(page, "order")
    page.close()
