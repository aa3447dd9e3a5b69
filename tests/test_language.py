"""One language per person: the one they chose, else their seller's, worded for its country."""

import pytest
from django.urls import reverse
from django.utils import translation

from merchant_platform.language import language_for
from tenants.models import User
from tests.factories import make_member, make_tenant, make_user

ADMIN = reverse("admin:index")
LANGUAGE_PAGE = reverse("accounts:language")


def person(site: str, role: str = "manager", language: str = "") -> User:
    """A member of a new seller on ``site`` who chose ``language`` ("": none)."""
    user = make_member(make_tenant(site=site), role)
    user.language = language
    user.save(update_fields=["language"])
    return user


@pytest.mark.parametrize(
    ("site", "chosen", "language"),
    [
        ("MLA", "", "es-ar"),  # Argentina and Uruguay say "vos"
        ("MLU", "", "es-ar"),
        ("MLM", "", "es"),  # the other Spanish-speaking sites say "tú"
        ("MLC", "", "es"),
        ("MLB", "", "pt-br"),
        ("MLA", "es", "es-ar"),  # Spanish at an Argentine seller is Argentine Spanish
        ("MLB", "es", "es"),
        ("MLA", "pt-br", "pt-br"),
        ("MLM", "en", "en"),
        (None, "pt-br", "pt-br"),  # platform staff acting for no seller
        (None, "", None),  # the browser decides
    ],
)
def test_the_language_is_the_persons_choice_else_the_sellers(site, chosen, language):
    assert language_for(site, chosen) == language


def test_argentine_spanish_falls_back_to_neutral_spanish_for_the_same_wording():
    """locale/es_AR holds only what differs: gettext finds the rest in locale/es."""
    with translation.override("es-ar"):
        voseo, shared = translation.gettext("Scan this code."), translation.gettext("Print")
        django_own = translation.gettext("Log out")
    with translation.override("es"):
        tuteo = translation.gettext("Scan this code.")
    assert (voseo, tuteo) == ("Escaneá este código.", "Escanea este código.")
    assert shared == "Imprimir"  # only in locale/es
    assert django_own == "Cerrar sesión"  # Django's own es_AR catalog still counts


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("site", "page_language", "log_out"),
    [
        ("MLA", "es-ar", "Cerrar sesión"),
        ("MLM", "es", "Cerrar sesión"),
        ("MLB", "pt-br", "Encerrar sessão"),
    ],
)
def test_a_member_without_a_choice_sees_the_sellers_language(client, site, page_language, log_out):
    client.force_login(person(site))

    response = client.get(ADMIN, headers={"accept-language": "en"})

    assert response["Content-Language"] == page_language
    assert f'<html lang="{page_language}"' in response.text
    assert log_out in response.text


@pytest.mark.django_db
def test_a_persons_choice_beats_the_sellers_language_and_the_browsers(client):
    client.force_login(person("MLA", language="pt-br"))

    response = client.get(ADMIN, headers={"accept-language": "es-AR"})

    assert response["Content-Language"] == "pt-br"
    assert "Encerrar sessão" in response.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept", "page_language"), [("pt-BR,pt;q=0.9", "pt-br"), ("es-AR", "es-ar"), ("de", "en")]
)
def test_signed_out_pages_speak_the_browsers_language(client, accept, page_language):
    response = client.get(reverse("admin:login"), headers={"accept-language": accept})

    assert response["Content-Language"] == page_language


@pytest.mark.django_db
def test_platform_staff_acting_for_no_seller_keep_the_browsers_language_until_they_choose(client):
    staff = make_user(is_platform_staff=True, is_staff=True, language="")
    client.force_login(staff)
    assert client.get(ADMIN, headers={"accept-language": "es"})["Content-Language"] == "es"

    staff.language = "en"
    staff.save()
    assert client.get(ADMIN, headers={"accept-language": "es"})["Content-Language"] == "en"


@pytest.mark.django_db
def test_the_language_page_saves_the_choice_and_goes_back(client):
    cashier = person("MLA", "cashier")
    client.force_login(cashier)

    page = client.get(LANGUAGE_PAGE, {"next": ADMIN})
    assert "Elegí el idioma de tus páginas" in page.text
    assert "El idioma de tu vendedor: Español (Argentina)" in page.text
    assert reverse("accounts:language") in client.get(ADMIN).text  # the header's link

    response = client.post(LANGUAGE_PAGE, {"language": "pt-br", "next": ADMIN}, follow=True)

    assert response.redirect_chain == [(ADMIN, 302)]
    cashier.refresh_from_db()
    assert cashier.language == "pt-br"
    assert "O seu idioma foi salvo." in response.text
    assert response["Content-Language"] == "pt-br"


@pytest.mark.django_db
def test_the_language_page_refuses_an_unknown_language_and_a_foreign_next(client):
    cashier = person("MLM", "cashier")
    client.force_login(cashier)

    refused = client.post(LANGUAGE_PAGE, {"language": "fr"})
    assert refused.status_code == 200
    cashier.refresh_from_db()
    assert cashier.language == ""

    response = client.post(LANGUAGE_PAGE, {"language": "", "next": "https://evil.example/"})
    assert response["Location"] == ADMIN


def test_the_language_page_needs_a_signed_in_person(client):
    response = client.get(LANGUAGE_PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_partner_api_answers_in_english_whoever_asks(client):
    """Its messages are for developers; a seller's page in Spanish is not."""
    answer = client.get("/api/v1/tenant", HTTP_ACCEPT_LANGUAGE="es-AR,es;q=0.9")

    assert answer.status_code == 401
    assert answer.json()["message"] == "Authentication credentials were not provided."
    assert answer["Content-Language"] == "en"
