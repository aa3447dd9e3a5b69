"""Stores and points of sale: validation, creation, update, search (api.md §4).

Store ``business_hours`` take up to four ranges a day on create and two on update, as the two
reference pages say (api.md §11.15).
"""

import re
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from sandbox import ids
from sandbox.errors import ApiError
from sandbox.models import Account, PointOfSale, Store
from sandbox.sites import site

STORE_FIELDS = {"name", "external_id", "business_hours", "location"}
POS_FIELDS = {
    "name",
    "fixed_amount",
    "store_id",
    "external_store_id",
    "external_id",
    "category",
    "url",
}
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
RANGES_ON_CREATE = 4
RANGES_ON_UPDATE = 2
_STORE_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9]{1,60}$")
_POS_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9]+$")
_HOUR = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_LOCATION_TEXT = {
    "street_number": "INVALID_STREET_NUMBER",
    "street_name": "INVALID_STREET_NAME",
    "city_name": "INVALID_CITY_NAME",
    "state_name": "INVALID_STATE_NAME",
}


def _bad(code: str, message: str, status: int = 400) -> ApiError:
    return ApiError(status, code, message)


def _duplicate() -> ApiError:
    return _bad("VALIDATION_ERROR", "External_id-already-used", status=409)


def _non_empty_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Decimal(str(value))


# Stores ------------------------------------------------------------------------------------


def _check_store_external_id(value: object) -> None:
    if not isinstance(value, str) or not _STORE_EXTERNAL_ID.match(value):
        raise _bad("INVALID_EXTERNAL_ID", "external_id must be alphanumeric, up to 60 characters")


def _check_business_hours(hours: object, max_ranges: int) -> None:
    if not isinstance(hours, dict):
        raise _bad("INVALID_BUSINESS_HOURS", "business_hours must be an object")
    for day, ranges in hours.items():
        if day not in DAYS:
            raise _bad("INVALID_DAY", f"{day} is not a day of the week")
        if not isinstance(ranges, list) or len(ranges) > max_ranges:
            raise _bad("INVALID_BUSINESS_HOURS", f"{day}: a list of up to {max_ranges} ranges")
        for hours_range in ranges:
            opens = isinstance(hours_range, dict) and hours_range.get("open")
            closes = isinstance(hours_range, dict) and hours_range.get("close")
            if not (
                isinstance(opens, str)
                and isinstance(closes, str)
                and _HOUR.match(opens)
                and _HOUR.match(closes)
                and opens < closes
            ):
                raise _bad("INVALID_BUSINESS_HOURS", f"{day}: ranges are {{open, close}} HH:MM")


def _check_location(location: object, site_id: str) -> dict:
    if not isinstance(location, dict):
        raise _bad("INVALID_LOCATION", "location is required")
    for field, code in _LOCATION_TEXT.items():
        if not _non_empty_text(location.get(field)):
            raise _bad(code, f"location.{field} is required")
    for field, code in (("zip_code", "INVALID_ZIP_CODE"), ("reference", "INVALID_REFERENCE")):
        if field in location and not isinstance(location[field], str):
            raise _bad(code, f"location.{field} must be a string")
    latitude, longitude = _number(location.get("latitude")), _number(location.get("longitude"))
    if latitude is None or not -90 <= latitude <= 90:
        raise _bad("INVALID_LATITUDE", "location.latitude must be a number from -90 to 90")
    if longitude is None or not -180 <= longitude <= 180:
        raise _bad("INVALID_LONGITUDE", "location.longitude must be a number from -180 to 180")
    lat_min, lat_max, lon_min, lon_max = site(site_id).bounds
    if not (lat_min <= latitude <= lat_max and lon_min <= longitude <= lon_max):
        raise _bad("BAD_REQUEST", f"the coordinates are outside the site {site_id}")
    return location


def _check_store(body: dict, account: Account, *, partial: bool) -> dict:
    unknown = set(body) - STORE_FIELDS
    if unknown:
        raise _bad("UNKNOWN_FIELD", f"unknown fields: {', '.join(sorted(unknown))}")
    if not partial or "name" in body:
        name = body.get("name")
        if not _non_empty_text(name) or len(name) > Store._meta.get_field("name").max_length:
            raise _bad("INVALID_NAME", "name is required, up to 200 characters")
    if "external_id" in body:
        _check_store_external_id(body["external_id"])
    if "business_hours" in body:
        _check_business_hours(
            body["business_hours"], RANGES_ON_UPDATE if partial else RANGES_ON_CREATE
        )
    if not partial or "location" in body:
        _check_location(body.get("location"), account.site_id)
    return body


def create_store(account: Account, body: dict) -> Store:
    """Create a store for ``account`` from an API body."""
    _check_store(body, account, partial=False)
    store = Store(
        account=account,
        name=body["name"],
        external_id=body.get("external_id", ""),
        business_hours=body.get("business_hours", {}),
        location=body["location"],
    )
    _save_unique(store)
    return store


def update_store(store: Store, body: dict) -> Store:
    """Apply an API update body to ``store``."""
    _check_store(body, store.account, partial=True)
    for field, value in body.items():
        setattr(store, field, value)
    _save_unique(store)
    return store


def _save_unique(row: Store | PointOfSale) -> None:
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as error:
        raise _duplicate() from error


def store_of(account: Account, store_id: str) -> Store:
    """The store ``store_id`` of ``account`` (400 when not numeric, 404 when not theirs)."""
    if not store_id.isdigit():
        raise _bad("INVALID_STORE_ID", "the store id must be numeric")
    store = Store.objects.filter(account=account, pk=int(store_id)).first()
    if store is None:
        raise _bad("not_found", f"store {store_id} not found", status=404)
    return store


def search_stores(account: Account, params: dict) -> QuerySet[Store]:
    """The stores of ``account`` matching the search's ``external_id``."""
    stores = Store.objects.filter(account=account).order_by("pk")
    if "external_id" in params:
        _check_store_external_id(params["external_id"])
        stores = stores.filter(external_id=params["external_id"])
    return stores


def page(params: dict, max_limit: int = 50) -> tuple[int, int]:
    """The ``(offset, limit)`` of a search's query string."""
    offset, limit = params.get("offset", "0"), params.get("limit", str(max_limit))
    if not offset.isdigit():
        raise _bad("INVALID_OFFSET", "offset must be a non-negative integer")
    if not limit.isdigit() or not 0 < int(limit) <= max_limit:
        raise _bad("INVALID_LIMIT", f"limit must be an integer from 1 to {max_limit}")
    return int(offset), int(limit)


# Points of sale ----------------------------------------------------------------------------


def _check_pos_fields(body: dict, account: Account, *, partial: bool) -> None:
    unknown = set(body) - POS_FIELDS
    if unknown:
        raise _bad("UNKNOWN_FIELD_EXCEPTION", f"unknown fields: {', '.join(sorted(unknown))}")
    if not partial or "name" in body:
        if not _non_empty_text(body.get("name")):
            raise _bad("INVALID_NAME", "name is required")
        if len(body["name"]) >= 45:
            raise _bad("NAME_TOO_LONG", "name must be shorter than 45 characters")
    if "fixed_amount" in body and not isinstance(body["fixed_amount"], bool):
        raise _bad("INVALID_FIXED_AMOUNT", "fixed_amount must be a boolean")
    if body.get("category") is not None:
        category = body["category"]
        if isinstance(category, bool) or not isinstance(category, int | str):
            raise _bad("INVALID_CATEGORY", "category must be a number")
        if not str(category).isdigit() or int(category) not in site(account.site_id).mccs:
            raise _bad("UNKNOWN_MCC", f"category {category} is not valid for {account.site_id}")
    if "url" in body:
        if not isinstance(body["url"], str):
            raise _bad("INVALID_URL", "url must be a string")
        if len(body["url"]) >= 300:
            raise _bad("URL_TOO_LONG", "url must be shorter than 300 characters")


def _check_pos_external_id(value: object) -> str:
    if not isinstance(value, str) or not _POS_EXTERNAL_ID.match(value):
        raise _bad("INVALID_EXTERNAL_ID", "external_id must be alphanumeric")
    if len(value) >= 40:
        raise _bad("EXTERNAL_ID_TOO_LONG", "external_id must be shorter than 40 characters")
    return value


def _pos_store(account: Account, body: dict) -> Store:
    """The store named by ``store_id`` and/or ``external_store_id``, which must agree."""
    store_id, external_store_id = body.get("store_id"), body.get("external_store_id")
    if external_store_id is not None and not isinstance(external_store_id, str):
        raise _bad("INVALID_EXTERNAL_STORE_ID", "external_store_id must be a string")
    if store_id is None and external_store_id is None:
        raise _bad("INVALID_STORE_ID", "store_id or external_store_id is required")
    by_external = None
    if external_store_id is not None:
        by_external = Store.objects.filter(account=account, external_id=external_store_id).first()
        if by_external is None:
            raise _bad("INEXISTENT_EXTERNAL_STORE_ID", f"no store {external_store_id}")
    if store_id is None:
        return by_external
    if isinstance(store_id, bool) or not str(store_id).isdigit():
        raise _bad("INVALID_STORE_ID", "store_id must be numeric")
    store = Store.objects.filter(account=account, pk=int(store_id)).first()
    if store is None:
        raise _bad("INVALID_STORE_ID", f"no store {store_id}")
    if by_external is not None and by_external != store:
        raise _bad("EXTERNAL_STORE_ID_NOT_MATCH", "external_store_id does not match store_id")
    return store


def _check_url_needs_fixed_amount(pos: PointOfSale) -> None:
    if pos.url and not pos.fixed_amount:
        raise _bad("FIXED_AMOUNT_FALSE", "a POS with a url needs fixed_amount true")


def create_pos(account: Account, body: dict) -> PointOfSale:
    """Create a point of sale for ``account`` from an API body."""
    if not body:
        raise _bad("MISSING_BODY", "the request has no body")
    _check_pos_fields(body, account, partial=False)
    pos = PointOfSale(
        account=account,
        store=_pos_store(account, body),
        external_id=_check_pos_external_id(body.get("external_id")),
        name=body["name"],
        fixed_amount=body.get("fixed_amount", False),
        category=int(body["category"]) if body.get("category") is not None else None,
        url=body.get("url", ""),
        uuid=ids.pos_uuid(),
    )
    _check_url_needs_fixed_amount(pos)
    _save_unique(pos)
    return pos


def update_pos(pos: PointOfSale, body: dict) -> PointOfSale:
    """Apply an API update body to ``pos``; its ``external_id`` cannot change."""
    _check_pos_fields(body, pos.account, partial=True)
    if "external_id" in body and body["external_id"] != pos.external_id:
        raise _bad("INVALID_EXTERNAL_ID", "external_id cannot be modified")
    if "store_id" in body or "external_store_id" in body:
        pos.store = _pos_store(pos.account, body)
    for field in ("name", "fixed_amount", "url"):
        if field in body:
            setattr(pos, field, body[field])
    if "category" in body:
        pos.category = int(body["category"]) if body["category"] is not None else None
    _check_url_needs_fixed_amount(pos)
    pos.date_last_updated = timezone.now()
    _save_unique(pos)
    return pos


def pos_of(account: Account, pos_id: str) -> PointOfSale:
    """The POS ``pos_id`` of ``account`` (400 when not numeric, 404 when not theirs)."""
    if not pos_id.isdigit():
        raise _bad("INVALID_POS_ID", "the POS id must be numeric")
    pos = PointOfSale.objects.filter(account=account, pk=int(pos_id)).first()
    if pos is None:
        raise _bad("not_found", f"POS {pos_id} not found", status=404)
    return pos


def search_pos(account: Account, params: dict) -> QuerySet[PointOfSale]:
    """The POS of ``account`` matching a search's ``external_id``, store and category."""
    found = PointOfSale.objects.filter(account=account).select_related("store").order_by("pk")
    filters = {
        "external_id": "external_id",
        "external_store_id": "store__external_id",
        "store_id": "store_id",
        "category": "category",
    }
    for param, lookup in filters.items():
        if param in params:
            value = params[param]
            if param in ("store_id", "category") and not value.isdigit():
                raise _bad(f"INVALID_{param.upper()}", f"{param} must be numeric")
            found = found.filter(**{lookup: value})
    return found
