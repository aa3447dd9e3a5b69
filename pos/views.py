"""The POS fixed QR (PNG, SVG) and its printable sticker, for members of the POS's seller."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from pos import qr, stickers
from pos.models import PointOfSale
from tenants.decorators import ensure_can_view


def _pos_with_qr(request: HttpRequest, pk: int) -> PointOfSale:
    """The POS ``pk`` of the request's seller, once Mercado Pago has given it a QR; else 404."""
    ensure_can_view(request)
    pos = get_object_or_404(PointOfSale.objects.select_related("store"), pk=pk)
    if not pos.qr_code:
        raise Http404("This point of sale has no QR yet: it is not synced with Mercado Pago.")
    return pos


@login_required
@require_GET
def qr_png(request: HttpRequest, pk: int) -> HttpResponse:
    """The POS's fixed QR as a PNG (options: ``size``, ``border``, ``ec``)."""
    return qr.image_response(request, _pos_with_qr(request, pk).qr_code, qr.PNG)


@login_required
@require_GET
def qr_svg(request: HttpRequest, pk: int) -> HttpResponse:
    """The POS's fixed QR as an SVG (options: ``size``, ``border``, ``ec``)."""
    return qr.image_response(request, _pos_with_qr(request, pk).qr_code, qr.SVG)


@login_required
@require_GET
def sticker(request: HttpRequest, pk: int) -> HttpResponse:
    """A page that prints on one A6 sheet: store and POS names, the QR, how to pay. The first
    time a member of the seller opens it ticks the owner's "Print the sticker" step."""
    pos = _pos_with_qr(request, pk)
    if request.tenant_role is not None:
        stickers.record_sticker_opened(tenant=request.tenant, pos=pos)
    return render(request, "pos/sticker.html", {"pos": pos})
