"""The admin's CSV import in headless Chromium: a manager uploads a file from the POS list and
reads the per-row report; a running import's page follows its progress and shows the report
when it ends; both at 1280 and 390 px wide, without side scrolling or serious axe violations."""

import os
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from pos import imports
from pos.models import PosImport
from tenants.scope import tenant_scope
from tests.browser import (
    chromium,  # noqa: F401 (fixture)
    fits_its_width,
    serious_violations,
)
from tests.factories import make_connected_tenant, make_member
from tests.test_pos_admin_import import excel_csv
from tests.test_pos_import import row

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
SHOTS = os.environ.get("SCREENSHOTS_DIR")  # set it to look at the pages


def check_page(page, name: str) -> None:
    """No serious axe violation and no side scrolling at 1280 and 390 px; a screenshot of each."""
    for label, viewport in (("1280", WIDE), ("390", PHONE)):
        page.set_viewport_size(viewport)
        if SHOTS:
            page.screenshot(path=Path(SHOTS, f"pos-admin-{name}-{label}.png"), full_page=True)
        assert fits_its_width(page), label
        assert serious_violations(page) == [], label


@pytest.fixture
def seller():
    return make_connected_tenant("Parrilla del Puerto", site="MLA")


@pytest.fixture
def page(chromium, live_server, seller, eager_celery):  # noqa: F811
    user = make_member(seller, "manager", "import-manager")
    user.language = "en"
    user.save(update_fields=["language"])
    context = chromium.new_context(base_url=live_server.url, viewport=WIDE)
    page = context.new_page()
    page.goto("/admin/login/")
    page.fill("#id_username", "import-manager")
    page.fill("#id_password", "test-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    yield page
    context.close()


def test_a_manager_uploads_a_csv_and_reads_the_report(page, seller):
    rows = [row(1, 1), row(1, 2), row(2, 1, latitude="", longitude=""), row(3, None)]
    page.goto(reverse("admin:pos_pointofsale_changelist"))
    page.click("#import-csv-link")
    page.wait_for_url("**/admin/pos/pointofsale/import/")
    check_page(page, "import-form")

    page.set_input_files(
        "#id_file", {"name": "sucursales.csv", "mimeType": "text/csv", "buffer": excel_csv(rows)}
    )
    page.click("#import-form input[type=submit]")

    page.wait_for_selector("#import-report")
    assert "Done: 4 stores and points of sale sent" in page.inner_text("#import-status")
    failed = page.locator("#import-report tr.outcome-failed")
    assert failed.count() == 2
    assert "Latitude and longitude are empty" in failed.nth(0).inner_text()
    assert "Its store is invalid" in failed.nth(1).inner_text()
    check_page(page, "import-report")
    with page.expect_download() as download:
        page.click("#import-report-csv")
    assert download.value.suggested_filename.endswith("-report.csv")


def test_a_running_import_shows_its_progress_then_its_report(page, seller):
    content = excel_csv([row(1, 1)]).decode("utf-8-sig")
    with tenant_scope(seller):
        pos_import = PosImport.objects.create(
            tenant=seller, file_name="big.csv", content=content, status="running", done=1, total=2
        )
    page.goto(reverse("admin:pos_pointofsale_import_status", args=[pos_import.pk]))

    assert page.get_attribute("#import-progress", "value") == "1"
    assert page.get_attribute("#import-status", "aria-live") == "polite"
    check_page(page, "import-progress")
    with tenant_scope(seller):
        PosImport.objects.filter(pk=pos_import.pk).update(done=2)
    expect(page.locator("#import-progress")).to_have_attribute("value", "2")
    expect(page.locator("#import-status")).to_contain_text("Sent 2 of 2")

    report = imports.Report()
    report.add(2, "store", "S1", "created")
    report.add(2, "pos", "S1P1", "created")
    with tenant_scope(seller):
        PosImport.objects.filter(pk=pos_import.pk).update(
            status="done", results=report.as_json(), finished_at=timezone.now()
        )
    page.wait_for_selector("#import-report")  # the page reloaded itself with the report
    assert page.locator("#import-report tbody tr").count() == 2
