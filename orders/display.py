"""The customer-facing display of a POS (no login): a kiosk screen with the seller's name and
logo, the open order's amount, items and QR, or an idle screen between orders.

The page is reached by the POS's unguessable ``display_token``. Its script polls ``state.json``
(every ``OPEN_POLL_MS`` while an order waits for its payment, every ``IDLE_POLL_MS`` otherwise)
and, when the state changes, fetches ``screen.html`` (the page's ``<main>``) and swaps it in
place: no reload, so a full-screen display stays full screen. Everything after the token lookup
runs in the POS's tenant scope, in the language of the tenant's site and with its site's money
format.
"""

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_GET

from merchant_platform.money import locale_for_site
from orders.models import Order
from orders.selectors import display_state
from pos import qr
from pos.models import PointOfSale
from pos.selectors import pos_for_display_token
from tenants.models import Tenant
from tenants.scope import tenant_scope

QR_OPTIONS = qr.ImageOptions(size=10, border=4, ec="M")
OPEN_POLL_MS = 500
"""Polled at 1 s, "paid" showed 1.5 s p95 after the webhook; at 500 ms, within 1 s
(bench/display_latency.py, docs/performance.md)."""
IDLE_POLL_MS = 1000
LOGO_CACHE_CONTROL = "public, max-age=31536000, immutable"


def _display_pos(token: str) -> PointOfSale:
    pos = pos_for_display_token(token)
    if pos is None:
        raise Http404("No display here.")
    return pos


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def logo_version(tenant: Tenant) -> str:
    """What changes with the seller's logo: its upload time, to the microsecond ("" if none)."""
    if not tenant.logo_png:
        return ""
    updated_at = tenant.logo_updated_at
    return updated_at.strftime("%Y%m%d%H%M%S%f") if updated_at else "0"


def _order_json(order: Order) -> dict:
    return {
        "uid": str(order.uid),
        "total_amount": str(order.total_amount),
        "currency": order.currency,
        "title": order.title,
        "items": [
            {
                "title": item.title,
                "quantity": item.quantity,
                "unit_price": str(item.unit_price),
                "total_amount": str(item.total_amount),
            }
            for item in order.items.all()
        ],
        "expires_at": order.expires_at.isoformat(),
        "status": order.status,
    }


def _render_screen(request: HttpRequest, token: str, template: str) -> HttpResponse:
    """``template`` rendered with what the display of the POS at ``token`` shows now."""
    pos = _display_pos(token)
    tenant = pos.tenant
    with tenant_scope(tenant), translation.override(tenant.site_info.language):
        shown = display_state(pos)
        order = shown.order
        context = {
            "pos": pos,
            "tenant": tenant,
            "shown": shown,
            "order": order,
            "money_locale": locale_for_site(tenant.site),
            "logo_version": logo_version(tenant),
            "poll_ms": OPEN_POLL_MS if shown.state == "open" else IDLE_POLL_MS,
        }
        if order is not None:
            payload = order.scan_payload if shown.state == "open" else ""
            context |= {
                "qr_svg": qr.render(payload, qr.SVG, QR_OPTIONS).decode() if payload else "",
                "seconds_left": max(0, int((order.expires_at - timezone.now()).total_seconds())),
            }
        return _no_store(render(request, template, context))


@require_GET
def display_page(request: HttpRequest, token: str) -> HttpResponse:
    """The display page of the POS at ``token``: idle, or the order it shows; else 404."""
    return _render_screen(request, token, "display/page.html")


@require_GET
def display_screen(request: HttpRequest, token: str) -> HttpResponse:
    """The page's ``<main>`` alone, which its script swaps in when the state changes."""
    return _render_screen(request, token, "display/screen.html")


@require_GET
def display_state_json(request: HttpRequest, token: str) -> HttpResponse:
    """The state of the POS's display as JSON: ``state`` and, unless idle, its ``order``."""
    pos = _display_pos(token)
    with tenant_scope(pos.tenant):
        shown = display_state(pos)
        body: dict = {"state": shown.state}
        if shown.order is not None:
            body["order"] = _order_json(shown.order)
        return _no_store(JsonResponse(body))


@require_GET
def display_logo(request: HttpRequest, token: str) -> HttpResponse:
    """The logo of the seller of the POS at ``token`` as a PNG; 404 when it has none.

    The page links it as ``logo.png?v=<logo_version>``: that URL is cached for a year (a new
    logo gets a new URL); any other is revalidated against the ETag.
    """
    tenant = _display_pos(token).tenant
    version = logo_version(tenant)
    if not version:
        raise Http404("This seller has no logo.")
    etag = f'"{version}"'
    response = get_conditional_response(request, etag=etag) or HttpResponse(
        bytes(tenant.logo_png), content_type="image/png"
    )
    response["ETag"] = etag
    response["Cache-Control"] = (
        LOGO_CACHE_CONTROL if request.GET.get("v") == version else "no-cache"
    )
    response["X-Robots-Tag"] = "noindex"
    return response
