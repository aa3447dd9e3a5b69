"""Mercado Pago sites (countries) and what follows from each: country code, currency, decimals."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _


class Site(models.TextChoices):
    MLA = "MLA", _("Argentina")
    MLB = "MLB", _("Brazil")
    MLM = "MLM", _("Mexico")
    MLC = "MLC", _("Chile")
    MCO = "MCO", _("Colombia")
    MPE = "MPE", _("Peru")
    MLU = "MLU", _("Uruguay")


@dataclass(frozen=True)
class SiteInfo:
    country_code: str  # ISO 3166 alpha-3, as the Orders API's country_code wants it
    currency: str  # ISO 4217
    decimal_places: int  # CLP and COP amounts are whole numbers
    emv_currency: str  # EMVCo tag 53, ISO 4217 numeric
    language: str  # Django's code of the pages' language; es-ar: Spanish with "vos" (language.py)
    time_zone: str  # where "today" of the seller's dashboard is counted (the capital's zone)

    @property
    def smallest_amount(self) -> Decimal:
        """The smallest step of an amount in this currency: 0.01, or 1 for CLP and COP."""
        return Decimal(1).scaleb(-self.decimal_places)


SITES: dict[str, SiteInfo] = {
    Site.MLA: SiteInfo("ARG", "ARS", 2, "032", "es-ar", "America/Argentina/Buenos_Aires"),
    Site.MLB: SiteInfo("BRA", "BRL", 2, "986", "pt-br", "America/Sao_Paulo"),
    Site.MLM: SiteInfo("MEX", "MXN", 2, "484", "es", "America/Mexico_City"),
    Site.MLC: SiteInfo("CHL", "CLP", 0, "152", "es", "America/Santiago"),
    Site.MCO: SiteInfo("COL", "COP", 0, "170", "es", "America/Bogota"),
    Site.MPE: SiteInfo("PER", "PEN", 2, "604", "es", "America/Lima"),
    Site.MLU: SiteInfo("URY", "UYU", 2, "858", "es-ar", "America/Montevideo"),
}
