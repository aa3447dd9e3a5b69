"""Legacy in-store QR API (``/instore/...``): request and response types.

Amounts go out as JSON numbers with at most two decimals (whole numbers for CLP and COP); the
request takes the ``currency`` only to write them, it is not sent.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from mpapi.amounts import legacy_amount
from mpapi.parsing import JSON, integer, moment, number, required_number, sequence, text


@dataclass(frozen=True)
class InstoreItem:
    title: str
    unit_price: Decimal
    quantity: int = 1
    unit_measure: str = "unit"
    sku_number: str | None = None
    category: str | None = None
    description: str | None = None

    def to_json(self, currency: str) -> dict:
        body = {
            "title": self.title,
            "unit_price": legacy_amount(self.unit_price, currency),
            "quantity": self.quantity,
            "unit_measure": self.unit_measure,
            "total_amount": legacy_amount(self.unit_price * self.quantity, currency),
        }
        optional = {
            "sku_number": self.sku_number,
            "category": self.category,
            "description": self.description,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        return body

    @classmethod
    def from_json(cls, data: JSON) -> "InstoreItem":
        return cls(
            title=str(data["title"]),
            unit_price=required_number(data["unit_price"]),
            quantity=int(data["quantity"]),
            unit_measure=str(data.get("unit_measure", "unit")),
            sku_number=text(data.get("sku_number")),
            category=text(data.get("category")),
            description=text(data.get("description")),
        )


@dataclass(frozen=True)
class Tax:
    """A tax amount (Colombia's ``IVA``): an absolute amount, not a rate."""

    value: Decimal
    type: str = "IVA"


@dataclass(frozen=True)
class InstoreOrderRequest:
    """The body shared by the dynamic, hybrid and attended (static) legacy order calls."""

    external_reference: str
    title: str
    total_amount: Decimal
    currency: str
    items: tuple[InstoreItem, ...] = ()
    description: str | None = None
    notification_url: str | None = None
    expiration_date: datetime | None = None
    sponsor_id: int | None = None
    taxes: tuple[Tax, ...] = ()
    cash_out_amount: Decimal | None = None
    marketplace_fee: Decimal | None = None

    def to_json(self) -> dict:
        body: dict = {
            "external_reference": self.external_reference,
            "title": self.title,
            "total_amount": legacy_amount(self.total_amount, self.currency),
            "items": [item.to_json(self.currency) for item in self.items],
        }
        if self.description is not None:
            body["description"] = self.description
        if self.notification_url is not None:
            body["notification_url"] = self.notification_url
        if self.expiration_date is not None:
            body["expiration_date"] = _with_offset(self.expiration_date)
        if self.sponsor_id is not None:
            body["sponsor"] = {"id": self.sponsor_id}
        if self.taxes:
            body["taxes"] = [
                {"value": legacy_amount(tax.value, self.currency), "type": tax.type}
                for tax in self.taxes
            ]
        if self.cash_out_amount is not None:
            body["cash_out"] = {"amount": legacy_amount(self.cash_out_amount, self.currency)}
        if self.marketplace_fee is not None:
            body["marketplace_fee"] = legacy_amount(self.marketplace_fee, self.currency)
        return body


def _with_offset(value: datetime) -> str:
    """``2023-08-22T16:34:56.559-04:00``: ISO 8601 with milliseconds and the UTC offset."""
    if value.tzinfo is None:
        raise ValueError("expiration_date must be timezone-aware")
    return value.isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class QRCode:
    """The answer of the dynamic (``POST``) and hybrid (``PUT``) ``…/qrs`` calls.

    Mercado Pago's reference says the hybrid call answers an empty 201 while its migration
    guide shows a ``qr_data``: both are accepted, ``qr_data`` is then None.
    """

    qr_data: str | None
    in_store_order_id: str | None
    raw: JSON

    @classmethod
    def from_json(cls, data: JSON) -> "QRCode":
        return cls(
            qr_data=text(data.get("qr_data")),
            in_store_order_id=text(data.get("in_store_order_id")),
            raw=data,
        )


@dataclass(frozen=True)
class InstoreOrder:
    """An order as ``GET …/pos/{external_pos_id}/orders`` lists it."""

    external_reference: str | None
    title: str | None
    description: str | None
    total_amount: Decimal | None
    expiration_date: datetime | None
    notification_url: str | None
    user_id: int | None
    external_pos_id: str | None
    items: tuple[InstoreItem, ...]
    raw: JSON

    @classmethod
    def from_json(cls, data: JSON) -> "InstoreOrder":
        return cls(
            external_reference=text(data.get("external_reference")),
            title=text(data.get("title")),
            description=text(data.get("description")),
            total_amount=number(data.get("total_amount")),
            expiration_date=moment(data.get("expiration_date")),
            notification_url=text(data.get("notification_url")),
            user_id=integer(data.get("user_id")),
            external_pos_id=text(data.get("external_pos_id")),
            items=tuple(map(InstoreItem.from_json, sequence(data.get("items")))),
            raw=data,
        )
