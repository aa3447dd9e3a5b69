"""The order admin in headless Chromium: a paid order offers a refund and no cancel; the refund is
typed as the seller writes amounts, confirmed on its own page and made once; the description
shows as the cashier typed it; a viewer is offered no action. The order page and the refund
confirmation pass axe-core with no serious violation and fit 390 px without side scrolling.

Set ``ORDER_ADMIN_SCREENSHOTS`` to a folder to keep screenshots of both pages at 1280 and 390 px
(docs/screenshots/order-admin.png is the order page at 1280 px).
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from orders.models import Notification, Refund
from tenants.roles import Role
from tenants.scope import tenant_scope
from tests.browser import (
    chromium,  # noqa: F401 (fixture)
    fits_its_width,
    serious_violations,
)
from tests.factories import make_connected_tenant, make_member, make_order
from tests.orders.conftest import synced_pos
from tests.orders.test_order_admin_actions import big_paid_order, member
from tests.orders.test_order_admin_pages import TYPED, as_the_cashier_creates_it

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_celery"),
]

WIDE, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
SHOTS = os.environ.get("ORDER_ADMIN_SCREENSHOTS")


def check_page(page, name: str, axe: bool = True) -> None:
    """No serious axe violation, and no side scrolling at 1280 or 390 px (screenshots of both
    when asked for)."""
    if axe:
        assert serious_violations(page) == [], name
    for label, viewport in (("1280", WIDE), ("390", PHONE)):
        page.set_viewport_size(viewport)
        if SHOTS:
            page.screenshot(
                path=str(Path(SHOTS) / f"order-admin-{name}-{label}.png"), full_page=True
            )
        assert fits_its_width(page), label
    page.set_viewport_size(WIDE)


def sign_in(page, username: str) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "test-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


def test_an_owner_refunds_part_of_a_paid_order_once_confirmed(chromium, live_server, client):  # noqa: F811
    seller = make_connected_tenant("Parrilla Don Julio", site="MLA")
    order = big_paid_order(seller, synced_pos(seller), client)
    now = timezone.now()
    for minutes, topic in ((0, "order"), (1, "payment")):
        row = Notification.objects.create(
            tenant=seller, order=order, kind="webhook", status="processed", topic=topic
        )
        Notification.objects.filter(pk=row.pk).update(
            received_at=now + timedelta(minutes=minutes),
            processed_at=now + timedelta(minutes=minutes, seconds=1),
        )
    owner = member(seller, Role.OWNER, language="")  # the seller's: es-AR
    page = chromium.new_page(base_url=live_server.url, viewport=WIDE)
    sign_in(page, owner.username)

    page.goto(f"/admin/orders/order/{order.pk}/change/")
    assert page.locator("#order-cancel").count() == 0  # paid: nothing to cancel
    assert page.locator(".field-total .readonly").inner_text() == "ARS\xa02.000,00"
    assert page.locator("#order-notifications tbody tr").count() == 2
    assert page.locator("#order-notifications tbody tr td.topic").first.inner_text() == "payment"
    check_page(page, "change")

    page.click("#order-refund")
    page.fill("#id_amount", "1.500,50")
    page.click("input.default")
    page.wait_for_selector("body.refund-confirmation")
    assert page.locator(".refund-now").inner_text() == "ARS\xa01.500,50"
    assert page.locator(".left-after").inner_text() == "ARS\xa0499,50"
    with tenant_scope(seller):
        assert not Refund.objects.exists()  # asked, not yet confirmed
    check_page(page, "refund-confirmation")

    page.dblclick("#refund-confirm")  # an impatient double click
    page.wait_for_url(f"**/admin/orders/order/{order.pk}/change/")
    page.wait_for_load_state()
    assert "ARS\xa01.500,50" in page.locator(".messagelist").inner_text()
    if SHOTS:  # docs/screenshots/order-admin.png
        page.screenshot(path=str(Path(SHOTS) / "order-admin-refunded-1280.png"), full_page=True)
    page.close()
    with tenant_scope(seller):
        assert list(Refund.objects.values_list("amount", "status")) == [
            (Decimal("1500.50"), "processed")
        ]


def test_a_viewer_reads_the_typed_description_and_is_offered_no_action(chromium, live_server):  # noqa: F811
    seller = make_connected_tenant("Parrilla", site="MLA")
    order = as_the_cashier_creates_it(seller, synced_pos(seller), TYPED)
    make_order(seller, status="processed")
    viewer = make_member(seller, Role.VIEWER)
    page = chromium.new_page(base_url=live_server.url, viewport=WIDE)
    sign_in(page, viewer.username)

    page.goto(f"/admin/orders/order/{order.pk}/change/")
    description = page.locator(".field-typed_description .readonly")
    assert description.inner_text() == TYPED
    assert description.locator("b").count() == 0  # shown, not obeyed
    assert page.locator("#order-cancel, #order-refresh, #order-refund").count() == 0
    page.goto("/admin/orders/order/")
    assert page.locator("select[name=action]").count() == 0
    assert TYPED in page.locator("#result_list").inner_text()
    check_page(page, "list", axe=False)  # the header's links are the base template's
    page.close()
