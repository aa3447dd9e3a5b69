"""The customer-facing display of a POS (no login): the open order's amount, items and QR.

The page is reached by the POS's unguessable ``display_token``; it polls ``state.json`` every
second and turns to paid, expired or canceled without a reload. Everything after the token
lookup runs in the POS's tenant scope and in the language of the tenant's site.
"""

from decimal import Decimal

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import formats, timezone, translation
from django.views.decorators.http import require_GET

from orders.models import Order
from orders.selectors import display_state
from pos import qr
from pos.models import PointOfSale
from pos.selectors import pos_for_display_token
from tenants.scope import tenant_scope

QR_OPTIONS = qr.ImageOptions(size=10, border=4, ec="M")


def _display_pos(token: str) -> PointOfSale:
    pos = pos_for_display_token(token)
    if pos is None:
        raise Http404("No display here.")
    return pos


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def format_amount(amount: Decimal, currency: str, decimal_places: int) -> str:
    """``amount`` in the active language's number format, after its currency code."""
    number = formats.number_format(amount, decimal_pos=decimal_places, force_grouping=True)
    return f"{currency} {number}"


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


@require_GET
def display_page(request: HttpRequest, token: str) -> HttpResponse:
    """The display page of the POS at ``token``: idle, or the order it shows; else 404."""
    pos = _display_pos(token)
    tenant = pos.tenant
    with tenant_scope(tenant), translation.override(tenant.site_info.language):
        shown = display_state(pos)
        order = shown.order
        context = {"pos": pos, "shown": shown, "order": order}
        if order is not None:
            places = tenant.site_info.decimal_places
            payload = order.scan_payload if shown.state == "open" else ""
            context |= {
                "amount": format_amount(order.total_amount, order.currency, places),
                "items": [
                    (item, format_amount(item.total_amount, order.currency, places))
                    for item in order.items.all()
                ],
                "qr_svg": qr.render(payload, qr.SVG, QR_OPTIONS).decode() if payload else "",
                "seconds_left": max(0, int((order.expires_at - timezone.now()).total_seconds())),
            }
        return _no_store(render(request, "display/page.html", context))


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
