"""The owner's first steps and the notice to connect Mercado Pago again, in headless Chromium:
at 1280 and 390 px wide, without side scrolling or serious axe violations."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tenants import connection_health
from tests.browser import (
    chromium,  # noqa: F401 (fixture)
    fits_its_width,
    serious_violations,
)
from tests.factories import make_connected_tenant, make_member, make_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
SHOTS = os.environ.get("SCREENSHOTS_DIR")  # set it to look at the pages


def check_page(page, name: str) -> None:
    """No serious axe violation and no side scrolling at 1280 and 390 px; a screenshot of each."""
    for label, viewport in (("1280", WIDE), ("390", PHONE)):
        page.set_viewport_size(viewport)
        if SHOTS:
            page.screenshot(path=Path(SHOTS, f"{name}-{label}.png"), full_page=True)
        assert fits_its_width(page), label
        assert serious_violations(page) == [], label


def signed_in(chromium, live_server, username: str):  # noqa: F811
    context = chromium.new_context(base_url=live_server.url, viewport=WIDE)
    page = context.new_page()
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", "test-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    return context, page


def test_the_owner_follows_the_checklist_half_done(chromium, live_server):  # noqa: F811
    seller = make_connected_tenant("Parrilla del Puerto", site="MLA")
    make_store(seller)
    make_member(seller, "owner", "checklist-owner", language="en")
    context, page = signed_in(chromium, live_server, "checklist-owner")

    checklist = page.locator("#setup-checklist")
    expect(checklist.get_by_role("heading")).to_have_text("Get ready to take payments")
    expect(page.locator("#setup-progress")).to_have_text("2 of 5 steps done")
    expect(page.locator("#setup-step-connect .step-state")).to_have_text("Done")
    expect(page.locator("#setup-step-pos")).to_have_attribute("aria-current", "step")
    expect(page.locator("#setup-step-pos .step-state")).to_have_text("Next step")
    expect(page.locator("#setup-step-sticker .step-state")).to_have_text("To do")
    check_page(page, "checklist-half-done")

    page.get_by_role("link", name="Create a point of sale").click()
    page.wait_for_url("**/admin/pos/pointofsale/add/")
    context.close()


def test_the_owner_is_told_to_connect_again(chromium, live_server):  # noqa: F811
    seller = make_connected_tenant("Parrilla del Puerto", site="MLA")
    make_member(seller, "owner", "unlinked-owner", language="en")
    connection_health.mark_needs_reconnect(tenant=seller, reason="unlinked")
    context, page = signed_in(chromium, live_server, "unlinked-owner")

    notice = page.locator("#reconnect-notice")
    expect(notice.get_by_role("heading")).to_have_text(
        "Payments stopped: connect Mercado Pago again"
    )
    expect(notice).to_contain_text("unlinked from this platform's application")
    check_page(page, "reconnect-banner")

    notice.get_by_role("link", name="Connect again").click()
    page.wait_for_url("**/tenants/mercadopago/")
    expect(page.locator("#reconnect-notice")).to_be_visible()  # on every admin page
    context.close()
