"""Money for people: the one format of an amount per locale, and amounts typed in that locale.

Locales are BCP 47 tags (``es-AR``, ``pt-BR``, ``en``); the digits, the decimal mark and the
thousands separator come from CLDR (Babel). Every page, e-mail and export shows money through
``format_money``; every amount a person types goes through ``parse_typed_amount``, which refuses
an entry it would have to guess about instead of reinterpreting it.
"""

import re
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from babel.numbers import (
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
)
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _

from merchant_platform.language import language_for_request
from tenants.sites import SITES, Site

SITE_LOCALES: dict[str, str] = {
    Site.MLA: "es-AR",
    Site.MLB: "pt-BR",
    Site.MLM: "es-MX",
    Site.MLC: "es-CL",
    Site.MCO: "es-CO",
    Site.MPE: "es-PE",
    Site.MLU: "es-UY",
}
"""The money locale of each Mercado Pago site. Mexico and Peru write ``1,500.50``, as CLDR says."""

_DECIMAL_PLACES = {info.currency: info.decimal_places for info in SITES.values()}


class AmountError(ValueError):
    """A typed amount that is not one; ``message`` tells the person what to type instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def locale_for_site(site_id: str) -> str:
    """The money locale of a seller on ``site_id`` (``MLA`` -> ``es-AR``)."""
    return SITE_LOCALES[site_id]


LANGUAGE_LOCALES: dict[str, str] = {"en": "en", "es": "es-419", "es-ar": "es-AR", "pt-br": "pt-BR"}
"""The money locale of each page language (``merchant_platform.language``), away from a seller."""


def locale_for(site_id: str, language: str | None) -> str:
    """The money locale of a person who reads ``language`` (``en``, ``es``, ``pt-br``) at a seller
    on ``site_id``: the site's own when ``language`` is the site's language or not chosen."""
    site_locale = locale_for_site(site_id)
    chosen = (language or "").lower()
    if not chosen or site_locale.lower().startswith(chosen.split("-")[0]):
        return site_locale
    return LANGUAGE_LOCALES.get(chosen, site_locale)


def locale_for_request(request: HttpRequest) -> str:
    """The money locale of the person making ``request``: that of the language of their pages
    (``language_for_request``) at the seller they act for; with no seller (platform staff across
    sellers, a signed-out page), that of the page's language alone."""
    language = language_for_request(request) or translation.get_language() or "en"
    tenant = getattr(request, "tenant", None)
    if tenant is not None:
        return locale_for(tenant.site, language)
    return LANGUAGE_LOCALES.get(language.lower(), "en")


def decimal_places(currency: str) -> int:
    """How many decimals amounts in ``currency`` have: 2, or 0 for CLP and COP (as Mercado Pago)."""
    return _DECIMAL_PLACES.get(currency, get_currency_precision(currency))


def _babel(locale: str) -> Locale:
    return Locale.parse(locale, sep="-")


def format_number(amount: Decimal, currency: str, locale: str) -> str:
    """``amount`` with the decimals of ``currency`` and the marks of ``locale``: ``1.500,50``."""
    places = decimal_places(currency)
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    pattern = "#,##0." + "0" * places if places else "#,##0"
    return format_decimal(rounded, pattern, locale=_babel(locale), decimal_quantization=False)


def format_money(amount: Decimal, currency: str, locale: str) -> str:
    """``amount`` as people read it in ``locale``: ``ARS 1.500,50``, ``CLP 1.500``, and in
    English ``ARS 1,500.50``. The ISO code goes first, joined by a no-break space."""
    return f"{currency}\u00a0{format_number(amount, currency, locale)}"


def amount_format(locale: str, currency: str) -> dict[str, str | int]:
    """What a page needs to read and show amounts as ``parse_typed_amount`` does."""
    places = decimal_places(currency)
    symbols = {currency, get_currency_symbol(currency, locale=_babel(locale)), "$"}
    return {
        "decimal": get_decimal_symbol(_babel(locale)),
        "group": get_group_symbol(_babel(locale)),
        "places": places,
        "currency": currency,
        "example": format_number(Decimal("1500.50" if places else "1500"), currency, locale),
        "symbols": " ".join(
            sorted(symbols, key=lambda symbol: (-len(symbol), symbol))
        ),  # may lead an entry
    }


def parse_typed_amount(text: str, locale: str, currency: str) -> Decimal:
    """The amount a person typed in ``locale``, e.g. ``1500,50`` or ``1.500,50`` in ``es-AR``.

    The thousands separator only ever sits between groups of three digits and the decimal mark
    takes at most the currency's decimals, so ``1.50`` and ``1,505`` in ``es-AR`` (or
    ``1.500,50`` in ``en``) are refused rather than guessed. Surrounding spaces and a leading
    currency code or symbol are allowed. Raises ``AmountError`` with a message for the person.
    """
    shape = amount_format(locale, currency)
    decimal, group, places = str(shape["decimal"]), str(shape["group"]), int(shape["places"])
    entry = _without_currency(text.strip(), str(shape["symbols"]))
    if not entry:
        raise AmountError(_("Type an amount."))
    if entry[0] in "-\u2212":
        raise AmountError(_("Type an amount more than 0."))
    number = re.fullmatch(
        rf"(\d{{1,3}}(?:{re.escape(group)}\d{{3}})+|\d+)(?:{re.escape(decimal)}(\d+))?",
        entry,
        flags=re.ASCII,
    )
    if number is None:
        if places:
            message = _(
                "Type the amount like %(example)s: “%(group)s” between thousands, "
                "“%(decimal)s” before the cents."
            )
        else:
            message = _("Type the amount like %(example)s: “%(group)s” between thousands.")
        raise AmountError(message % shape)
    whole, fraction = number.group(1).replace(group, ""), number.group(2) or ""
    if len(fraction) > places:
        if places:
            message = _("%(currency)s amounts have at most %(places)d decimals, like %(example)s.")
        else:
            message = _("%(currency)s amounts have no decimals, like %(example)s.")
        raise AmountError(message % shape)
    amount = Decimal(f"{whole}.{fraction or '0'}").quantize(Decimal(1).scaleb(-places))
    if amount == 0:
        raise AmountError(_("Type an amount more than 0."))
    return amount


def _without_currency(entry: str, symbols: str) -> str:
    """``entry`` without a leading ISO code or currency symbol (``ARS``, ``$``, ``R$``)."""
    for symbol in symbols.split():
        if entry.upper().startswith(symbol.upper()):
            return entry[len(symbol) :].strip()
    return entry
