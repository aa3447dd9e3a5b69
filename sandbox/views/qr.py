"""The images of a POS's static QR: the QR (PNG) and a printable template (PNG and PDF)."""

import io

import qrcode
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from PIL import Image, ImageDraw

from sandbox.models import PointOfSale
from sandbox.render import static_qr_code

FORMATS = {"image.png": "image/png", "template.png": "image/png", "template.pdf": "application/pdf"}


def _template(qr: Image.Image, pos: PointOfSale) -> Image.Image:
    sheet = Image.new("RGB", (qr.width + 80, qr.height + 160), "white")
    sheet.paste(qr, (40, 100))
    draw = ImageDraw.Draw(sheet)
    draw.text((40, 30), "Mercado Pago (sandbox)", fill="black", font_size=24)
    draw.text((40, 62), f"{pos.store.name} · {pos.name}", fill="black", font_size=18)
    draw.text((40, qr.height + 115), f"POS {pos.external_id}", fill="black", font_size=18)
    return sheet


def pos_qr(request: HttpRequest, uuid: str, kind: str) -> HttpResponse:
    """``kind`` of the static QR of the POS ``uuid``."""
    if kind not in FORMATS:
        raise Http404(kind)
    pos = get_object_or_404(PointOfSale.objects.select_related("account", "store"), uuid=uuid)
    image = qrcode.make(static_qr_code(pos), box_size=8).get_image().convert("RGB")
    if kind != "image.png":
        image = _template(image, pos)
    buffer = io.BytesIO()
    image.save(buffer, format="PDF" if kind.endswith(".pdf") else "PNG")
    return HttpResponse(buffer.getvalue(), content_type=FORMATS[kind])
