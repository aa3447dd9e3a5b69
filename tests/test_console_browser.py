"""The console and its health page in a real browser (Debian's headless Chromium): platform staff
sign in, filter the sellers, follow a problem's link, open the health page; axe finds nothing
serious, and at 390 px the page itself does not scroll sideways (the wide table scrolls inside
its own container)."""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from orders.models import Notification
from tenants.models import MercadoPagoCredential
from tenants.scope import tenant_scope
from tests.browser import (
    chromium,  # noqa: F401 (fixture)
    fits_its_width,
    serious_violations,
)
from tests.factories import make_member, make_order, make_pos, make_tenant, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("SCREENSHOTS_DIR")  # set it to look at the pages


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=Path(SHOTS, f"{name}.png"), full_page=True)


def sellers() -> None:
    live = make_tenant("Parrilla Don Julio", site="MLA")
    make_member(live, "owner", "julio")
    with tenant_scope(live):
        MercadoPagoCredential.objects.create(
            tenant=live,
            source="oauth",
            mp_user_id=1234,
            access_token="APP_USR-x",
            access_token_tail="0000",
        )
    make_order(
        live,
        make_pos(live),
        status="processed",
        paid_at=timezone.now() - timedelta(minutes=5),
        total_amount=Decimal("1500.50"),
        marketplace_fee=Decimal("15.01"),
    )
    troubled = make_tenant("Taqueria El Paisa", site="MLM")
    Notification.objects.create(kind="webhook", status="failed", tenant=troubled)
    make_tenant("Padaria Pão Quente", site="MLB")


def sign_in(chromium, live_server, width: int):  # noqa: F811
    make_user("console-staff", is_staff=True, is_superuser=True, language="en")
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    page.goto("/admin/login/?next=/console/")
    page.fill("#id_username", "console-staff")
    page.fill("#id_password", "test-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/console/")
    return context, page


def test_staff_filter_the_sellers_and_open_the_health_page(chromium, live_server):  # noqa: F811
    sellers()
    context, page = sign_in(chromium, live_server, 1280)

    assert page.locator("#sellers tbody tr").count() == 3
    live_row = page.locator("#seller-parrilla-don-julio")
    assert "Live" in live_row.inner_text()
    assert "ARS\u00a01,500.50" in live_row.inner_text()
    assert serious_violations(page) == []
    shot(page, "console-wide")

    page.select_option("#id_problem", "any")
    page.click("#console-filters input[type=submit]")
    page.wait_for_url("**problem=any**")
    assert page.locator("#sellers tbody tr").count() == 1
    page.click("#seller-taqueria-el-paisa .problems a")
    page.wait_for_url("**/admin/orders/notification/**")
    assert "status__exact=failed" in page.url

    page.goto("/console/")
    page.click("#health-link")
    page.wait_for_url("**/console/health/")
    assert page.locator("#check-notifications").get_attribute("data-status") == "attention"
    assert serious_violations(page) == []
    shot(page, "health-wide")
    context.close()


def test_the_console_and_the_health_page_fit_a_phone(chromium, live_server):  # noqa: F811
    sellers()
    context, page = sign_in(chromium, live_server, 390)

    assert fits_its_width(page)
    table = page.locator(".console-table")
    assert table.evaluate("element => element.scrollWidth > element.clientWidth")  # scrolls inside
    assert serious_violations(page) == []
    shot(page, "console-390")

    page.goto("/console/health/")
    assert fits_its_width(page)
    assert serious_violations(page) == []
    shot(page, "health-390")
    context.close()
