"""The customer-facing display of a POS (no login): a kiosk screen with the seller's name and
logo, the open order's amount, items and QR, or an idle screen between orders.

The page is reached by the POS's unguessable ``display_token``. Its script listens to ``events``
(the state pushed on each change, ``orders.live``); where that stream cannot open it polls
``state.json`` (every ``OPEN_POLL_MS`` while an order waits for its payment, every
``IDLE_POLL_MS`` otherwise). When the state changes it fetches ``screen.html`` (the page's
``<main>``) and swaps it in place: no reload, so a full-screen display stays full screen.
Everything after the token lookup runs in the POS's tenant scope, in the language of the tenant's
site and with its site's money format.
"""

from datetime import timedelta

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_GET

from merchant_platform.money import locale_for_site
from orders import live
from orders.models import OPEN_STATUSES, Order
from orders.selectors import CLOSED_STATES, DisplayState, display_state
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


def state_body(pos: PointOfSale) -> dict:
    """What ``state.json`` answers for ``pos``: ``state`` and, unless idle, its ``order`` (call
    it inside ``pos.tenant``'s scope); the live stream sends it as it opens."""
    shown = display_state(pos)
    body: dict = {"state": shown.state}
    if shown.order is not None:
        body["order"] = _order_json(shown.order)
    return body


def pushed_state(order: Order) -> dict:
    """The display's state as ``order``, just created or changed, makes it, read from the order
    alone (no query): ``state`` and the order's ``uid`` and ``status``, the part of ``state.json``
    the page compares. The page then fetches ``screen.html``, which ``display_state`` renders:
    should an older order of the POS change, the screen still shows the newest."""
    if order.status in OPEN_STATUSES:
        state = "open"
    elif order.status in CLOSED_STATES:
        state = CLOSED_STATES[order.status]
    else:
        return {"state": "idle"}  # failed: the buyer never got a QR
    return {"state": state, "order": {"uid": str(order.uid), "status": order.status}}


def _changes_in(shown: DisplayState, order: Order | None) -> int:
    """Seconds until the screen changes by itself, with no event: an open order's expiry, or
    the end of a final state (0: never). A streaming page asks ``state.json`` once then."""
    if order is None:
        return 0
    if shown.state == "open":
        return max(0, int((order.expires_at - timezone.now()).total_seconds())) + 1
    if order.closed_at is None:
        return 0
    shown_until = order.closed_at + timedelta(seconds=settings.DISPLAY_FINAL_STATE_SECONDS)
    return max(0, int((shown_until - timezone.now()).total_seconds())) + 1


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
            "changes_in": _changes_in(shown, order),
            "live": live.enabled(),
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
        return _no_store(JsonResponse(state_body(pos)))


@require_GET
def display_events(request: HttpRequest, token: str) -> HttpResponse:
    """The display's state as server-sent events: now, then on each change (``orders.live``);
    ``204`` where there is no stream (the page polls ``state.json`` instead)."""
    pos = _display_pos(token)

    def current() -> dict:
        with tenant_scope(pos.tenant):
            return state_body(pos)

    response = live.stream_response(request, live.display_channel(pos.pk), current)
    response["X-Robots-Tag"] = "noindex"
    return response


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
