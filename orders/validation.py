"""The rules Mercado Pago enforces on a new order, checked before it is called.

Each rule answers with the error code the chosen API would answer (api.md §2.4 for the legacy
in-store API, §3.4 for the Orders API) and a message that says what to fix. Where Mercado Pago
documents no code (Colombia's IVA on the legacy API), the code is ours and says so in its name.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from orders.errors import InvalidOrder, Problem
from orders.models import Api, Mode
from pos.models import PointOfSale
from tenants.models import Tenant
from tenants.sites import SiteInfo

EXTERNAL_REFERENCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MIN_EXPIRATION = timedelta(seconds=30)
MAX_EXPIRATION = timedelta(hours=3600)
STATIC_QR_CAP = timedelta(minutes=10)  # Mercado Pago caps what the printed QR shows (api.md §3.2)
MAX_AMOUNT = Decimal("999999999999.99")
TITLE_MAX = 256
DESCRIPTION_MAX = {Api.V1: 150, Api.INSTORE: 256}
LEGACY_UNIT_MEASURES = ("unit", "pack")

# The code each API answers for each rule.
CODES = {
    "api": ("property_value", "property_value"),
    "mode": ("property_value", "property_value"),
    "pos": ("pos_not_found", "pos_not_found"),
    "external_reference": ("property_value", "invalid_external_reference"),
    "title": ("required_properties", "invalid_title"),
    "description": ("property_value", "invalid_description"),
    "item_title": ("property_value", "invalid_items.title"),
    "unit_price": ("property_value", "invalid_unit_price"),
    "quantity": ("property_value", "invalid_quantity"),
    "unit_measure": ("property_value", "invalid_unit_measure"),
    "item_total": ("invalid_total_amount", "invalid_items.total_amount"),
    "total_amount": ("invalid_total_amount", "invalid_total_amount"),
    "nothing_to_pay": ("required_properties", "error_creating_seller_qr_order"),
    "cash_out": ("unsupported_properties", "invalid_cash_out.amount"),
    "expiration": ("property_value", "invalid_expiration_date"),
    "taxes": ("property_value", "invalid_taxes"),
    "marketplace_fee": ("property_value", "invalid_marketplace_fee"),
    "marketplace_not_valid": ("marketplace_not_valid", "marketplace_not_valid"),
}


@dataclass(frozen=True)
class ItemInput:
    """A line of a new order. ``total_amount``, when given, must be ``unit_price x quantity``."""

    title: str
    unit_price: Decimal
    quantity: int = 1
    unit_measure: str = "unit"
    description: str = ""
    sku: str = ""
    category: str = ""
    total_amount: Decimal | None = None


@dataclass(frozen=True)
class TaxInput:
    """A tax of the whole order as an amount (Colombia's ``IVA``), not a rate."""

    value: Decimal
    type: str = "IVA"


@dataclass(frozen=True)
class OrderInput:
    """Everything a new order is made of, as the caller gave it."""

    api: str
    mode: str
    external_reference: str
    title: str
    description: str = ""
    items: Sequence[ItemInput] = ()
    total_amount: Decimal | None = None
    cash_out_amount: Decimal | None = None
    taxes: Sequence[TaxInput] = ()
    expiration_date: datetime | None = None
    expiration_time: timedelta | None = None
    marketplace_fee: Decimal | None = None


@dataclass(frozen=True)
class ValidOrder:
    """What follows from a valid input: the amounts and times to send and to keep."""

    total_amount: Decimal
    marketplace_fee: Decimal | None
    expiration_time: timedelta  # sent to the Orders API
    expires_at: datetime  # when the order stops being payable (the legacy expiration_date)


class _Checker:
    def __init__(self, api: str, site: SiteInfo) -> None:
        self.api = api if api in Api.values else Api.V1
        self.site = site
        self.problems: list[Problem] = []

    def fail(self, rule: str, field: str, message: str) -> None:
        v1_code, instore_code = CODES[rule]
        code = v1_code if self.api == Api.V1 else instore_code
        self.problems.append(Problem(field, code, message))

    def amount(self, rule: str, field: str, value: object, *, positive: bool = True) -> bool:
        """Whether ``value`` is an amount in the currency; records the problem when not."""
        problem = amount_problem(value, self.site, field=field, positive=positive)
        if problem:
            self.fail(rule, field, problem)
        return not problem


def amount_problem(value: object, site: SiteInfo, *, field: str, positive: bool = True) -> str:
    """What is wrong with ``value`` as an amount in ``site``'s currency; "" when nothing."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        return f"{field} must be a decimal amount."
    value = Decimal(value)
    if value.is_finite() and (value < 0 or (positive and value == 0) or value > MAX_AMOUNT):
        least = "more than 0" if positive else "0 or more"
        return f"{field} must be {least} and at most {MAX_AMOUNT}."
    # By value, not by how it is written: Decimal("5000.00") is a whole amount of CLP.
    if not value.is_finite() or value != value.quantize(site.smallest_amount):
        if site.decimal_places:
            return f"{field} may have at most two decimals."
        return f"{field} must be a whole amount in {site.currency}."
    return ""


def validate(
    order: OrderInput,
    *,
    tenant: Tenant,
    pos: PointOfSale | None,
    allows_marketplace_fee: bool,
    default_expiration: timedelta,
    now: datetime,
) -> ValidOrder:
    """Check ``order`` for ``tenant``; the amounts and times to use, or ``InvalidOrder``."""
    check = _Checker(order.api, tenant.site_info)
    if order.api not in Api.values:
        check.fail("api", "api", "api must be v1 (Orders API) or instore (legacy in-store API).")
    if order.mode not in Mode.values:
        check.fail("mode", "mode", "mode must be dynamic, hybrid or static.")
    _check_pos(check, tenant, pos, order.mode)
    _check_texts(check, order)
    items_total = _check_items(check, order.items)
    total = _check_total(check, order, items_total)
    _check_taxes(check, tenant, order.taxes, total)
    expiration_time, expires_at = _check_expiration(check, order, default_expiration, now)
    fee = _check_fee(check, tenant, order.marketplace_fee, total, allows_marketplace_fee)
    if check.problems:
        raise InvalidOrder(check.problems)
    return ValidOrder(
        total_amount=total,
        marketplace_fee=fee,
        expiration_time=expiration_time,
        expires_at=expires_at,
    )


def _check_pos(check: _Checker, tenant: Tenant, pos: PointOfSale | None, mode: str) -> None:
    if pos is None or pos.tenant_id != tenant.pk:
        check.fail("pos", "pos", "Choose a point of sale of this seller.")
    elif pos.mp_pos_id is None:
        check.fail(
            "pos", "pos", f"Point of sale {pos.external_id} is not synced with Mercado Pago yet."
        )
    elif mode == Mode.STATIC and pos.store.mp_store_id is None:
        check.fail("pos", "pos", f"The store of {pos.external_id} is not synced yet.")


def _check_texts(check: _Checker, order: OrderInput) -> None:
    if not isinstance(order.external_reference, str) or not EXTERNAL_REFERENCE.fullmatch(
        order.external_reference
    ):
        check.fail(
            "external_reference",
            "external_reference",
            "external_reference must be 1 to 64 letters, digits, '-' or '_'.",
        )
    if not isinstance(order.title, str) or not order.title.strip():
        check.fail("title", "title", "title is required.")
    elif len(order.title) > TITLE_MAX:
        check.fail("title", "title", f"title may have at most {TITLE_MAX} characters.")
    limit = DESCRIPTION_MAX[check.api]
    if not isinstance(order.description, str) or len(order.description) > limit:
        check.fail(
            "description", "description", f"description may have at most {limit} characters."
        )


def _check_items(check: _Checker, items: Sequence[ItemInput]) -> Decimal | None:
    """The items' total, or None when there are none (or one is invalid)."""
    if not items:
        return None
    total, valid = Decimal(0), True
    for index, item in enumerate(items):
        field = f"items.{index}"
        if not isinstance(item.title, str) or not item.title.strip():
            check.fail("item_title", f"{field}.title", f"{field}.title is required.")
        price_ok = check.amount("unit_price", f"{field}.unit_price", item.unit_price)
        quantity_ok = not isinstance(item.quantity, bool) and isinstance(item.quantity, int)
        if not quantity_ok or item.quantity < 1:
            check.fail("quantity", f"{field}.quantity", f"{field}.quantity must be 1 or more.")
            quantity_ok = False
        if check.api == Api.INSTORE and item.unit_measure not in LEGACY_UNIT_MEASURES:
            check.fail(
                "unit_measure",
                f"{field}.unit_measure",
                f"{field}.unit_measure must be unit or pack for the legacy in-store API.",
            )
        if not (price_ok and quantity_ok):
            valid = False
            continue
        line_total = Decimal(item.unit_price) * item.quantity
        if item.total_amount is not None and item.total_amount != line_total:
            check.fail(
                "item_total",
                f"{field}.total_amount",
                f"{field}.total_amount must be unit_price x quantity ({line_total}).",
            )
        total += line_total
    return total if valid else None


def _check_total(check: _Checker, order: OrderInput, items_total: Decimal | None) -> Decimal:
    cash_out = order.cash_out_amount
    if cash_out is not None:
        if check.api == Api.V1:
            check.fail("cash_out", "cash_out_amount", "Cash-out is not offered on Orders API QR.")
        elif not check.amount("cash_out", "cash_out_amount", cash_out):
            cash_out = None
    if not order.items and cash_out is None:
        if check.api == Api.INSTORE:
            check.fail("nothing_to_pay", "items", "An order with no items needs a cash_out amount.")
        elif order.total_amount is None:
            check.fail("nothing_to_pay", "total_amount", "Give items or a total_amount.")
    expected = None
    if items_total is not None or (cash_out is not None and not order.items):
        expected = (items_total or Decimal(0)) + (cash_out or Decimal(0))
    if order.total_amount is None:
        if expected is not None and not check.amount("total_amount", "total_amount", expected):
            return Decimal(0)  # the items add up to more than an order may be
        return expected or Decimal(0)
    if not check.amount("total_amount", "total_amount", order.total_amount):
        return Decimal(0)
    if expected is not None and Decimal(order.total_amount) != expected:
        check.fail(
            "total_amount",
            "total_amount",
            f"total_amount must equal the items' total plus cash-out ({expected}).",
        )
    return Decimal(order.total_amount)


def _check_taxes(check: _Checker, tenant: Tenant, taxes: Sequence[TaxInput], total: Decimal):
    if not taxes:
        return
    if tenant.site != "MCO":
        check.fail("taxes", "taxes", "taxes (IVA) apply to sellers in Colombia only.")
        return
    for index, tax in enumerate(taxes):
        field = f"taxes.{index}"
        if tax.type != "IVA":
            check.fail("taxes", f"{field}.type", f"{field}.type must be IVA.")
        valid = check.amount("taxes", f"{field}.value", tax.value, positive=False)
        if valid and total and tax.value > total:
            check.fail("taxes", f"{field}.value", f"{field}.value exceeds the total amount.")


def _check_expiration(
    check: _Checker, order: OrderInput, default: timedelta, now: datetime
) -> tuple[timedelta, datetime]:
    requested = order.expiration_time
    if order.expiration_date is not None and requested is not None:
        check.fail(
            "expiration", "expiration_date", "Give expiration_date or expiration_time, not both."
        )
        return default, now + default
    if order.expiration_date is not None:
        if order.expiration_date.tzinfo is None or order.expiration_date <= now:
            check.fail(
                "expiration",
                "expiration_date",
                "expiration_date must be a future date and time with its UTC offset.",
            )
            return default, now + default
        requested = timedelta(seconds=int((order.expiration_date - now).total_seconds()))
    if requested is None:
        requested = default
    if not MIN_EXPIRATION <= requested <= MAX_EXPIRATION:
        check.fail(
            "expiration",
            "expiration_time" if order.expiration_date is None else "expiration_date",
            "The order must stay payable for 30 seconds to 3600 hours.",
        )
        return default, now + default
    requested = timedelta(seconds=int(requested.total_seconds()))
    payable_for = requested
    if check.api == Api.V1 and order.mode == Mode.STATIC:
        payable_for = min(requested, STATIC_QR_CAP)
    return requested, now + payable_for


def _check_fee(
    check: _Checker, tenant: Tenant, fee: Decimal | None, total: Decimal, allowed: bool
) -> Decimal | None:
    """The fee to send: the one asked for, or the seller's policy's when the credential allows
    one; None for no fee."""
    if fee is None:
        if not allowed or not total:
            return None
        fee = tenant.marketplace_fee_for(total)
        return fee or None
    if not allowed:
        check.fail(
            "marketplace_not_valid",
            "marketplace_fee",
            "A marketplace fee needs a Mercado Pago connection made through OAuth.",
        )
        return None
    if not check.amount("marketplace_fee", "marketplace_fee", fee, positive=False):
        return None
    if fee > total:
        check.fail(
            "marketplace_fee", "marketplace_fee", "marketplace_fee exceeds the total amount."
        )
    return Decimal(fee) or None
