"""One language per person in a real browser (Debian's headless Chromium): a cashier chooses
Portuguese and the admin and the cashier page follow; without a choice, a seller's Spanish is
worded as its country speaks ("vos" in Argentina, "tú" in Mexico)."""

import pytest

from tests.browser import (
    chromium,  # noqa: F401 (fixture)
    fits_its_width,
    serious_violations,
)
from tests.factories import make_connected_tenant, make_member
from tests.orders.conftest import synced_pos

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(chromium, live_server, site: str, role: str, username: str, next_url: str):  # noqa: F811
    seller = make_connected_tenant(site=site)
    person = make_member(seller, role, username)
    person.language = ""  # the seller's language
    person.save(update_fields=["language"])
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto(f"/admin/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", "test-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"**{next_url}")
    return seller, person, context, page


def test_a_cashier_chooses_portuguese_and_the_admin_and_the_cashier_page_follow(
    chromium,  # noqa: F811
    live_server,
):
    seller, cashier, context, page = sign_in(
        chromium, live_server, "MLA", "cashier", "lang-cashier", "/cashier/"
    )
    synced_pos(seller)
    page.reload()
    assert page.locator("html").get_attribute("lang") == "es-ar"
    assert page.locator("h1").first.inner_text() == "Cobrar con QR"

    page.click("#language-link")
    page.wait_for_url("**/accounts/language/**")
    assert "Elegí el idioma de tus páginas" in page.inner_text("#content-main")  # voseo
    assert serious_violations(page) == []
    page.check("input[name=language][value=pt-br]")
    page.click("#language-form input[type=submit]")

    page.wait_for_url("**/cashier/")
    assert page.locator("html").get_attribute("lang") == "pt-br"
    assert page.locator("h1").first.inner_text() == "Cobrar com QR"
    assert "O seu idioma foi salvo." in page.inner_text("body")
    page.goto("/admin/")
    assert page.locator("html").get_attribute("lang") == "pt-br"
    assert page.locator("#logout-form button").text_content().strip() == "Encerrar sessão"
    cashier.refresh_from_db()
    assert cashier.language == "pt-br"
    context.close()


def test_the_language_page_fits_a_phone(chromium, live_server):  # noqa: F811
    _seller, _person, context, page = sign_in(
        chromium, live_server, "MLB", "owner", "lang-phone", "/admin/"
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/accounts/language/")

    assert "Escolha o idioma das suas páginas" in page.inner_text("#content-main")
    assert fits_its_width(page)
    context.close()


@pytest.mark.parametrize(
    ("site", "first_step"),
    [
        ("MLA", "Abrí la app de Mercado Pago y tocá “Pagar con QR”."),
        ("MLU", "Abrí la app de Mercado Pago y tocá “Pagar con QR”."),
        ("MLM", "Abre la app de Mercado Pago y toca “Pagar con QR”."),
        ("MLB", "Abra o app do Mercado Pago e toque em “Pagar com QR”."),
    ],
)
def test_the_sticker_speaks_the_sellers_spanish(chromium, live_server, site, first_step):  # noqa: F811
    seller, _person, context, page = sign_in(
        chromium, live_server, site, "manager", f"sticker-{site.lower()}", "/admin/"
    )
    pos = synced_pos(seller)

    page.goto(f"/pos/{pos.pk}/sticker/")

    assert page.locator(".steps li").first.inner_text() == first_step
    assert page.locator("html").get_attribute("lang") == seller.site_info.language
    context.close()
