"""The cashier page reads the amount in the seller's locale (issue 17, "decimal comma x100"): an
Argentine's ``1500,50`` is ARS 1500.50, never 150050, and an entry that could mean two amounts
creates nothing."""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation
from django.utils.html import escape

from merchant_platform.money import AmountError, parse_typed_amount
from orders.cashier import CashierOrderForm
from orders.models import Order
from tenants.scope import tenant_scope
from tests.factories import make_connected_tenant, make_member
from tests.orders.conftest import synced_pos


def cashier_of(tenant) -> Client:
    client = Client()
    client.force_login(make_member(tenant, "cashier"))
    return client


def refusal(typed: str, locale: str, currency: str, language: str = "en") -> str:
    """How the parser refuses ``typed`` in ``language``, as a page escapes it."""
    with translation.override(language), pytest.raises(AmountError) as refused:
        parse_typed_amount(typed, locale, currency)
    return escape(refused.value.message)


def create(client: Client, pos, amount: str):
    fields = {"pos": pos.pk, "amount": amount, "description": "Mesa 7"}
    return client.post("/cashier/", fields)


@pytest.mark.parametrize("typed", ["1500,50", "1.500,50", " $ 1.500,5 "])
def test_an_argentine_amount_with_a_decimal_comma_is_read_as_written(seller, pos, typed):
    client = cashier_of(seller)

    response = create(client, pos, typed)

    with tenant_scope(seller):
        order = Order.objects.get()
    assert order.total_amount == Decimal("1500.50")
    page = client.get(response["Location"]).content.decode()
    assert '<span id="order-amount">ARS\xa01.500,50</span>' in page


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("1,505", "ARS amounts have at most 2 decimals, like 1.500,50."),
        ("1,500.50", "Type the amount like 1.500,50"),
        ("1.50", "Type the amount like 1.500,50"),
    ],
)
def test_an_entry_that_could_be_misread_is_refused(seller, pos, typed, words):
    response = create(cashier_of(seller), pos, typed)

    assert response.status_code == 200
    assert refusal(typed, "es-AR", "ARS", "es-ar") in response.content.decode()  # the seller's
    assert words in refusal(typed, "es-AR", "ARS")
    with tenant_scope(seller):
        assert not Order.objects.exists()


def test_the_amount_field_is_typed_in_the_sellers_format(seller, pos):
    page = cashier_of(seller).get("/cashier/").content.decode()

    assert 'type="text" name="amount"' in page
    assert 'inputmode="decimal"' in page
    assert 'placeholder="1.500,50"' in page
    assert 'data-decimal="," data-group="."' in page
    assert "/static/orders/cashier-amount.js" in page


def test_a_chilean_seller_types_whole_pesos(db):
    chile = make_connected_tenant("Once", site="MLC")
    pos = synced_pos(chile, external_id="CAJA1")
    client = cashier_of(chile)

    refused = create(client, pos, "1500,50").content.decode()
    assert refusal("1500,50", "es-CL", "CLP", "es") in refused
    response = create(client, pos, "1.500")

    with tenant_scope(chile):
        assert Order.objects.get().total_amount == Decimal(1500)
    assert '<span id="order-amount">CLP\xa01.500</span>' in client.get(response["Location"]).text


@pytest.mark.parametrize(("typed", "amount"), [("1,500.50", "1500.50"), ("1500.5", "1500.50")])
def test_in_english_the_form_reads_a_decimal_point(seller, pos, typed, amount):
    data = {"pos": pos.pk, "amount": typed, "description": "x"}
    with tenant_scope(seller):
        form = CashierOrderForm(data, locale="en", currency="ARS")
        assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == Decimal(amount)
    with tenant_scope(seller):
        refused = CashierOrderForm(data | {"amount": "1.500,50"}, locale="en", currency="ARS")
        assert not refused.is_valid()
    assert "Type the amount like 1,500.50" in refused.errors["amount"][0]
