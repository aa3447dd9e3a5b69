"""The rules Mercado Pago applies to stores and POS (api.md §4), checked before any call."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from tenants.sites import Site

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_RANGES_PER_DAY = 2  # the update page allows two; the create page four (api.md §11.15)
_HOUR = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

store_external_id = RegexValidator(
    r"^[A-Za-z0-9]{1,60}\Z", "Use 1 to 60 letters and digits only (no spaces or symbols)."
)
pos_external_id = RegexValidator(
    r"^[A-Za-z0-9]{1,39}\Z", "Use 1 to 39 letters and digits only (no spaces or symbols)."
)

# POS categories (MCC) Mercado Pago accepts per site: gastronomy and gas station (api.md §4.3).
MCC_BY_SITE: dict[str, dict[int, str]] = {
    Site.MLA: {621102: "Gastronomy", 473000: "Gas station"},
    Site.MLB: {5611203: "Gastronomy", 4731300: "Gas station"},
    Site.MLM: {5812: "Gastronomy", 468419: "Gas station"},
    Site.MLC: {561000: "Gastronomy", 473001: "Gas station"},
    Site.MCO: {5611: "Gastronomy", 4731: "Gas station"},
    Site.MPE: {5520: "Gastronomy", 5050: "Gas station"},
    Site.MLU: {56101: "Gastronomy", 47300: "Gas station"},
}


def validate_category(category: int | None, site: str) -> None:
    """Refuse an MCC that Mercado Pago does not accept for ``site``."""
    allowed = MCC_BY_SITE[site]
    if category is not None and category not in allowed:
        choices = ", ".join(f"{code} ({label})" for code, label in allowed.items())
        raise ValidationError(
            f"Category {category} is not valid in {site}; use one of: {choices}.",
            code="unknown_mcc",
        )


def validate_business_hours(hours: object) -> None:
    """``{"monday": [{"open": "HH:MM", "close": "HH:MM"}, ...], ...}``: at most two ranges a day,
    each opening before it closes."""
    if not isinstance(hours, dict):
        raise ValidationError("Business hours must map days to lists of ranges.")
    for day, ranges in hours.items():
        if day not in DAYS:
            raise ValidationError(f"{day!r} is not a day: use {', '.join(DAYS)}.")
        if not isinstance(ranges, list) or len(ranges) > MAX_RANGES_PER_DAY:
            raise ValidationError(f"{day}: give a list of at most {MAX_RANGES_PER_DAY} ranges.")
        for hours_range in ranges:
            if not isinstance(hours_range, dict) or set(hours_range) != {"open", "close"}:
                raise ValidationError(f'{day}: each range is {{"open": "HH:MM", "close": "HH:MM"}}')
            opens, closes = hours_range["open"], hours_range["close"]
            if not all(isinstance(v, str) and _HOUR.match(v) for v in (opens, closes)):
                raise ValidationError(f"{day}: times are 24-hour HH:MM, like 09:00 or 18:30.")
            if opens >= closes:
                raise ValidationError(f"{day}: {opens} must be before {closes}.")
