"""The language of a person's pages: the one they chose, else their seller's, worded for the
seller's country.

Languages are Django's codes: ``en``, ``pt-br``, ``es`` (Spanish addressing the reader as "tú",
as most of Latin America writes) and ``es-ar`` (the "vos" of Argentina and Uruguay:
"Escaneá", "Pagá", "Ingresá"). The ``es-ar`` catalog (``locale/es_AR``) holds only the strings
whose wording differs; gettext finds every other one in ``locale/es`` (es_AR falls back to es).
Each site's language is ``tenants.sites.SITES[site].language``.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from tenants.sites import SITES


def site_language(site_id: str) -> str:
    """The language of a seller on ``site_id``: ``es-ar`` for MLA and MLU, ``pt-br`` for MLB,
    ``es`` for the other Spanish-speaking sites."""
    return SITES[site_id].language


def language_for(site_id: str | None, chosen: str) -> str | None:
    """The language of the pages of a person who chose ``chosen`` (``""``: none) and acts for a
    seller on ``site_id`` (``None``: for no seller).

    Spanish is worded as the seller's country words it; with neither a choice nor a seller,
    ``None`` leaves the language to the browser (``Accept-Language``).
    """
    if site_id is None:
        return chosen or None
    own = site_language(site_id)
    if not chosen or chosen.split("-")[0] == own.split("-")[0]:
        return own
    return chosen


def language_for_request(request: HttpRequest) -> str | None:
    """The language of the person making ``request`` at the seller they act for
    (``request.tenant``), as ``language_for`` decides it; ``None`` for a signed-out page."""
    chosen = getattr(getattr(request, "user", None), "language", "")
    tenant = getattr(request, "tenant", None)
    return language_for(tenant.site if tenant is not None else None, chosen)


API_PREFIX = "/api/"
"""The partner API answers in English, whoever asks: its messages are for developers and its
codes are the contract."""


class PersonLanguageMiddleware:
    """Activates the language of the person signed in (``language_for_request``).

    It comes after ``TenantMiddleware``, which sets the seller. Signed-out pages keep the
    language ``LocaleMiddleware`` took from the browser; the customer display, which nobody signs
    in to, speaks its seller's language itself.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = "en" if request.path.startswith(API_PREFIX) else language_for_request(request)
        if language is not None:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
