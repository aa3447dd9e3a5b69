"""Chargebacks (``GET /v1/chargebacks/{id}``): a buyer disputes a payment with the card issuer.

The id is a string. ``date_documentation_deadline`` is the last day for the seller to send
documentation; the reference calls it a date, so a bare date is read as the end of that day (UTC).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal
from urllib.parse import quote

from mpapi.client import MercadoPagoClient
from mpapi.parsing import JSON, integer, number, sequence, text
from mpapi.session import Call


def flag(value: object) -> bool | None:
    """A boolean field; None when absent."""
    if value is None or isinstance(value, bool):
        return value
    raise TypeError(f"expected a boolean, got {value!r}")


def day_or_moment(value: object) -> datetime | None:
    """An ISO 8601 date-time, or a date (its last instant, UTC); aware; None when absent."""
    if value is None or value == "":
        return None
    found = str(value)
    if len(found) == len("2026-12-16"):
        return datetime.combine(datetime.fromisoformat(found).date(), time.max, tzinfo=UTC)
    moment = datetime.fromisoformat(found)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Chargeback:
    """A chargeback: the payments it disputes, how much, and where the case stands."""

    id: str
    payments: tuple[int, ...]
    amount: Decimal | None
    currency: str | None
    status: str | None
    coverage_applied: bool | None
    coverage_elegible: bool | None  # sic: Mercado Pago's spelling
    documentation_required: bool | None
    documentation_status: str | None
    date_documentation_deadline: datetime | None
    date_created: datetime | None
    date_last_updated: datetime | None
    live_mode: bool | None
    raw: JSON

    @classmethod
    def from_json(cls, data: JSON) -> "Chargeback":
        return cls(
            id=str(data["id"]),
            payments=tuple(integer(item) for item in sequence(data.get("payments"))),
            amount=number(data.get("amount")),
            currency=text(data.get("currency")),
            status=text(data.get("status")),
            coverage_applied=flag(data.get("coverage_applied")),
            coverage_elegible=flag(data.get("coverage_elegible")),
            documentation_required=flag(data.get("documentation_required")),
            documentation_status=text(data.get("documentation_status")),
            date_documentation_deadline=day_or_moment(data.get("date_documentation_deadline")),
            date_created=day_or_moment(data.get("date_created")),
            date_last_updated=day_or_moment(data.get("date_last_updated")),
            live_mode=flag(data.get("live_mode")),
            raw=data,
        )


def get_chargeback(client: MercadoPagoClient, access_token: str, chargeback_id: str) -> Chargeback:
    """``GET /v1/chargebacks/{chargeback_id}`` with ``client`` (``NotFound`` when the seller of
    ``access_token`` has no such chargeback)."""
    call = Call("GET", f"/v1/chargebacks/{quote(str(chargeback_id), safe='')}", access_token)
    return client._object(call, Chargeback.from_json)
