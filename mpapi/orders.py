"""Orders API (``/v1/orders``, ``type: "qr"``): request and response types.

Amounts go out as strings with fixed decimals (``"50.00"``; ``"50"`` for CLP and COP): the
request types take the ``currency`` only to write them; it is not sent.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from mpapi.amounts import order_amount
from mpapi.instore import Tax
from mpapi.parsing import JSON, mapping, moment, number, required_number, sequence, text

QRMode = Literal["static", "dynamic", "hybrid"]


def iso_duration(duration: timedelta) -> str:
    """``duration`` as the ISO 8601 duration the Orders API takes (``PT10M``, ``PT1H30M``)."""
    seconds = int(duration.total_seconds())
    if seconds <= 0 or seconds != duration.total_seconds():
        raise ValueError("expiration_time must be a positive whole number of seconds")
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = ((hours, "H"), (minutes, "M"), (seconds, "S"))
    return "PT" + "".join(f"{value}{unit}" for value, unit in parts if value)


@dataclass(frozen=True)
class OrderItem:
    title: str
    unit_price: Decimal
    quantity: int = 1
    unit_measure: str = "unit"
    external_code: str | None = None

    def to_json(self, currency: str) -> dict:
        body = {
            "title": self.title,
            "unit_price": order_amount(self.unit_price, currency),
            "quantity": self.quantity,
            "unit_measure": self.unit_measure,
        }
        if self.external_code is not None:
            body["external_code"] = self.external_code
        return body


@dataclass(frozen=True)
class PaymentMethodDiscount:
    """A discount for paying with one payment method type: the order then costs
    ``new_total_amount`` (``discounts.payment_methods[]``, e.g. ``account_money``)."""

    type: str
    new_total_amount: Decimal

    def to_json(self, currency: str) -> dict:
        return {
            "type": self.type,
            "new_total_amount": order_amount(self.new_total_amount, currency),
        }

    @classmethod
    def from_json(cls, data: JSON) -> "PaymentMethodDiscount":
        return cls(
            type=str(data["type"]), new_total_amount=required_number(data["new_total_amount"])
        )


@dataclass(frozen=True)
class OrderCreate:
    """The body of ``POST /v1/orders`` for a QR order with one payment of ``total_amount``.

    ``sponsor_id``, ``platform_id`` and ``integrator_id`` go in ``integration_data``; ``taxes``
    (Colombia's IVA, api.md §11 #21) go as amount strings; ``discounts`` as
    ``discounts.payment_methods[]``.
    """

    external_reference: str
    external_pos_id: str
    total_amount: Decimal
    currency: str
    mode: QRMode = "static"
    description: str | None = None
    expiration_time: timedelta | None = None
    items: tuple[OrderItem, ...] = ()
    marketplace_fee: Decimal | None = None
    sponsor_id: str | None = None
    platform_id: str | None = None
    integrator_id: str | None = None
    taxes: tuple[Tax, ...] = ()
    discounts: tuple[PaymentMethodDiscount, ...] = ()

    def to_json(self) -> dict:
        total = order_amount(self.total_amount, self.currency)
        body: dict = {
            "type": "qr",
            "external_reference": self.external_reference,
            "total_amount": total,
            "config": {"qr": {"external_pos_id": self.external_pos_id, "mode": self.mode}},
            "transactions": {"payments": [{"amount": total}]},
        }
        if self.description is not None:
            body["description"] = self.description
        if self.expiration_time is not None:
            body["expiration_time"] = iso_duration(self.expiration_time)
        if self.items:
            body["items"] = [item.to_json(self.currency) for item in self.items]
        if self.marketplace_fee is not None:
            body["marketplace_fee"] = order_amount(self.marketplace_fee, self.currency)
        integration_data: dict = {}
        if self.platform_id:
            integration_data["platform_id"] = self.platform_id
        if self.integrator_id:
            integration_data["integrator_id"] = self.integrator_id
        if self.sponsor_id is not None:
            integration_data["sponsor"] = {"id": self.sponsor_id}
        if integration_data:
            body["integration_data"] = integration_data
        if self.taxes:
            body["taxes"] = [
                {"type": tax.type, "value": order_amount(tax.value, self.currency)}
                for tax in self.taxes
            ]
        if self.discounts:
            body["discounts"] = {
                "payment_methods": [discount.to_json(self.currency) for discount in self.discounts]
            }
        return body


@dataclass(frozen=True)
class RefundTransaction:
    """One line of a partial refund: how much to give back of payment ``id`` (``PAY…``)."""

    id: str
    amount: Decimal


@dataclass(frozen=True)
class OrderPayment:
    id: str
    amount: Decimal | None
    paid_amount: Decimal | None
    refunded_amount: Decimal | None
    status: str | None
    status_detail: str | None
    reference_id: str | None
    payment_method_id: str | None
    payment_method_type: str | None
    raw: JSON

    @classmethod
    def from_json(cls, data: JSON) -> "OrderPayment":
        method = mapping(data.get("payment_method"))
        reference = data.get("reference_id") or mapping(data.get("reference")).get("id")
        return cls(
            id=str(data["id"]),
            amount=number(data.get("amount")),
            paid_amount=number(data.get("paid_amount")),
            refunded_amount=number(data.get("refunded_amount")),
            status=text(data.get("status")),
            status_detail=text(data.get("status_detail")),
            reference_id=text(reference),
            payment_method_id=text(method.get("id")),
            payment_method_type=text(method.get("type")),
            raw=data,
        )


@dataclass(frozen=True)
class OrderRefund:
    id: str
    transaction_id: str | None
    reference_id: str | None
    amount: Decimal | None
    status: str | None
    raw: JSON

    @classmethod
    def from_json(cls, data: JSON) -> "OrderRefund":
        return cls(
            id=str(data["id"]),
            transaction_id=text(data.get("transaction_id")),
            reference_id=text(data.get("reference_id")),
            amount=number(data.get("amount")),
            status=text(data.get("status")),
            raw=data,
        )


@dataclass(frozen=True)
class Order:
    """An Orders API order. ``qr_data`` is set for ``dynamic`` and ``hybrid`` orders only."""

    id: str
    status: str | None
    status_detail: str | None
    external_reference: str | None
    total_amount: Decimal | None
    total_paid_amount: Decimal | None
    currency: str | None
    country_code: str | None
    user_id: str | None
    description: str | None
    expiration_time: str | None
    marketplace_fee: Decimal | None
    external_pos_id: str | None
    mode: str | None
    qr_data: str | None
    created_date: datetime | None
    last_updated_date: datetime | None
    payments: tuple[OrderPayment, ...]
    refunds: tuple[OrderRefund, ...]
    raw: JSON
    discounts: tuple[PaymentMethodDiscount, ...] = ()

    @classmethod
    def from_json(cls, data: JSON) -> "Order":
        qr = mapping(mapping(data.get("config")).get("qr"))
        transactions = mapping(data.get("transactions"))
        return cls(
            id=str(data["id"]),
            status=text(data.get("status")),
            status_detail=text(data.get("status_detail")),
            external_reference=text(data.get("external_reference")),
            total_amount=number(data.get("total_amount")),
            total_paid_amount=number(data.get("total_paid_amount")),
            currency=text(data.get("currency")),
            country_code=text(data.get("country_code")),
            user_id=text(data.get("user_id")),
            description=text(data.get("description")),
            expiration_time=text(data.get("expiration_time")),
            marketplace_fee=number(data.get("marketplace_fee")),
            external_pos_id=text(qr.get("external_pos_id")),
            mode=text(qr.get("mode")),
            qr_data=text(mapping(data.get("type_response")).get("qr_data")),
            created_date=moment(data.get("created_date")),
            last_updated_date=moment(data.get("last_updated_date")),
            payments=tuple(map(OrderPayment.from_json, sequence(transactions.get("payments")))),
            refunds=tuple(map(OrderRefund.from_json, sequence(transactions.get("refunds")))),
            raw=data,
            discounts=tuple(
                map(
                    PaymentMethodDiscount.from_json,
                    sequence(mapping(data.get("discounts")).get("payment_methods")),
                )
            ),
        )


def search_query(
    *,
    begin_date: datetime,
    end_date: datetime,
    external_reference: str | None,
    status: str | None,
    page: int | None,
    page_size: int | None,
) -> dict[str, str]:
    """The query of ``GET /v1/orders`` (dates must be timezone-aware)."""
    query = {"begin_date": utc_text(begin_date), "end_date": utc_text(end_date)}
    optional = {
        "external_reference": external_reference,
        "status": status,
        "page": page,
        "page_size": page_size,
    }
    query.update({key: str(value) for key, value in optional.items() if value is not None})
    return query


def utc_text(value: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with a ``Z`` (``2025-05-12T22:46:59Z``)."""
    if value.tzinfo is None:
        raise ValueError("dates sent to Mercado Pago must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
