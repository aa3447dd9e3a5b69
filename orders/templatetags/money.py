"""``{% load money %}{% money amount currency %}``: an amount as merchant_platform.money formats it,
in the page's ``money_locale`` when the view sets one, else in the locale of the person signed in
(``locale_for_request``)."""

from decimal import Decimal

from django import template

from merchant_platform.money import format_money, locale_for_request

register = template.Library()


@register.simple_tag(takes_context=True)
def money(context: template.Context, amount: Decimal, currency: str) -> str:
    locale = context.get("money_locale") or locale_for_request(context["request"])
    return format_money(Decimal(amount), currency, locale)
