"""Stores (``/users/{user_id}/stores``, ``/stores/{id}``) and points of sale (``/pos``)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal

from mpapi.parsing import JSON, integer, mapping, moment, number, text


@dataclass(frozen=True)
class OpeningHours:
    open: time
    close: time

    def to_json(self) -> dict:
        return {"open": self.open.strftime("%H:%M"), "close": self.close.strftime("%H:%M")}


@dataclass(frozen=True)
class Location:
    """A store's address; state and city must match Mercado Pago's catalogue for the site."""

    street_name: str
    street_number: str
    city_name: str
    state_name: str
    latitude: Decimal
    longitude: Decimal
    reference: str | None = None

    def to_json(self) -> dict:
        body = {
            "street_name": self.street_name,
            "street_number": self.street_number,
            "city_name": self.city_name,
            "state_name": self.state_name,
            "latitude": self.latitude,
            "longitude": self.longitude,
        }
        if self.reference is not None:
            body["reference"] = self.reference
        return body


@dataclass(frozen=True)
class StoreRequest:
    """The body of store creation and update. ``business_hours`` maps ``monday``… to ranges."""

    name: str
    external_id: str
    location: Location
    business_hours: Mapping[str, tuple[OpeningHours, ...]] = field(default_factory=dict)

    def to_json(self) -> dict:
        body: dict = {
            "name": self.name,
            "external_id": self.external_id,
            "location": self.location.to_json(),
        }
        if self.business_hours:
            body["business_hours"] = {
                day: [hours.to_json() for hours in ranges]
                for day, ranges in self.business_hours.items()
            }
        return body


@dataclass(frozen=True)
class Store:
    id: int
    name: str | None
    external_id: str | None
    address_line: str | None
    latitude: Decimal | None
    longitude: Decimal | None
    date_created: datetime | None
    raw: JSON

    @classmethod
    def from_json(cls, data: JSON) -> "Store":
        location = mapping(data.get("location"))
        return cls(
            id=int(data["id"]),
            name=text(data.get("name")),
            external_id=text(data.get("external_id")),
            address_line=text(location.get("address_line")),
            latitude=number(location.get("latitude")),
            longitude=number(location.get("longitude")),
            date_created=moment(data.get("date_created") or data.get("date_creation")),
            raw=data,
        )


@dataclass(frozen=True)
class PosCreate:
    """The body of ``POST /pos``. ``external_id``: alphanumeric, at most 39 characters."""

    name: str
    external_id: str
    store_id: int
    external_store_id: str
    fixed_amount: bool = True
    category: int | None = None
    url: str | None = None

    def to_json(self) -> dict:
        body: dict = {
            "name": self.name,
            "external_id": self.external_id,
            "store_id": self.store_id,
            "external_store_id": self.external_store_id,
            "fixed_amount": self.fixed_amount,
        }
        if self.category is not None:
            body["category"] = self.category
        if self.url is not None:
            body["url"] = self.url
        return body


@dataclass(frozen=True)
class PosUpdate:
    """The body of ``PUT /pos/{id}``: only the fields given change (``external_id`` cannot)."""

    name: str | None = None
    store_id: int | None = None
    external_store_id: str | None = None
    fixed_amount: bool | None = None
    category: int | None = None
    url: str | None = None

    def to_json(self) -> dict:
        fields = {
            "name": self.name,
            "store_id": self.store_id,
            "external_store_id": self.external_store_id,
            "fixed_amount": self.fixed_amount,
            "category": self.category,
            "url": self.url,
        }
        return {key: value for key, value in fields.items() if value is not None}


@dataclass(frozen=True)
class Pos:
    """A point of sale. ``qr_code`` (the static QR's EMVCo payload) comes with ``GET`` only."""

    id: int
    name: str | None
    external_id: str | None
    store_id: int | None
    external_store_id: str | None
    fixed_amount: bool | None
    category: int | None
    status: str | None
    uuid: str | None
    user_id: int | None
    site: str | None
    qr_code: str | None
    qr_image: str | None
    qr_template_document: str | None
    qr_template_image: str | None
    date_created: datetime | None
    date_last_updated: datetime | None
    raw: JSON

    @classmethod
    def from_json(cls, data: JSON) -> "Pos":
        qr = mapping(data.get("qr"))
        fixed_amount = data.get("fixed_amount")
        return cls(
            id=int(data["id"]),
            name=text(data.get("name")),
            external_id=text(data.get("external_id")),
            store_id=integer(data.get("store_id")),
            external_store_id=text(data.get("external_store_id")),
            fixed_amount=None if fixed_amount is None else bool(fixed_amount),
            category=integer(data.get("category")),
            status=text(data.get("status")),
            uuid=text(data.get("uuid")),
            user_id=integer(data.get("user_id")),
            site=text(data.get("site")),
            qr_code=text(data.get("qr_code")),
            qr_image=text(qr.get("image")),
            qr_template_document=text(qr.get("template_document")),
            qr_template_image=text(qr.get("template_image")),
            date_created=moment(data.get("date_created")),
            date_last_updated=moment(data.get("date_last_updated")),
            raw=data,
        )
