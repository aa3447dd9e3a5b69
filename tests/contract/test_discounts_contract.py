"""Contract: ``discounts`` on a ``/v1/orders`` create (api.md §3.2), through ``mpapi`` against the
sandbox: validated as documented, kept, and answered by the create, the GET and the search."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mpapi import BadRequest
from mpapi.orders import PaymentMethodDiscount
from tests.contract.conftest import SELLER_ID, SELLER_TOKEN
from tests.contract.test_orders_contract import key, make_pos, new_order

pytestmark = pytest.mark.django_db

ACCOUNT_MONEY = PaymentMethodDiscount("account_money", Decimal("47.28"))
DEBIT_CARD = PaymentMethodDiscount("debit_card", Decimal("49.00"))


@pytest.fixture
def pos(mp) -> str:
    return make_pos(mp, SELLER_TOKEN, SELLER_ID, "MLA")


def test_discounts_are_kept_and_answered_by_the_create_the_get_and_the_search(mp, pos):
    request = new_order(external_reference="discounted", discounts=(ACCOUNT_MONEY, DEBIT_CARD))

    created = mp.create_order(SELLER_TOKEN, request, idempotency_key=key())
    read = mp.get_order(SELLER_TOKEN, created.id)
    found = mp.search_orders(
        SELLER_TOKEN,
        begin_date=timezone.now() - timedelta(hours=1),
        end_date=timezone.now() + timedelta(hours=1),
        external_reference="discounted",
    ).results

    documented = {
        "payment_methods": [
            {"type": "account_money", "new_total_amount": "47.28"},
            {"type": "debit_card", "new_total_amount": "49.00"},
        ]
    }
    for order in (created, read, *found):
        assert order.discounts == (ACCOUNT_MONEY, DEBIT_CARD)
        assert order.raw["discounts"] == documented
    assert [order.id for order in found] == [created.id]
    assert read.total_amount == Decimal("50.00")  # the full price stays the order's total


def test_an_order_without_discounts_answers_none(mp, pos):
    order = mp.create_order(SELLER_TOKEN, new_order(), idempotency_key=key())

    assert mp.get_order(SELLER_TOKEN, order.id).discounts == ()
    assert "discounts" not in order.raw


@pytest.mark.parametrize(
    ("discounts", "code"),
    [
        ((PaymentMethodDiscount("account_money", Decimal("50.00")),), "property_value"),
        ((PaymentMethodDiscount("account_money", Decimal("0")),), "property_value"),
        ((PaymentMethodDiscount("cheque", Decimal("40.00")),), "property_value"),
        ((ACCOUNT_MONEY, PaymentMethodDiscount("account_money", Decimal("45"))), "property_value"),
    ],
    ids=["not-lower-than-the-total", "not-positive", "unknown-type", "type-twice"],
)
def test_a_discount_that_is_not_documented_is_refused(mp, pos, discounts, code):
    with pytest.raises(BadRequest) as refused:
        mp.create_order(SELLER_TOKEN, new_order(discounts=discounts), idempotency_key=key())

    assert refused.value.code == code
    assert "discounts.payment_methods[" in refused.value.message


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"payment_methods": []}, "minimum_items"),
        ({"payment_methods": [{"type": "account_money"}]}, "property_value"),
        (
            {"payment_methods": [{"type": "account_money", "new_total_amount": 40}]},
            "property_value",
        ),
        ({"percent": "10"}, "unsupported_properties"),
        ([], "property_type"),
    ],
    ids=["empty", "no-new-total", "number-not-string", "unknown-field", "not-an-object"],
)
def test_a_malformed_discounts_body_is_refused(client, pos, body, code):
    request = new_order(external_reference="malformed").to_json() | {"discounts": body}

    answer = client.post(
        "/sandbox/v1/orders",
        request,
        content_type="application/json",
        headers={"Authorization": f"Bearer {SELLER_TOKEN}", "X-Idempotency-Key": key()},
    )

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == code


def test_discounts_with_an_installments_cost_are_refused(client, pos):
    request = new_order(external_reference="installments", discounts=(ACCOUNT_MONEY,)).to_json()
    request["config"]["payment_method"] = {"installments_cost": "seller"}

    answer = client.post(
        "/sandbox/v1/orders",
        request,
        content_type="application/json",
        headers={"Authorization": f"Bearer {SELLER_TOKEN}", "X-Idempotency-Key": key()},
    )

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "discounts_not_allowed_with_installments"
