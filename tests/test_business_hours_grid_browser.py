"""The store's business hours grid in headless Chromium: a manager closes a day and opens another
in the time inputs, saves, and the store keeps those hours; the form passes axe at 1280 and
390 px without side scrolling, also when a day shows what is wrong with it."""

import pytest
from django.urls import reverse

from pos import services
from pos.models import Store
from tenants.scope import tenant_scope
from tests.browser import chromium  # noqa: F401 (fixture)
from tests.factories import make_connected_tenant
from tests.test_business_hours_grid import HOURS
from tests.test_pos_admin_import_browser import check_page, page  # noqa: F401 (fixture)
from tests.test_pos_web import STORE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def seller():
    return make_connected_tenant("Parrilla del Puerto", site="MLA")


@pytest.fixture
def store(seller):
    return services.create_store(tenant=seller, **STORE, business_hours=HOURS)


def test_a_manager_edits_the_week_in_the_grid(page, seller, store):  # noqa: F811
    page.goto(reverse("admin:pos_store_change", args=[store.pk]))
    check_page(page, "store-hours")

    page.check("#id_business_hours_monday_closed")
    assert page.is_disabled("#id_business_hours_monday_1_open")  # a closed day sends no hours
    page.uncheck("#id_business_hours_sunday_closed")
    page.fill("#id_business_hours_sunday_1_open", "10:00")
    page.fill("#id_business_hours_sunday_1_close", "14:30")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/pos/store/")

    with tenant_scope(seller):
        saved = Store.objects.get(pk=store.pk)
    expected = {day: ranges for day, ranges in HOURS.items() if day != "monday"}
    assert saved.business_hours == expected | {"sunday": [{"open": "10:00", "close": "14:30"}]}


def test_a_wrong_day_says_so_on_its_own_line(page, store):  # noqa: F811
    page.goto(reverse("admin:pos_store_change", args=[store.pk]))
    page.fill("#id_business_hours_wednesday_1_close", "07:00")
    page.click("input[name=_save]")

    problem = page.locator("#id_business_hours_wednesday_problems")
    assert "it closes at 07:00, which is not after it opens at 08:30" in problem.inner_text()
    assert "Check the hours of Wednesday" in page.inner_text(".field-business_hours .errorlist")
    check_page(page, "store-hours-error")
