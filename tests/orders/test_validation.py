"""The rules of a new order, each proved through ``orders.services.create_order``.

A broken rule raises ``InvalidOrder`` with the code the chosen Mercado Pago API would answer
(``orders.validation.CODES``), the field, a message that says what to fix, and nothing is sent: no
``MercadoPagoCall``, no order in the sandbox, no local order. The valid edge cases reach the
sandbox.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.db.models.signals import pre_save
from django.utils import timezone

from orders import services
from orders.errors import InvalidOrder, NotAllowed, RefusedByMercadoPago
from orders.models import MercadoPagoCall, Order, OrderItem, Status
from orders.validation import ItemInput, TaxInput
from pos import services as pos_services
from sandbox import models as sandbox_models
from tenants.models import MercadoPagoCredential, Tenant
from tenants.scope import cross_tenant_scope, tenant_scope
from tests.factories import (
    make_connected_tenant,
    make_oauth_tenant,
    make_pos,
    make_tenant,
)
from tests.orders.conftest import synced_pos

ITEMS = (ItemInput("Milanesa", Decimal("25.00"), 2),)  # 50.00
V1, INSTORE = "v1", "instore"
BOTH = (V1, INSTORE)


def create(tenant, pos, api: str = V1, **fields) -> Order:
    values = {
        "mode": "dynamic",
        "external_reference": "sale-1",
        "title": "Lunch",
        "items": ITEMS,
    }
    return services.create_order(tenant=tenant, pos=pos, api=api, **(values | fields))


def counts() -> tuple[int, int, int, int]:
    """Mercado Pago calls, local orders and items, and orders in the sandbox."""
    with cross_tenant_scope():
        local = (
            MercadoPagoCall.objects.count(),
            Order.objects.count(),
            OrderItem.objects.count(),
        )
    return (*local, sandbox_models.Order.objects.count())


def refused(tenant, pos, api: str = V1, **fields) -> InvalidOrder:
    """The ``InvalidOrder`` the create raises, after checking that nothing was sent or kept."""
    before = counts()
    with pytest.raises(InvalidOrder) as caught:
        create(tenant, pos, api, **fields)
    assert counts() == before
    return caught.value


def assert_problem(error: InvalidOrder, code: str, field: str, words: str) -> None:
    """``error``'s first problem is ``field`` with ``code``, and its message says ``words``."""
    first = error.problems[0]
    assert (error.code, first.code, first.field) == (code, code, field), error.problems
    assert error.message == first.message
    assert words in first.message


def codes(api: str, v1_code: str, instore_code: str) -> str:
    return v1_code if api == V1 else instore_code


def sandbox_order() -> sandbox_models.Order:
    return sandbox_models.Order.objects.get()


# Texts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", BOTH)
@pytest.mark.parametrize("title", ["", "   "])
def test_a_title_is_required(seller, pos, api, title):
    error = refused(seller, pos, api, title=title)
    assert_problem(
        error, codes(api, "required_properties", "invalid_title"), "title", "is required"
    )


@pytest.mark.parametrize("api", BOTH)
@pytest.mark.parametrize(
    "reference",
    ["", "x" * 65, "sale 1", "venta-ñ", "sale/1", "sale-1\n"],
    ids=["empty", "65-chars", "space", "non-ascii", "slash", "trailing-newline"],
)
def test_external_reference_is_at_most_64_letters_digits_dashes_or_underscores(
    seller, pos, api, reference
):
    error = refused(seller, pos, api, external_reference=reference)
    assert_problem(
        error,
        codes(api, "property_value", "invalid_external_reference"),
        "external_reference",
        "1 to 64 letters, digits, '-' or '_'",
    )


@pytest.mark.parametrize("api", BOTH)
def test_a_64_character_reference_of_every_allowed_character_reaches_mercado_pago(seller, pos, api):
    reference = ("AZaz09-_" * 8)[:64]
    order = create(seller, pos, api, external_reference=reference)
    assert order.status == Status.CREATED
    assert sandbox_order().external_reference == reference


def test_an_orders_api_description_is_at_most_150_characters(seller, pos):
    error = refused(seller, pos, description="d" * 151)
    assert_problem(error, "property_value", "description", "at most 150 characters")


def test_a_150_character_description_reaches_the_orders_api(seller, pos):
    create(seller, pos, description="d" * 150)
    assert sandbox_order().description == "d" * 150


def test_a_legacy_description_may_be_longer_than_150_characters(seller, pos):
    create(seller, pos, INSTORE, description="d" * 200)
    assert sandbox_order().description == "d" * 200


# Items and amounts ---------------------------------------------------------------------------


@pytest.mark.parametrize("api", BOTH)
@pytest.mark.parametrize("price", [Decimal("10.001"), Decimal("0.125")])
def test_unit_price_has_at_most_two_decimals(seller, pos, api, price):
    error = refused(seller, pos, api, items=[ItemInput("Café", price)])
    assert_problem(
        error,
        codes(api, "property_value", "invalid_unit_price"),
        "items.0.unit_price",
        "at most two decimals",
    )


@pytest.mark.parametrize("api", BOTH)
@pytest.mark.parametrize("price", [Decimal(0), Decimal("-1.00")])
def test_unit_price_is_more_than_zero(seller, pos, api, price):
    error = refused(seller, pos, api, items=[ItemInput("Café", price)])
    assert_problem(
        error,
        codes(api, "property_value", "invalid_unit_price"),
        "items.0.unit_price",
        "must be more than 0",
    )


@pytest.mark.parametrize("api", BOTH)
@pytest.mark.parametrize("price", [Decimal("1E+30"), Decimal("1000000000000.001")])
def test_unit_price_is_at_most_the_largest_amount(seller, pos, api, price):
    error = refused(seller, pos, api, items=[ItemInput("Café", price)])
    assert_problem(
        error,
        codes(api, "property_value", "invalid_unit_price"),
        "items.0.unit_price",
        "at most 999999999999.99",
    )


@pytest.mark.parametrize("api", BOTH)
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"items": [ItemInput("Café", 2.5)]}, "items.0.unit_price"),
        ({"items": [], "total_amount": 50.0}, "total_amount"),
        ({"items": [ItemInput("Café", "2.50")]}, "items.0.unit_price"),
    ],
    ids=["float-price", "float-total", "string-price"],
)
def test_amounts_are_decimals_never_floats(seller, pos, api, fields, field):
    error = refused(seller, pos, api, **fields)
    messages = {problem.field: problem.message for problem in error.problems}
    assert messages[field] == f"{field} must be a decimal amount."


@pytest.mark.parametrize("api", BOTH)
@pytest.mark.parametrize("quantity", [0, -1])
def test_quantity_is_at_least_one(seller, pos, api, quantity):
    error = refused(seller, pos, api, items=[ItemInput("Café", Decimal("3.00"), quantity)])
    assert_problem(
        error,
        codes(api, "property_value", "invalid_quantity"),
        "items.0.quantity",
        "must be 1 or more",
    )


@pytest.mark.parametrize("api", BOTH)
def test_an_item_total_must_be_unit_price_times_quantity(seller, pos, api):
    items = [
        ItemInput("Milanesa", Decimal("25.00"), 2, total_amount=Decimal("50.00")),
        ItemInput("Flan", Decimal("7.50"), 2, total_amount=Decimal("14.00")),
    ]
    error = refused(seller, pos, api, items=items)
    assert_problem(
        error,
        codes(api, "invalid_total_amount", "invalid_items.total_amount"),
        "items.1.total_amount",
        "unit_price x quantity (15.00)",
    )


@pytest.mark.parametrize("api", BOTH)
def test_the_order_total_must_equal_the_items_total(seller, pos, api):
    error = refused(seller, pos, api, total_amount=Decimal("60.00"))
    assert_problem(error, "invalid_total_amount", "total_amount", "(50.00)")


@pytest.mark.parametrize("api", BOTH)
def test_items_that_add_up_to_more_than_an_order_may_be_are_refused(seller, pos, api):
    items = (ItemInput("Yacht", Decimal("999999999999.99"), 10),)
    error = refused(seller, pos, api, items=items)
    assert_problem(error, "invalid_total_amount", "total_amount", "at most 999999999999.99")


def test_a_legacy_total_must_include_the_cash_out(seller, pos):
    error = refused(
        seller, pos, INSTORE, cash_out_amount=Decimal("20.00"), total_amount=Decimal("50.00")
    )
    assert_problem(error, "invalid_total_amount", "total_amount", "plus cash-out (70.00)")


def test_a_legacy_order_without_items_needs_a_cash_out(seller, pos):
    error = refused(seller, pos, INSTORE, items=[], total_amount=Decimal("50.00"))
    assert_problem(error, "error_creating_seller_qr_order", "items", "needs a cash_out amount")


def test_an_orders_api_order_without_items_needs_a_total(seller, pos):
    error = refused(seller, pos, items=[])
    assert_problem(error, "required_properties", "total_amount", "Give items or a total_amount")


def test_an_orders_api_order_takes_no_cash_out(seller, pos):
    error = refused(seller, pos, cash_out_amount=Decimal("10.00"), total_amount=Decimal("60.00"))
    assert_problem(error, "unsupported_properties", "cash_out_amount", "Cash-out")


def test_a_legacy_cash_out_without_items_reaches_mercado_pago(seller, pos):
    order = create(seller, pos, INSTORE, items=[], cash_out_amount=Decimal("20.00"))
    assert order.total_amount == Decimal("20.00")
    sent = sandbox_order()
    assert (sent.cash_out_amount, sent.total_amount, sent.items) == (
        Decimal("20.00"),
        Decimal("20.00"),
        [],
    )


def test_a_legacy_order_with_items_and_cash_out_totals_both(seller, pos):
    order = create(seller, pos, INSTORE, cash_out_amount=Decimal("20.00"))
    assert order.total_amount == sandbox_order().total_amount == Decimal("70.00")


def test_a_legacy_unit_measure_is_unit_or_pack(seller, pos):
    error = refused(seller, pos, INSTORE, items=[ItemInput("Queso", Decimal("9.00"), 1, "kg")])
    assert_problem(error, "invalid_unit_measure", "items.0.unit_measure", "unit or pack")


@pytest.mark.parametrize(("api", "measure"), [(INSTORE, "pack"), (V1, "kg")])
def test_a_unit_measure_the_api_takes_reaches_mercado_pago(seller, pos, api, measure):
    create(seller, pos, api, items=[ItemInput("Queso", Decimal("9.00"), 2, measure)])
    assert sandbox_order().items[0]["unit_measure"] == measure


def test_every_broken_rule_is_reported_at_once(seller, pos):
    error = refused(
        seller,
        pos,
        external_reference="no spaces",
        title="",
        items=[ItemInput("", Decimal("1.005"), 0)],
    )
    assert [problem.field for problem in error.problems] == [
        "external_reference",
        "title",
        "items.0.title",
        "items.0.unit_price",
        "items.0.quantity",
    ]
    assert error.as_dict()["title"] == ["title is required."]


# Whole-number currencies ---------------------------------------------------------------------


@pytest.fixture
def chile(db):
    tenant = make_connected_tenant("Empanadas", site="MLC")
    return tenant, synced_pos(tenant)


@pytest.fixture
def colombia(db):
    tenant = make_connected_tenant("Arepas", site="MCO")
    return tenant, synced_pos(tenant)


@pytest.mark.parametrize("api", BOTH)
@pytest.mark.parametrize("site", ["MLC", "MCO"])
def test_amounts_in_clp_and_cop_are_whole(db, api, site):
    tenant = make_connected_tenant(site=site)
    pos = synced_pos(tenant)
    currency = tenant.currency
    error = refused(tenant, pos, api, items=[ItemInput("Pan", Decimal("1500.50"), 2)])
    assert_problem(
        error,
        codes(api, "property_value", "invalid_unit_price"),
        "items.0.unit_price",
        f"whole amount in {currency}",
    )
    error = refused(tenant, pos, api, items=[], total_amount=Decimal("99.5"))
    assert error.problems[-1].field == "total_amount"
    assert f"whole amount in {currency}" in error.problems[-1].message


@pytest.mark.parametrize("api", BOTH)
@pytest.mark.parametrize("price", [Decimal("5000"), Decimal("5000.00")])
def test_a_whole_clp_amount_reaches_mercado_pago(chile, api, price):
    """A whole amount is whole however many zero decimals it is written with."""
    tenant, pos = chile
    order = create(tenant, pos, api, items=[ItemInput("Empanada", price, 3)])
    assert order.total_amount == Decimal(15000)
    sent = sandbox_order()
    assert (sent.currency, sent.total_amount) == ("CLP", Decimal(15000))
    assert sent.items[0]["unit_price"] == ("5000" if api == V1 else 5000)


# Colombia's IVA ------------------------------------------------------------------------------


@pytest.mark.parametrize("api", BOTH)
def test_taxes_are_refused_outside_colombia(seller, pos, api):
    error = refused(seller, pos, api, taxes=[TaxInput(Decimal("8.00"))])
    assert_problem(
        error, codes(api, "property_value", "invalid_taxes"), "taxes", "sellers in Colombia only"
    )


@pytest.mark.parametrize("api", BOTH)
@pytest.mark.parametrize(
    ("tax", "field", "words"),
    [
        (TaxInput(Decimal(1000), "VAT"), "taxes.0.type", "must be IVA"),
        (TaxInput(Decimal(-1)), "taxes.0.value", "taxes.0.value must be 0 or more"),
        (TaxInput(Decimal("1000.50")), "taxes.0.value", "whole amount in COP"),
        (TaxInput(Decimal(50001)), "taxes.0.value", "exceeds the total amount"),
    ],
    ids=["not-iva", "negative", "decimals", "above-total"],
)
def test_colombian_iva_is_a_whole_cop_amount_up_to_the_total(colombia, api, tax, field, words):
    tenant, pos = colombia
    items = [ItemInput("Arepa", Decimal(25000), 2)]  # 50000 COP
    error = refused(tenant, pos, api, items=items, taxes=[tax])
    assert_problem(error, codes(api, "property_value", "invalid_taxes"), field, words)


@pytest.mark.parametrize("api", BOTH)
@pytest.mark.parametrize("iva", [Decimal(0), Decimal(7983), Decimal(50000)])
def test_colombian_iva_reaches_mercado_pago(colombia, api, iva):
    tenant, pos = colombia
    items = [ItemInput("Arepa", Decimal(25000), 2)]
    order = create(tenant, pos, api, items=items, taxes=[TaxInput(iva)])
    assert order.status == Status.CREATED
    assert order.taxes == [{"type": "IVA", "value": str(iva)}]
    if api == V1:  # the sandbox's Orders API takes taxes[] but does not keep them
        with tenant_scope(tenant):
            sent = MercadoPagoCall.objects.get().request_body["taxes"]
        assert sent == [{"type": "IVA", "value": str(iva)}]
    else:
        assert sandbox_order().taxes == [{"value": int(iva), "type": "IVA"}]


# Expiration ----------------------------------------------------------------------------------


@pytest.mark.parametrize("api", BOTH)
@pytest.mark.parametrize(
    "expiration_date",
    [
        lambda: timezone.now() - timedelta(minutes=1),
        lambda: timezone.now(),
        lambda: datetime.now() + timedelta(hours=1),
    ],
    ids=["past", "now", "naive"],
)
def test_expiration_date_is_a_future_moment_with_its_offset(seller, pos, api, expiration_date):
    error = refused(seller, pos, api, expiration_date=expiration_date())
    assert_problem(
        error,
        codes(api, "property_value", "invalid_expiration_date"),
        "expiration_date",
        "must be a future date and time with its UTC offset",
    )


@pytest.mark.parametrize("api", BOTH)
def test_expiration_date_and_time_are_not_both_given(seller, pos, api):
    error = refused(
        seller,
        pos,
        api,
        expiration_date=timezone.now() + timedelta(hours=1),
        expiration_time=timedelta(hours=1),
    )
    assert_problem(
        error,
        codes(api, "property_value", "invalid_expiration_date"),
        "expiration_date",
        "not both",
    )


@pytest.mark.parametrize("api", BOTH)
@pytest.mark.parametrize(
    "expiration_time",
    [timedelta(seconds=29), timedelta(hours=3600, seconds=1), timedelta(0), timedelta(-1)],
    ids=["29s", "3600h1s", "zero", "negative"],
)
def test_expiration_time_is_from_30_seconds_to_3600_hours(seller, pos, api, expiration_time):
    error = refused(seller, pos, api, expiration_time=expiration_time)
    assert_problem(
        error,
        codes(api, "property_value", "invalid_expiration_date"),
        "expiration_time",
        "30 seconds to 3600 hours",
    )


def test_an_expiration_date_too_close_for_the_orders_api_is_refused(seller, pos):
    error = refused(seller, pos, expiration_date=timezone.now() + timedelta(seconds=10))
    assert_problem(error, "property_value", "expiration_date", "30 seconds to 3600 hours")


@pytest.mark.parametrize(
    ("expiration_time", "sent"),
    [(timedelta(seconds=30), "PT30S"), (timedelta(hours=3600), "PT3600H")],
)
def test_the_bounds_of_expiration_time_reach_the_orders_api(seller, pos, expiration_time, sent):
    before = timezone.now()
    order = create(seller, pos, expiration_time=expiration_time)
    assert sandbox_order().expiration_time == sent
    assert order.expiration_seconds == expiration_time.total_seconds()
    assert before + expiration_time <= order.expires_at <= timezone.now() + expiration_time


@pytest.mark.parametrize("expiration_time", [timedelta(seconds=30), timedelta(hours=3600)])
def test_the_bounds_of_expiration_time_reach_the_legacy_api_as_a_date(seller, pos, expiration_time):
    order = create(seller, pos, INSTORE, expiration_time=expiration_time)
    sent = sandbox_order().expiration_date  # with milliseconds, as api.md shows it
    assert timedelta(0) <= order.expires_at - sent < timedelta(milliseconds=1)
    assert order.expires_at - timezone.now() <= expiration_time


def test_a_legacy_expiration_date_reaches_mercado_pago(seller, pos):
    moment = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    order = create(seller, pos, INSTORE, expiration_date=moment)
    assert abs(sandbox_order().expiration_date - moment) <= timedelta(seconds=1)
    assert abs(order.expires_at - moment) <= timedelta(seconds=1)


# Marketplace fee -----------------------------------------------------------------------------


@pytest.mark.parametrize("api", BOTH)
@pytest.mark.parametrize("fee", [Decimal("1.00"), Decimal(0)])
def test_a_marketplace_fee_needs_an_oauth_connection(seller, pos, api, fee):
    error = refused(seller, pos, api, marketplace_fee=fee)
    assert_problem(error, "marketplace_not_valid", "marketplace_fee", "OAuth")


@pytest.fixture
def oauth_seller(db):
    tenant = make_oauth_tenant("Parrilla OAuth", site="MLA")
    return tenant, synced_pos(tenant)


@pytest.mark.parametrize("api", BOTH)
@pytest.mark.parametrize(
    ("fee", "words"),
    [
        (Decimal("50.01"), "exceeds the total amount"),
        (Decimal("-1.00"), "marketplace_fee must be 0 or more"),
        (Decimal("1.001"), "at most two decimals"),
    ],
    ids=["above-total", "negative", "three-decimals"],
)
def test_a_marketplace_fee_is_an_amount_up_to_the_total(oauth_seller, api, fee, words):
    tenant, pos = oauth_seller
    error = refused(tenant, pos, api, marketplace_fee=fee)
    assert_problem(
        error, codes(api, "property_value", "invalid_marketplace_fee"), "marketplace_fee", words
    )


def test_a_marketplace_fee_that_is_not_an_amount_is_refused(oauth_seller):
    tenant, pos = oauth_seller
    error = refused(tenant, pos, marketplace_fee="a lot")
    assert_problem(error, "property_value", "marketplace_fee", "must be a decimal amount")


@pytest.mark.parametrize("api", BOTH)
def test_a_marketplace_fee_equal_to_the_total_reaches_mercado_pago(oauth_seller, api):
    tenant, pos = oauth_seller
    order = create(tenant, pos, api, marketplace_fee=Decimal("50.00"))
    assert order.marketplace_fee == sandbox_order().marketplace_fee == Decimal("50.00")


# Point of sale -------------------------------------------------------------------------------


@pytest.mark.parametrize("api", BOTH)
def test_a_pos_of_another_seller_is_not_found(seller, pos, api):
    other = make_connected_tenant("Padaria", site="MLB")
    error = refused(other, pos, api)
    assert_problem(error, "pos_not_found", "pos", "point of sale of this seller")


@pytest.mark.parametrize("api", BOTH)
def test_a_pos_not_synced_yet_is_not_found(seller, api):
    local_only = make_pos(seller, external_id="CAJA9")
    error = refused(seller, local_only, api)
    assert_problem(error, "pos_not_found", "pos", "CAJA9 is not synced with Mercado Pago yet")


@pytest.mark.parametrize("api", BOTH)
def test_a_static_order_needs_the_store_synced(seller, pos, api):
    with tenant_scope(seller):
        type(pos.store).objects.filter(pk=pos.store_id).update(mp_store_id=None)
        pos.refresh_from_db()
    error = refused(seller, pos, api, mode="static")
    assert_problem(error, "pos_not_found", "pos", "The store of CAJA1 is not synced yet")


# Seller --------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", BOTH)
def test_a_suspended_seller_takes_no_orders(seller, pos, api):
    Tenant.objects.filter(pk=seller.pk).update(status=Tenant.Status.SUSPENDED)
    seller.refresh_from_db()
    before = counts()
    with pytest.raises(NotAllowed) as caught:
        create(seller, pos, api)
    assert caught.value.code == "seller_suspended"
    assert "suspended" in caught.value.message
    assert counts() == before


@pytest.mark.parametrize("api", BOTH)
def test_a_seller_without_a_connection_takes_no_orders(db, api):
    tenant = make_tenant("Sin conexión")
    before = counts()
    with pytest.raises(NotAllowed) as caught:
        create(tenant, make_pos(tenant), api)
    assert caught.value.code == "seller_not_connected"
    assert "has not connected a Mercado Pago account" in caught.value.message
    assert counts() == before


def test_a_seller_whose_authorization_was_revoked_takes_no_orders(seller, pos):
    with tenant_scope(seller):
        MercadoPagoCredential.objects.update(status=MercadoPagoCredential.Status.NEEDS_RECONNECT)
    before = counts()
    with pytest.raises(NotAllowed) as caught:
        create(seller, pos)
    assert caught.value.code == "seller_not_connected"
    assert "must connect Mercado Pago again" in caught.value.message
    assert counts() == before


# External reference already used -------------------------------------------------------------


@pytest.mark.parametrize("api", BOTH)
def test_an_external_reference_is_used_once_per_seller(seller, pos, api):
    create(seller, pos, api)
    error = refused(seller, pos, api, title="Dinner")
    assert_problem(
        error, "duplicate_external_reference", "external_reference", "already has an order sale-1"
    )


def test_another_seller_may_use_the_same_reference(seller, pos):
    create(seller, pos)
    other = make_connected_tenant("Padaria", site="MLB")
    order = create(other, synced_pos(other))
    assert order.status == Status.CREATED
    assert sandbox_models.Order.objects.filter(external_reference="sale-1").count() == 2


@pytest.mark.parametrize("api", BOTH)
def test_a_reference_whose_order_failed_can_be_used_again(seller, pos, api):
    sandbox_models.PointOfSale.objects.filter(external_id=pos.external_id).delete()
    with pytest.raises(RefusedByMercadoPago):
        create(seller, pos, api)
    with tenant_scope(seller):
        other_pos = pos_services.create_pos(
            tenant=seller, store=pos.store, name="Caja 2", external_id="CAJA2"
        )
    order = create(seller, other_pos, api)
    assert order.status == Status.CREATED
    with tenant_scope(seller):
        statuses = sorted(Order.objects.values_list("external_reference", "status"))
    assert statuses == [("sale-1", Status.CREATED), ("sale-1", Status.FAILED)]


@contextmanager
def before_order_saves(hook: Callable[[Order], None]) -> Iterator[None]:
    """Run ``hook(order)`` once, as the new order is about to be saved."""

    def once(sender, instance, **_):
        pre_save.disconnect(once, sender=Order)
        hook(instance)

    pre_save.connect(once, sender=Order, weak=False)
    try:
        yield
    finally:
        pre_save.disconnect(once, sender=Order)


def test_a_database_refusal_that_is_not_about_the_reference_is_not_called_a_duplicate(seller, pos):
    """A broken row (here a missing value, as a schema out of step would give) surfaces as is."""

    def break_it(order):
        order.expiration_seconds = None

    with before_order_saves(break_it), pytest.raises(IntegrityError):
        create(seller, pos)
    assert counts() == (0, 0, 0, 0)
