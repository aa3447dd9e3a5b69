"""Every amount a person sees goes through merchant_platform.money.format_money (in templates the
``{% money %}`` tag): no page, admin column, message or script formats money its own way."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import make_member, make_tenant

BASE = Path(settings.BASE_DIR)
# The sandbox stands in for Mercado Pago (it imports nothing of the platform); mpapi writes
# amounts as Mercado Pago's API wants them, not for people; money.py is the one format.
NOT_FOR_PEOPLE = {"tests", "sandbox", "mpapi", "bench", "docs", "deploy", "locale", "staticfiles"}
ONE_FORMAT = BASE / "merchant_platform" / "money.py"

FORBIDDEN = {
    ".html": {
        "a number filter": re.compile(r"\|\s*(floatformat|intcomma)\b"),
        "a currency next to an amount": re.compile(
            r"\{\{[^}]*\bcurrency\s*\}\}\s*\{\{|\}\}\s*\{\{[^}]*\bcurrency\s*\}\}"
        ),
    },
    ".py": {
        "a thousands or decimals format spec": re.compile(r"\{[^{}\n]*:[^{}\n]*(,|\.\d+f)\}"),
        "a currency next to an amount": re.compile(
            r"\{[^{}\n]*\bcurrency\}\s*\{|\}\s*\{[^{}\n]*\bcurrency\}"
        ),
        "Babel or Django number formatting": re.compile(
            r"\b(format_currency|format_decimal|number_format|floatformat|intcomma)\("
        ),
    },
    ".js": {
        "a number format": re.compile(r"\.toFixed\(|Intl\.NumberFormat\([^)]*currency"),
    },
}


def files_for_people() -> list[Path]:
    files = []
    for top in BASE.iterdir():
        if top.is_dir() and top.name not in NOT_FOR_PEOPLE and not top.name.startswith("."):
            files += [path for path in top.rglob("*") if path.suffix in FORBIDDEN]
    return sorted(path for path in files if path != ONE_FORMAT and "migrations" not in path.parts)


def money_formatted_another_way() -> list[str]:
    found = []
    for path in files_for_people():
        text = path.read_text()
        for what, pattern in FORBIDDEN[path.suffix].items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(BASE)}:{line}: {what}: {match.group(0)!r}")
    return found


def test_no_money_is_formatted_outside_format_money():
    assert money_formatted_another_way() == []


@pytest.mark.parametrize(
    ("suffix", "line"),
    [
        (".html", "<td>{{ order.currency }} {{ order.total_amount }}</td>"),
        (".html", "<td>{{ row.total|floatformat:2 }}</td>"),
        (".py", 'return f"{order.currency} {order.total_amount:,}"'),
        (".py", 'message = f"At most {available} {order.currency} can be refunded."'),
        (".py", 'return f"{amount:.2f}"'),
        (".py", "return format_decimal(amount, locale='es_AR')"),
        (".js", "preview.textContent = amount.toFixed(2);"),
    ],
)
def test_the_patterns_catch_the_ways_money_was_formatted(suffix, line):
    assert any(pattern.search(line) for pattern in FORBIDDEN[suffix].values())


@pytest.mark.parametrize(
    ("suffix", "line"),
    [
        (".html", "<td>{% money order.total_amount order.currency %}</td>"),
        (".html", '<p>{% translate "Currency" %}: {{ order.currency }}</p>'),
        (".py", 'return f"{order.title} ({order.status})"'),
        (".py", "return format_money(order.total_amount, order.currency, locale)"),
        (".py", 'logger.info("order %s saved", order.uid)'),
    ],
)
def test_the_patterns_let_the_one_format_and_other_text_through(suffix, line):
    assert not any(pattern.search(line) for pattern in FORBIDDEN[suffix].values())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "fixed", "cap"),
    [("", "ARS\xa01.500,00", "ARS\xa02.500,50"), ("en", "ARS\xa01,500.00", "ARS\xa02,500.50")],
)
def test_the_sellers_fees_are_shown_as_money_in_the_persons_locale(client, language, fixed, cap):
    seller = make_tenant(site="MLA", fee_fixed=Decimal("1500"), fee_cap=Decimal("2500.5"))
    owner = make_member(seller, "owner")
    owner.language = language
    owner.save(update_fields=["language"])
    client.force_login(owner)

    page = client.get(reverse("admin:tenants_tenant_changelist")).text

    assert fixed in page
    assert cap in page
