"""Reading response fields leniently about absence and strictly about values, and list pages."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from mpapi.amounts import parse_amount

JSON = Mapping[str, Any]
T = TypeVar("T")


def text(value: object) -> str | None:
    """A string field (numbers become their text); None when absent."""
    return None if value is None else str(value)


def integer(value: object) -> int | None:
    """An integer field, given as number or numeric string; None when absent or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TypeError(f"expected an integer, got {value!r}")
    return int(value)


def number(value: object) -> Decimal | None:
    """A decimal field (amount, coordinate) as an exact ``Decimal``; None when absent."""
    return parse_amount(value)


def required_number(value: object) -> Decimal:
    """A mandatory decimal field as an exact ``Decimal``; ``ValueError`` when absent."""
    result = parse_amount(value)
    if result is None:
        raise ValueError("a mandatory number is missing")
    return result


def moment(value: object) -> datetime | None:
    """An ISO 8601 date-time field (``Z`` or an offset); None when absent."""
    if value is None or value == "":
        return None
    return datetime.fromisoformat(str(value))


def mapping(value: object) -> JSON:
    """A nested object, or an empty one when absent."""
    return value if isinstance(value, Mapping) else {}


def sequence(value: object) -> list:
    """A nested list, or an empty one when absent."""
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a search. ``next_offset`` is given by merchant-order searches only."""

    results: tuple[T, ...]
    total: int | None
    offset: int | None
    limit: int | None
    raw: JSON
    next_offset: int | None = None


def page(
    data: JSON, parse: Callable[[JSON], T], *, results_key: str, paging_key: str | None
) -> Page[T]:
    """A :class:`Page` of ``parse``-d results from a search response."""
    paging = mapping(data.get(paging_key)) if paging_key else data
    return Page(
        results=tuple(parse(item) for item in sequence(data.get(results_key))),
        total=integer(paging.get("total")),
        offset=integer(paging.get("offset")),
        limit=integer(paging.get("limit")),
        raw=data,
        next_offset=integer(data.get("next_offset")),
    )
