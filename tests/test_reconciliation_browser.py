"""The reconciliation pages in a real browser (Debian's headless Chromium): the owner reads the
seller's mismatches (open first) and report files, platform staff read the marketplace fees per
seller and month; axe finds nothing serious and at 390 px no page scrolls sideways."""

import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from reports.models import Mismatch
from tenants.roles import Role
from tenants.scope import tenant_scope
from tests.browser import (
    chromium,  # noqa: F401 (fixture)
    fits_its_width,
    serious_violations,
)
from tests.factories import (
    make_member,
    make_order,
    make_payment,
    make_report_file,
    make_report_line,
    make_tenant,
    make_user,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
SHOTS = os.environ.get("RECONCILIATION_SCREENSHOTS")


def check_page(page, name: str) -> None:
    assert serious_violations(page) == [], name
    for label, viewport in (("1280", WIDE), ("390", PHONE)):
        page.set_viewport_size(viewport)
        if SHOTS:
            path = Path(SHOTS) / f"reconciliation-{name}-{label}.png"
            page.screenshot(path=str(path), full_page=True)
        assert fits_its_width(page), f"{name} at {label}"
    page.set_viewport_size(WIDE)


def books():
    """A seller with a paid order, a downloaded settlement report, one open mismatch and one
    resolved."""
    seller = make_tenant("Parrilla", site="MLA")
    now = timezone.now()
    order = make_order(
        seller,
        status="processed",
        external_reference="MESA-7",
        total_amount=Decimal("1500.00"),
        marketplace_fee=Decimal("150.00"),
        paid_at=now,
    )
    payment = make_payment(seller, order, reference_id="9001", approved_at=now)
    report = make_report_file(seller)
    line = make_report_line(
        seller,
        report,
        source_id="9001",
        external_reference="MESA-7",
        gross_amount=Decimal("1500.00"),
        marketplace_fee_amount=Decimal("-140.00"),
        date=now,
    )
    with tenant_scope(seller):
        old = Mismatch.objects.create(
            tenant=seller,
            report=report,
            kind=Mismatch.Kind.PAYMENT_MISSING_IN_REPORT,
            payment=payment,
            order=order,
            currency="ARS",
            expected=Decimal("1500.00"),
            resolved_at=now,
            resolution=Mismatch.Resolution.REFRESHED,
        )
        fee = Mismatch.objects.create(
            tenant=seller,
            report=report,
            line=line,
            kind=Mismatch.Kind.AMOUNT_DIFFERS,
            field=Mismatch.Field.MARKETPLACE_FEE,
            payment=payment,
            order=order,
            currency="ARS",
            expected=Decimal("150.00"),
            found=Decimal("140.00"),
        )
    return seller, fee, old


def signed_in(chromium, live_server, username: str):  # noqa: F811
    page = chromium.new_page(base_url=live_server.url, viewport=WIDE)
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "test-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/**")
    return page


def test_the_owner_reads_open_mismatches_first_and_the_report_files(chromium, live_server):  # noqa: F811
    seller, fee, _old = books()
    owner = make_member(seller, Role.OWNER, "owner-en", language="en")
    page = signed_in(chromium, live_server, owner.username)

    page.goto("/admin/reports/mismatch/")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert "Amount differs" in rows.nth(0).inner_text()  # open first
    assert "ARS\u00a0150.00" in rows.nth(0).inner_text()
    assert "Refreshed from Mercado Pago" in rows.nth(1).inner_text()
    assert page.locator("select[name=action] option[value=refresh]").count() == 1
    check_page(page, "mismatches")

    page.goto(f"/admin/reports/mismatch/{fee.pk}/change/")
    assert "MESA-7" in page.inner_text("#content")
    check_page(page, "mismatch")

    page.goto("/admin/reports/reportfile/")
    row = page.locator("#result_list tbody tr").nth(0)
    assert "Settlement report" in row.inner_text()
    row.locator("td.field-open_mismatches a").click()
    page.wait_for_url("**/admin/reports/mismatch/?report__id__exact=*")
    assert page.locator("#result_list tbody tr").count() == 2
    page.goto("/admin/reports/reportfile/")
    check_page(page, "files")
    page.close()


def test_staff_read_the_marketplace_fees_per_seller_and_month(chromium, live_server):  # noqa: F811
    books()
    make_user("fees-staff", is_staff=True, is_superuser=True, language="en")
    page = signed_in(chromium, live_server, "fees-staff")

    page.goto("/console/")
    page.click("#fees-link")
    page.wait_for_url("**/console/fees/")
    row = page.locator("#fees tbody tr.fees-differ")
    assert row.count() == 1
    text = row.inner_text()
    assert "Parrilla" in text
    assert "ARS\u00a0150.00" in text
    assert "ARS\u00a0140.00" in text
    assert "ARS\u00a010.00" in text
    check_page(page, "fees")
    page.close()
