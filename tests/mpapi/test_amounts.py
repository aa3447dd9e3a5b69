"""Amounts: Decimal in and out, in the form each API wants, never rounded silently."""

from decimal import Decimal

import pytest

from mpapi.amounts import dumps, legacy_amount, loads, order_amount, parse_amount
from mpapi.instore import InstoreItem, InstoreOrderRequest
from mpapi.orders import Order, OrderCreate
from tests.mpapi.conftest import SELLER_TOKEN


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("50"), "BRL", "50.00"),
        (Decimal("50.5"), "ARS", "50.50"),
        (Decimal("0.01"), "MXN", "0.01"),
        (Decimal("50.000"), "UYU", "50.00"),
        (Decimal("1190"), "CLP", "1190"),
        (Decimal("1190.00"), "COP", "1190"),
        (Decimal("1E+3"), "CLP", "1000"),
    ],
)
def test_orders_api_amounts_are_strings_with_the_currencys_decimals(amount, currency, expected):
    assert order_amount(amount, currency) == expected


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(Decimal("10.005"), "BRL"), (Decimal("10.5"), "CLP"), (Decimal("0.1"), "COP")],
)
def test_an_amount_with_too_many_decimals_is_refused_not_rounded(amount, currency):
    with pytest.raises(ValueError, match=f"more decimals than {currency} allows"):
        order_amount(amount, currency)
    with pytest.raises(ValueError, match="round it explicitly"):
        legacy_amount(amount, currency)


@pytest.mark.parametrize("amount", [10.5, "10.50", True])
def test_only_decimal_or_int_amounts_are_accepted(amount):
    with pytest.raises(TypeError):
        order_amount(amount, "BRL")


@pytest.mark.parametrize(
    ("amount", "currency", "json_text"),
    [
        (Decimal("100.5"), "ARS", "100.50"),
        (Decimal("100.00"), "ARS", "100"),
        (Decimal("1190"), "CLP", "1190"),
        (Decimal("0.07"), "BRL", "0.07"),
    ],
)
def test_legacy_amounts_are_json_numbers_with_at_most_two_decimals(amount, currency, json_text):
    assert dumps({"total_amount": legacy_amount(amount, currency)}) == (
        f'{{"total_amount":{json_text}}}'
    )


def test_dumps_refuses_floats():
    with pytest.raises(TypeError, match="Decimal"):
        dumps({"amount": 0.1})


def test_response_amounts_are_read_exactly():
    body = loads(b'{"a": 0.1, "b": "30.10", "c": 7, "d": 1234567890123.99}')
    assert [parse_amount(body[key]) for key in "abcd"] == [
        Decimal("0.1"),
        Decimal("30.10"),
        Decimal(7),
        Decimal("1234567890123.99"),
    ]
    assert parse_amount(None) is None
    with pytest.raises(TypeError):
        parse_amount(0.1)
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount("ten")


def test_create_order_sends_string_amounts(client, server):
    server.answer(201, {"id": "ORD01JQ4S4KY8HWQ6NA5PXB65B3D3"})
    order = OrderCreate(
        external_reference="sale-1",
        external_pos_id="POS1",
        total_amount=Decimal("1190"),
        currency="CLP",
        marketplace_fee=Decimal("10"),
    )
    client.create_order(SELLER_TOKEN, order, idempotency_key="key-1")

    body = server.last_json()
    assert body["total_amount"] == "1190"
    assert body["transactions"] == {"payments": [{"amount": "1190"}]}
    assert body["marketplace_fee"] == "10"


def test_legacy_order_sends_number_amounts(client, server):
    server.answer(200, {"qr_data": "000201", "in_store_order_id": "abc"})
    order = InstoreOrderRequest(
        external_reference="sale-1",
        title="Sale",
        total_amount=Decimal("100.50"),
        currency="ARS",
        items=(InstoreItem(title="Pasta", unit_price=Decimal("20.10"), quantity=5),),
    )
    client.create_dynamic_qr(SELLER_TOKEN, user_id=1, external_pos_id="POS1", order=order)

    body = loads(server.last.content)  # JSON numbers come back as Decimal, strings as str
    assert body["total_amount"] == Decimal("100.50")
    assert isinstance(body["total_amount"], Decimal)
    assert body["items"] == [
        {
            "title": "Pasta",
            "unit_price": Decimal("20.10"),
            "quantity": 5,
            "unit_measure": "unit",
            "total_amount": Decimal("100.50"),
        }
    ]


def test_order_amounts_are_parsed_as_decimals():
    order = Order.from_json(
        loads(
            b'{"id": "ORD01JQ4S4KY8HWQ6NA5PXB65B3D3", "total_amount": "30.10",'
            b' "transactions": {"payments": [{"id": "PAY1", "amount": 30.1}]}}'
        )
    )
    assert order.total_amount == Decimal("30.10")
    assert order.payments[0].amount == Decimal("30.1")
    assert isinstance(order.payments[0].amount, Decimal)
