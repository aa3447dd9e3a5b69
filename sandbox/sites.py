"""What the emulated API knows about each Mercado Pago site (api.md §1.2 and §4.3)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    id: str
    country: str  # ISO 3166 alpha-2 (EMVCo tag 58)
    country_code: str  # ISO 3166 alpha-3 (Orders API ``country_code``)
    currency: str  # ISO 4217
    currency_numeric: str  # ISO 4217 numeric (EMVCo tag 53)
    decimals: int  # 0: amounts are whole numbers
    mccs: frozenset[int]  # POS categories: gastronomy and gas station
    bounds: tuple[float, float, float, float]  # latitude min/max, longitude min/max


SITES = {
    site.id: site
    for site in [
        Site(
            "MLA", "AR", "ARG", "ARS", "032", 2, frozenset({621102, 473000}), (-56, -21, -74, -53)
        ),
        Site(
            "MLB", "BR", "BRA", "BRL", "986", 2, frozenset({5611203, 4731300}), (-34, 6, -74, -28)
        ),
        Site("MLM", "MX", "MEX", "MXN", "484", 2, frozenset({5812, 468419}), (14, 33, -119, -86)),
        Site(
            "MLC", "CL", "CHL", "CLP", "152", 0, frozenset({561000, 473001}), (-56, -17, -110, -66)
        ),
        Site("MCO", "CO", "COL", "COP", "170", 0, frozenset({5611, 4731}), (-5, 14, -82, -66)),
        Site("MPE", "PE", "PER", "PEN", "604", 2, frozenset({5520, 5050}), (-19, 0, -82, -68)),
        Site("MLU", "UY", "URY", "UYU", "858", 2, frozenset({56101, 47300}), (-35, -30, -59, -53)),
    ]
}


def site(site_id: str) -> Site:
    """The site ``site_id`` (MLA, MLB, ...)."""
    return SITES[site_id]
