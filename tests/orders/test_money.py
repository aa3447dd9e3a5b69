"""merchant_platform.money: one money format per locale, and typed amounts read by the same rules,
refused rather than guessed when they could mean two things."""

import contextlib
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from merchant_platform.money import (
    SITE_LOCALES,
    AmountError,
    amount_format,
    format_money,
    format_number,
    locale_for,
    locale_for_request,
    locale_for_site,
    parse_typed_amount,
)
from tenants.sites import SITES, Site

LOCALES = [*SITE_LOCALES.values(), "en", "es-419"]
CURRENCIES = sorted({info.currency for info in SITES.values()})


@pytest.mark.parametrize(
    ("site", "locale"),
    [
        *[("MLA", "es-AR"), ("MLB", "pt-BR"), ("MLM", "es-MX"), ("MLC", "es-CL")],
        *[("MCO", "es-CO"), ("MLU", "es-UY"), ("MPE", "es-PE")],
    ],
)
def test_each_site_has_its_locale(site, locale):
    assert locale_for_site(site) == locale


def test_every_site_has_a_locale():
    assert set(SITE_LOCALES) == set(Site.values)


@pytest.mark.parametrize(
    ("site", "language", "locale"),
    [
        ("MLA", None, "es-AR"),
        ("MLA", "es", "es-AR"),
        ("MLA", "en", "en"),
        ("MLA", "pt-br", "pt-BR"),
        ("MLB", "pt-br", "pt-BR"),
        ("MLB", "en", "en"),
        ("MLB", "es", "es-419"),
    ],
)
def test_a_persons_language_picks_the_locale(site, language, locale):
    assert locale_for(site, language) == locale


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        ("1500.50", "ARS", "es-AR", "ARS\xa01.500,50"),
        ("1500.5", "BRL", "pt-BR", "BRL\xa01.500,50"),
        ("1500.50", "ARS", "en", "ARS\xa01,500.50"),
        ("1500.50", "MXN", "es-MX", "MXN\xa01,500.50"),  # Mexico writes it the English way
        ("1500.50", "PEN", "es-PE", "PEN\xa01,500.50"),
        ("50", "ARS", "es-AR", "ARS\xa050,00"),  # a whole amount keeps its cents
        ("1234567.89", "UYU", "es-UY", "UYU\xa01.234.567,89"),
        ("1500", "CLP", "es-CL", "CLP\xa01.500"),  # no cents in Chile or Colombia
        ("1500.00", "COP", "es-CO", "COP\xa01.500"),
        ("0.01", "ARS", "es-AR", "ARS\xa00,01"),
        ("-30.00", "ARS", "es-AR", "ARS\xa0-30,00"),  # a refund
    ],
)
def test_money_is_formatted_for_the_locale(amount, currency, locale, shown):
    assert format_money(Decimal(amount), currency, locale) == shown


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("1500,50", "1500.50"),
        ("1.500,50", "1500.50"),
        ("1500", "1500.00"),
        ("1.500", "1500.00"),  # "." groups thousands
        ("1.234.567,8", "1234567.80"),
        ("0,5", "0.50"),
        ("  85,00 ", "85.00"),
        ("ARS 1.500,50", "1500.50"),
        ("$1.500,50", "1500.50"),
        ("ars\xa01500", "1500.00"),
    ],
)
def test_what_an_argentine_types_is_read_as_meant(typed, amount):
    assert parse_typed_amount(typed, "es-AR", "ARS") == Decimal(amount)


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("1,500.50", "Type the amount like 1.500,50"),  # English marks
        ("1.50", "“.” between thousands, “,” before the cents"),  # groups are 3 digits
        ("1500.50", "Type the amount like 1.500,50"),
        ("1,505", "ARS amounts have at most 2 decimals"),  # never read as 1505
        ("1,5050", "ARS amounts have at most 2 decimals"),
        ("1.5.00", "Type the amount like"),
        ("1.5000", "Type the amount like"),
        ("15.00.000", "Type the amount like"),
        ("1500,", "Type the amount like"),
        (",50", "Type the amount like"),
        ("1 500,50", "Type the amount like"),
        ("12a", "Type the amount like"),
        ("abc", "Type the amount like"),
        ("1e3", "Type the amount like"),
        ("\u0661\u0665\u0660\u0660", "Type the amount like"),  # Arabic-Indic 1500
        ("-5", "more than 0"),
        ("ARS -5", "more than 0"),
        ("0", "more than 0"),
        ("0,00", "more than 0"),
        ("", "Type an amount."),
        ("  ", "Type an amount."),
        ("ARS", "Type an amount."),
    ],
)
def test_what_could_be_misread_is_refused_with_a_message(typed, words):
    with pytest.raises(AmountError) as refused:
        parse_typed_amount(typed, "es-AR", "ARS")

    assert words in refused.value.message
    assert isinstance(refused.value, ValueError)


def test_portuguese_follows_the_same_marks():
    assert parse_typed_amount("R$ 1.500,50", "pt-BR", "BRL") == Decimal("1500.50")
    with pytest.raises(AmountError):
        parse_typed_amount("1,500.50", "pt-BR", "BRL")


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("1,500.50", "1500.50"), ("1500.50", "1500.50"), ("1,505", "1505.00"), ("85", "85.00")],
)
def test_in_english_the_marks_swap(typed, amount):
    assert parse_typed_amount(typed, "en", "ARS") == Decimal(amount)


@pytest.mark.parametrize("typed", ["1.500,50", "1,50", "1.505", "1,5,00"])
def test_in_english_a_comma_decimal_is_refused(typed):
    with pytest.raises(AmountError, match=r"1,500\.50"):
        parse_typed_amount(typed, "en", "ARS")


def test_chilean_pesos_have_no_decimals():
    assert parse_typed_amount("1.500", "es-CL", "CLP") == Decimal(1500)
    assert parse_typed_amount("15000", "es-CL", "CLP") == Decimal(15000)
    with pytest.raises(AmountError, match=r"CLP amounts have no decimals, like 1\.500"):
        parse_typed_amount("1500,50", "es-CL", "CLP")
    with pytest.raises(AmountError, match="CLP amounts have no decimals"):
        parse_typed_amount("1500,0", "es-CL", "CLP")


def test_colombian_pesos_are_whole_as_mercado_pago_wants_them():
    assert format_money(Decimal(25000), "COP", "es-CO") == "COP\xa025.000"
    with pytest.raises(AmountError, match="COP amounts have no decimals"):
        parse_typed_amount("25.000,50", "es-CO", "COP")


def test_the_message_speaks_the_active_language():
    from django.utils import translation

    with translation.override("en"), pytest.raises(AmountError) as refused:
        parse_typed_amount("1.50", "es-AR", "ARS")

    assert refused.value.message == (
        "Type the amount like 1.500,50: “.” between thousands, “,” before the cents."
    )


def amounts(places: int):
    return st.decimals(
        min_value=Decimal(1).scaleb(-places),
        max_value=Decimal("999999999999.99"),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


@given(data=st.data(), locale=st.sampled_from(LOCALES), currency=st.sampled_from(CURRENCIES))
def test_what_is_shown_reads_back_as_the_same_amount(data, locale, currency):
    places = 0 if currency in ("CLP", "COP") else 2
    amount = data.draw(amounts(places))

    assert parse_typed_amount(format_money(amount, currency, locale), locale, currency) == amount
    assert parse_typed_amount(format_number(amount, currency, locale), locale, currency) == amount


@given(amount=amounts(2), locale=st.sampled_from(LOCALES))
def test_an_amount_typed_without_thousands_separators_reads_back(amount, locale):
    typed = str(amount).replace(".", str(amount_format(locale, "ARS")["decimal"]))

    assert parse_typed_amount(typed, locale, "ARS") == amount


@given(st.text(alphabet="0123456789.,", min_size=1, max_size=12))
def test_no_entry_means_one_amount_in_spanish_and_another_in_english(typed):
    """Never reinterpreted: an entry both readings accept is the same amount in both."""
    readings = set()
    for locale in ("es-AR", "en"):
        with contextlib.suppress(AmountError):
            readings.add(parse_typed_amount(typed, locale, "ARS"))
    assert len(readings) <= 1


@pytest.mark.parametrize(
    ("site", "language", "locale"),
    [
        ("MLA", "", "es-AR"),
        ("MLA", "es", "es-AR"),
        ("MLA", "en", "en"),
        ("MLB", "es", "es-419"),
        ("MLM", "pt-br", "pt-BR"),
        (None, "pt-br", "pt-BR"),
        (None, "es", "es-419"),
    ],
)
def test_a_requests_money_locale_is_its_persons_language_at_its_seller(site, language, locale):
    tenant = SimpleNamespace(site=site) if site else None
    request = SimpleNamespace(user=SimpleNamespace(language=language), tenant=tenant)
    with translation.override("en"):
        assert locale_for_request(request) == locale


@pytest.mark.parametrize(
    ("page_language", "locale"), [("pt-br", "pt-BR"), ("es-ar", "es-AR"), ("en", "en")]
)
def test_a_signed_out_pages_money_locale_follows_the_pages_language(page_language, locale):
    """With no seller and no choice, as LocaleMiddleware read it from the browser."""
    request = SimpleNamespace(user=AnonymousUser(), tenant=None)
    with translation.override(page_language):
        assert locale_for_request(request) == locale
