"""``{% qr_image_url payload "svg" %}``: the signed, immutable URL of a QR image
(``pos.qr_links``)."""

from django import template

from pos import qr, qr_links

register = template.Library()


@register.simple_tag
def qr_image_url(payload: str, image_format: str = "svg") -> str:
    """The signed URL of ``payload``'s QR in ``image_format`` (``png`` or ``svg``), default
    options."""
    return qr_links.image_url(payload, qr.FORMATS[image_format])
