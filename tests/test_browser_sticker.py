"""The POS sticker, printed by a real browser: one A6 page."""

import re
from decimal import Decimal

import pytest

from pos import services
from tests.browser import chromium  # noqa: F401 (fixture)
from tests.factories import make_connected_tenant, make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

A6_POINTS = (Decimal("297.6"), Decimal("419.5"))  # 105 mm x 148 mm, in PDF points


def test_the_sticker_prints_on_exactly_one_a6_page(chromium, live_server):  # noqa: F811
    seller = make_connected_tenant(site="MLA")
    make_member(seller, "manager", "sticker-manager")
    store = services.create_store(
        tenant=seller,
        name="Palermo",
        external_id="PALERMO1",
        street_name="Av. Santa Fe",
        street_number="3253",
        city="CABA",
        state="Buenos Aires",
        latitude=Decimal("-34.588100"),
        longitude=Decimal("-58.410900"),
    )
    pos = services.create_pos(tenant=seller, store=store, name="Caja 1", external_id="POS1")

    context = chromium.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/admin/login/")
    page.fill("#id_username", "sticker-manager")
    page.fill("#id_password", "test-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    page.goto(f"/pos/{pos.pk}/sticker/")
    page.wait_for_load_state("networkidle")
    assert page.locator("img").first.evaluate("img => img.naturalWidth") > 0  # the QR loaded
    # This Chromium ignores preferCSSPageSize, so print on A6 paper explicitly (the page also
    # asks for it with @page, which tests/test_pos_web.py checks): the sticker must fit one sheet.
    pdf = page.pdf(format="A6")
    context.close()

    pages = re.findall(rb"/Type\s*/Page\b", pdf)
    assert len(pages) == 1
    width, height = (
        Decimal(v.decode())
        for v in re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)", pdf).groups()
    )
    assert abs(width - A6_POINTS[0]) < 2
    assert abs(height - A6_POINTS[1]) < 2
