"""An order's QR as an image (PNG, SVG), for members of the order's seller and platform staff.

What is drawn is what the buyer scans: the order's own ``qr_data`` for a dynamic or hybrid
order, its POS's fixed QR for a static one. Options and caching are ``pos.qr.image_response``'s.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from orders.models import Order
from pos import qr
from tenants.decorators import ensure_can_view


def _order_qr_payload(request: HttpRequest, pk: int) -> str:
    """The QR text the buyer scans to pay order ``pk`` of the request's seller; else 404."""
    ensure_can_view(request)
    payload = get_object_or_404(Order.objects.select_related("pos"), pk=pk).scan_payload
    if not payload:
        raise Http404("This order has no QR yet: Mercado Pago has not accepted it.")
    return payload


@login_required
@require_GET
def qr_png(request: HttpRequest, pk: int) -> HttpResponse:
    """The order's QR as a PNG (options: ``size``, ``border``, ``ec``)."""
    return qr.image_response(request, _order_qr_payload(request, pk), qr.PNG)


@login_required
@require_GET
def qr_svg(request: HttpRequest, pk: int) -> HttpResponse:
    """The order's QR as an SVG (options: ``size``, ``border``, ``ec``)."""
    return qr.image_response(request, _order_qr_payload(request, pk), qr.SVG)
