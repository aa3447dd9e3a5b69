"""Sellers: site-derived facts, the marketplace-fee policy in Decimal, roles."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from tenants.models import Tenant
from tenants.roles import ROLE_CAPABILITIES, Capability, Role, role_can
from tenants.sites import SITES, Site


@pytest.mark.parametrize(
    ("site", "country", "currency", "decimals"),
    [
        ("MLA", "ARG", "ARS", 2),
        ("MLB", "BRA", "BRL", 2),
        ("MLM", "MEX", "MXN", 2),
        ("MLC", "CHL", "CLP", 0),
        ("MCO", "COL", "COP", 0),
        ("MPE", "PER", "PEN", 2),
        ("MLU", "URY", "UYU", 2),
    ],
)
def test_site_fixes_country_currency_and_decimals(site, country, currency, decimals):
    tenant = Tenant(site=site)
    assert (tenant.country_code, tenant.currency, tenant.decimal_places) == (
        country,
        currency,
        decimals,
    )


def test_every_site_is_described():
    assert set(SITES) == set(Site.values)


@pytest.mark.parametrize(
    ("site", "percent", "fixed", "cap", "amount", "fee"),
    [
        ("MLA", "1.50", "0", None, "1000.00", "15.00"),
        ("MLA", "1.25", "0.10", None, "10.00", "0.23"),  # 0.125 + 0.10 = 0.225 -> half up
        ("MLB", "2.00", "0", "5.00", "1000.00", "5.00"),  # capped
        ("MLB", "0", "3.00", None, "2.00", "2.00"),  # never more than the order
        ("MLC", "2.50", "0", None, "1990", "50"),  # 49.75 -> whole pesos
        ("MCO", "3.00", "100", None, "15000", "550"),
        ("MLM", "0", "0", None, "99.99", "0.00"),
    ],
)
def test_marketplace_fee_policy(site, percent, fixed, cap, amount, fee):
    tenant = Tenant(
        site=site,
        fee_percent=Decimal(percent),
        fee_fixed=Decimal(fixed),
        fee_cap=Decimal(cap) if cap else None,
    )
    result = tenant.marketplace_fee_for(Decimal(amount))
    assert isinstance(result, Decimal)
    assert result == Decimal(fee)
    assert str(result) == fee


@pytest.mark.django_db
def test_fee_policy_is_validated_and_constrained():
    tenant = Tenant(name="X", slug="x", site="MLA", fee_percent=Decimal("101"))
    with pytest.raises(ValidationError, match="100"):
        tenant.full_clean()
    with pytest.raises(IntegrityError):
        tenant.save()


def test_roles_capabilities():
    assert ROLE_CAPABILITIES[Role.OWNER] == frozenset(Capability)
    assert role_can(Role.MANAGER, Capability.REFUND_ORDERS)
    assert not role_can(Role.MANAGER, Capability.MANAGE_CREDENTIALS)
    assert role_can(Role.CASHIER, Capability.CREATE_ORDERS)
    assert role_can(Role.CASHIER, Capability.CANCEL_ORDERS)
    assert not role_can(Role.CASHIER, Capability.REFUND_ORDERS)
    assert not role_can(Role.CASHIER, Capability.MANAGE_STORES)
    assert ROLE_CAPABILITIES[Role.VIEWER] == {Capability.VIEW}
    assert not role_can(None, Capability.VIEW)


def test_the_sellers_order_defaults_name_the_orders_apis_and_modes():
    from orders.models import Api, Mode
    from tenants.models import ORDER_API_CHOICES, QR_MODE_CHOICES

    assert list(Api.choices) == ORDER_API_CHOICES
    assert dict(QR_MODE_CHOICES) == {
        mode: label for mode, label in Mode.choices if mode != Mode.STATIC
    }


@pytest.mark.django_db
def test_a_sellers_logo_is_read_only_by_whom_shows_it():
    tenant = Tenant.objects.create(name="Logo", slug="logo", site="MLA", logo_png=b"\x89PNG")
    loaded = Tenant.objects.get(pk=tenant.pk)
    assert loaded.get_deferred_fields() == {"logo_png"}
    loaded.name = "Renamed"
    loaded.save()  # saves what was loaded, never an empty logo over the stored one
    assert bytes(Tenant.objects.get(pk=tenant.pk).logo_png) == b"\x89PNG"
