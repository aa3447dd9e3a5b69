"""Payments (``/v1/payments``) and merchant orders (``/merchant_orders``): the legacy
reconciliation objects."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from mpapi.parsing import JSON, integer, mapping, moment, number, sequence, text


@dataclass(frozen=True)
class Payment:
    id: int
    status: str | None
    status_detail: str | None
    external_reference: str | None
    transaction_amount: Decimal | None
    transaction_amount_refunded: Decimal | None
    currency_id: str | None
    payment_method_id: str | None
    payment_type_id: str | None
    merchant_order_id: int | None
    collector_id: int | None
    pos_id: str | None
    store_id: str | None
    date_created: datetime | None
    date_approved: datetime | None
    raw: JSON

    @classmethod
    def from_json(cls, data: JSON) -> "Payment":
        order = mapping(data.get("order"))
        return cls(
            id=int(data["id"]),
            status=text(data.get("status")),
            status_detail=text(data.get("status_detail")),
            external_reference=text(data.get("external_reference")),
            transaction_amount=number(data.get("transaction_amount")),
            transaction_amount_refunded=number(data.get("transaction_amount_refunded")),
            currency_id=text(data.get("currency_id")),
            payment_method_id=text(data.get("payment_method_id")),
            payment_type_id=text(data.get("payment_type_id")),
            merchant_order_id=_merchant_order_id(order),
            collector_id=integer(data.get("collector_id")),
            pos_id=text(data.get("pos_id")),
            store_id=text(data.get("store_id")),
            date_created=moment(data.get("date_created")),
            date_approved=moment(data.get("date_approved")),
            raw=data,
        )


def _merchant_order_id(order: JSON) -> int | None:
    """The merchant order of a legacy payment; None for a payment of an Orders API order,
    whose ``order`` is ``{"id": "ORD…", "type": "mp_order"}`` (kept in ``raw``)."""
    identifier = order.get("id")
    if order.get("type") == "mp_order" or (
        isinstance(identifier, str) and not identifier.isdigit()
    ):
        return None
    return integer(identifier)


@dataclass(frozen=True)
class PaymentRefund:
    """A refund of a payment: ``status`` ``in_process`` until Mercado Pago completes it
    (``approved``), or ``rejected``/``cancelled`` when it fails."""

    id: int
    payment_id: int | None
    amount: Decimal | None
    status: str | None
    date_created: datetime | None
    raw: JSON

    @classmethod
    def from_json(cls, data: JSON) -> "PaymentRefund":
        return cls(
            id=int(data["id"]),
            payment_id=integer(data.get("payment_id")),
            amount=number(data.get("amount")),
            status=text(data.get("status")),
            date_created=moment(data.get("date_created")),
            raw=data,
        )


@dataclass(frozen=True)
class MerchantOrderPayment:
    id: int
    status: str | None
    status_detail: str | None
    transaction_amount: Decimal | None
    total_paid_amount: Decimal | None
    amount_refunded: Decimal | None
    date_approved: datetime | None
    raw: JSON

    @classmethod
    def from_json(cls, data: JSON) -> "MerchantOrderPayment":
        return cls(
            id=int(data["id"]),
            status=text(data.get("status")),
            status_detail=text(data.get("status_detail") or data.get("status_details")),
            transaction_amount=number(data.get("transaction_amount")),
            total_paid_amount=number(data.get("total_paid_amount")),
            amount_refunded=number(data.get("amount_refunded")),
            date_approved=moment(data.get("date_approved")),
            raw=data,
        )


@dataclass(frozen=True)
class MerchantOrder:
    """A merchant order: act on ``status == "closed"`` (``order_status == "paid"``)."""

    id: int
    status: str | None
    order_status: str | None
    external_reference: str | None
    total_amount: Decimal | None
    paid_amount: Decimal | None
    refunded_amount: Decimal | None
    payments: tuple[MerchantOrderPayment, ...]
    date_created: datetime | None
    last_updated: datetime | None
    raw: JSON

    @classmethod
    def from_json(cls, data: JSON) -> "MerchantOrder":
        return cls(
            id=int(data["id"]),
            status=text(data.get("status")),
            order_status=text(data.get("order_status")),
            external_reference=text(data.get("external_reference")),
            total_amount=number(data.get("total_amount")),
            paid_amount=number(data.get("paid_amount")),
            refunded_amount=number(data.get("refunded_amount")),
            payments=tuple(map(MerchantOrderPayment.from_json, sequence(data.get("payments")))),
            date_created=moment(data.get("date_created")),
            last_updated=moment(data.get("last_updated")),
            raw=data,
        )
