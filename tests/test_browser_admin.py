"""The admin in a real browser: demo logins sign in and see only their seller."""

import pytest
from django.core.management import call_command

from tenants.management.commands.seed_demo import DEMO_PASSWORD
from tests.browser import chromium  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(chromium, live_server):  # noqa: F811
    call_command("seed_demo", verbosity=0)
    context = chromium.new_context(base_url=live_server.url)
    yield context.new_page()
    context.close()


def _sign_in(page, username, lands_on="/admin/"):
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{lands_on}")


def test_a_cashier_signs_in_and_sees_only_its_seller(page):
    _sign_in(page, "cashier.br", lands_on="/cashier/")
    assert "Padaria Bom Dia" in page.inner_text("#tenant-switcher")
    page.goto("/admin/tenants/membership/")
    members = page.inner_text("#result_list")
    assert "cashier.br" in members
    assert "owner.ar" not in members
    page.goto("/admin/tenants/tenant/")
    assert "Parrilla del Puerto" not in page.inner_text("#content")


def test_the_integrator_sees_every_seller(page):
    _sign_in(page, "admin")
    assert "All sellers" in page.inner_text("#tenant-switcher")
    page.goto("/admin/tenants/membership/")
    members = page.inner_text("#result_list")
    assert "owner.ar" in members
    assert "owner.br" in members
