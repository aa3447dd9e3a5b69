"""The dated versions of the partner API (docs/api.md, "Versioning").

A partner app is pinned to the version current when the seller first connected it
(``PartnerGrant.api_version``); a request may ask for another with the ``Api-Version`` header.
Every answer names the version it was written in, and every event the version of its ``data``.
A breaking change ships as a new dated version; additive changes do not.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from rest_framework import exceptions

HEADER = "Api-Version"
VERSIONS = ("2026-12-06",)
CURRENT = VERSIONS[-1]
API_PREFIX = "/api/v1/"


class InvalidApiVersion(exceptions.APIException):
    """An ``Api-Version`` that is not one of ``VERSIONS``: 400 ``invalid_api_version``."""

    status_code = 400
    default_code = "invalid_api_version"

    def __init__(self, value: str) -> None:
        shown = value if len(value) <= 40 else f"{value[:40]}…"  # a header may be kilobytes long
        message = f"Unknown API version {shown!r}: use one of {', '.join(VERSIONS)}."
        super().__init__(message, code=self.default_code)
        self.fields = {HEADER: [{"code": "invalid_choice", "message": message}]}


def asked_version(request: HttpRequest) -> str | None:
    """The request's ``Api-Version`` header, None without one (``InvalidApiVersion`` when it
    names no version)."""
    value = request.headers.get(HEADER)
    if value is None:
        return None
    if value.strip() not in VERSIONS:
        raise InvalidApiVersion(value)
    return value.strip()


def requested_version(request: HttpRequest) -> str:
    """The version ``request`` is answered in: its ``Api-Version`` header, else the version its
    app's grant is pinned to (a DRF request authenticated by a token), else ``CURRENT``.
    ``InvalidApiVersion`` for an unknown header."""
    asked = asked_version(request)
    if asked is not None:
        return asked
    grant = getattr(request, "partner_grant", None)
    return grant.api_version if grant is not None and grant.api_version else CURRENT


def answered_version(request: HttpRequest) -> str:
    """``requested_version``, or ``CURRENT`` when the header names no version (its 400)."""
    try:
        return requested_version(request)
    except InvalidApiVersion:
        return CURRENT


class ApiVersionMiddleware:
    """Names the version in every answer under ``/api/v1/`` (``Api-Version``): the API's views
    set it (with the grant's pinned version), this covers the rest (an unknown path, a 500)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX) and HEADER not in response:
            response[HEADER] = answered_version(request)
        return response
