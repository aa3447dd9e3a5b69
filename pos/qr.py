"""The POS fixed QR as images. The payload is rendered as opaque text, never parsed."""

from io import BytesIO

import qrcode
import qrcode.image.svg


def png(payload: str) -> bytes:
    """The QR of ``payload`` as a PNG."""
    buffer = BytesIO()
    qrcode.make(payload, box_size=10, border=4).save(buffer)
    return buffer.getvalue()


def svg(payload: str) -> str:
    """The QR of ``payload`` as a standalone SVG document (scales to its container)."""
    image = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, border=4)
    return image.to_string(encoding="unicode")
