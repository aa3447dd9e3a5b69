"""The POS fixed QR (PNG, SVG) and its printable sticker, for members of the POS's seller."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from pos import qr
from pos.models import PointOfSale
from tenants.roles import Capability, role_can, sees_every_tenant


def _pos_with_qr(request, pk: int) -> PointOfSale:
    """The POS ``pk`` of the request's seller, once Mercado Pago has given it a QR; else 404."""
    if request.tenant is None and not sees_every_tenant(request.user):
        raise Http404("Choose a seller first.")
    if not (sees_every_tenant(request.user) or role_can(request.tenant_role, Capability.VIEW)):
        raise Http404
    pos = get_object_or_404(PointOfSale.objects.select_related("store"), pk=pk)
    if not pos.qr_code:
        raise Http404("This point of sale has no QR yet: it is not synced with Mercado Pago.")
    return pos


def _qr_image(request, pk: int, render_qr, content_type: str) -> HttpResponse:
    pos = _pos_with_qr(request, pk)
    response = HttpResponse(render_qr(pos.qr_code), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_GET
def qr_png(request, pk: int) -> HttpResponse:
    return _qr_image(request, pk, qr.png, "image/png")


@login_required
@require_GET
def qr_svg(request, pk: int) -> HttpResponse:
    return _qr_image(request, pk, qr.svg, "image/svg+xml")


@login_required
@require_GET
def sticker(request, pk: int) -> HttpResponse:
    """A page that prints on one A6 sheet: store and POS names, the QR, how to pay."""
    pos = _pos_with_qr(request, pk)
    return render(request, "pos/sticker.html", {"pos": pos})
