"""Refunds, total and partial, on both APIs, against the sandbox in-process.

Partial refunds may be repeated up to the paid amount; what is paid and refunded is kept per
payment, and an amount beyond what is left is refused before Mercado Pago is called.
"""

import json
import uuid
from decimal import Decimal

import pytest
from django.utils import translation

from orders import services
from orders.errors import InvalidOrder, NotAllowed
from orders.models import MercadoPagoCall, Refund
from orders.validation import ItemInput
from sandbox import models as mercadopago
from sandbox.seed import seller_access_token
from tenants.scope import tenant_scope
from tests.faults import set_faults
from tests.orders.conftest import pay, reload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

APIS = ["v1", "instore"]


def paid_order(seller, pos, client, api: str, reference: str = "sale-1"):
    order = services.create_order(
        tenant=seller,
        pos=pos,
        api=api,
        mode="dynamic",
        external_reference=reference,
        title="Cena",
        items=[ItemInput("Bife", Decimal("50.00"), 2)],
    )
    pay(client, order)
    return services.refresh_order(tenant=seller, order=order)


def payment_of(order):
    with tenant_scope(order.tenant):
        return order.payments.get()


def refund_calls(tenant) -> list[MercadoPagoCall]:
    """The calls that ask Mercado Pago for a refund (not those that read refunds)."""
    with tenant_scope(tenant):
        calls = MercadoPagoCall.objects.filter(method="POST", path__contains="refund")
        return list(calls.order_by("pk"))


@pytest.mark.parametrize("api", APIS)
def test_partial_refunds_repeat_up_to_the_paid_amount(seller, pos, client, api):
    order = paid_order(seller, pos, client, api)

    for amount, left in (("30.00", "70.00"), ("30.00", "40.00"), ("40.00", "0.00")):
        [refund] = services.refund_order(tenant=seller, order=order, amount=Decimal(amount))
        assert (refund.status, refund.amount) == ("processed", Decimal(amount))
        assert payment_of(order).amount_available_for_refund == Decimal(left)

    order = reload(order)
    assert order.status == "refunded"
    with tenant_scope(seller):
        assert order.refunded_amount == Decimal("100.00")
        assert len({r.idempotency_key for r in Refund.objects.all()}) == 3  # one key each
    with pytest.raises(NotAllowed) as refused:
        services.refund_order(tenant=seller, order=order, amount=Decimal("1.00"))
    assert refused.value.code == "order_not_refundable"


@pytest.mark.parametrize(("api", "code"), [("v1", "refund_amount_exceeds"), ("instore", "2085")])
def test_more_than_what_is_left_is_refused_before_mercado_pago_is_called(
    seller, pos, client, api, code
):
    order = paid_order(seller, pos, client, api)
    services.refund_order(tenant=seller, order=order, amount=Decimal("60.00"))

    with pytest.raises(InvalidOrder) as refused:
        services.refund_order(tenant=seller, order=order, amount=Decimal("40.01"))

    assert refused.value.code == code
    assert refused.value.message == "At most ARS\xa040.00 can be refunded."
    assert len(refund_calls(seller)) == 1

    with translation.override("es-ar"), pytest.raises(InvalidOrder) as refused_in_spanish:
        services.refund_order(tenant=seller, order=order, amount=Decimal("40.01"))
    assert refused_in_spanish.value.message == "Se puede devolver como máximo ARS\xa040,00."


@pytest.mark.parametrize(
    ("amount", "v1_code", "instore_code"),
    [(Decimal("0"), "property_value", "4040"), (Decimal("1.005"), "property_value", "4040")],
)
@pytest.mark.parametrize("api", APIS)
def test_an_amount_mercado_pago_would_refuse_is_refused_here(
    seller, pos, client, api, amount, v1_code, instore_code
):
    order = paid_order(seller, pos, client, api)

    with pytest.raises(InvalidOrder) as refused:
        services.refund_order(tenant=seller, order=order, amount=amount)

    assert refused.value.code == (v1_code if api == "v1" else instore_code)
    assert refund_calls(seller) == []


def test_an_unpaid_order_cannot_be_refunded(seller, pos):
    order = services.create_order(
        tenant=seller,
        pos=pos,
        api="v1",
        mode="dynamic",
        external_reference="unpaid",
        title="Cena",
        total_amount=Decimal("10.00"),
    )

    with pytest.raises(NotAllowed) as refused:
        services.refund_order(tenant=seller, order=order)

    assert refused.value.code == "order_not_refundable"
    assert refused.value.message == (
        "Only a paid order can be refunded; this one is Created (waiting for the buyer)."
    )
    with translation.override("pt-br"), pytest.raises(NotAllowed) as refused_in_portuguese:
        services.refund_order(tenant=seller, order=order)
    assert refused_in_portuguese.value.message.startswith("Só um pedido pago pode ser reembolsado")


@pytest.mark.parametrize("api", APIS)
def test_a_refund_mercado_pago_could_not_take_stays_pending_then_is_made_once(
    seller, pos, client, api
):
    order = paid_order(seller, pos, client, api)
    set_faults(client, error_rate="1", error_statuses=[503], path_regex="refund")

    [refund] = services.refund_order(tenant=seller, order=order, amount=Decimal("25.00"))

    assert refund.status == "pending"
    assert payment_of(order).refunded_amount == 0

    client.delete("/sandbox/_control/faults")
    services.refresh_order(tenant=seller, order=order)
    services.refresh_order(tenant=seller, order=order)  # and once more: nothing more is refunded

    refund.refresh_from_db()
    assert (refund.status, refund.amount) == ("processed", Decimal("25.00"))
    assert mercadopago.Refund.objects.count() == 1
    assert payment_of(order).refunded_amount == Decimal("25.00")
    keys = {call.idempotency_key for call in refund_calls(seller)}
    assert keys == {refund.idempotency_key}


def test_a_refund_made_in_mercado_pago_shows_after_a_refresh(seller, pos, client):
    order = paid_order(seller, pos, client, "v1")
    made = client.post(
        f"/sandbox/v1/orders/{order.mp_order_id}/refund",
        json.dumps({"transactions": [{"id": payment_of(order).mp_payment_id, "amount": "10.00"}]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {seller_access_token('MLA')}",
        HTTP_X_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert made.status_code == 201, made.content

    order = services.refresh_order(tenant=seller, order=order)

    assert (order.status, order.status_detail) == ("processed", "partially_refunded")
    with tenant_scope(seller):
        refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.idempotency_key) == (10, "processed", "")
    assert payment_of(order).amount_available_for_refund == Decimal("90.00")


def test_an_amount_is_read_by_its_value_not_how_it_is_written(seller, pos, client):
    order = paid_order(seller, pos, client, "v1")

    [refund] = services.refund_order(tenant=seller, order=order, amount=Decimal("10.000"))

    assert (refund.status, refund.amount) == ("processed", Decimal("10.00"))
