"""QR images (PNG, SVG) of a payload, and the HTTP response that serves them.

The payload (a POS's fixed QR, an order's ``qr_data``) is drawn as opaque text: it is never
parsed or validated, so a payload whose CRC is wrong is drawn as it is. ``image_answer`` is the
one place that answers ``If-None-Match`` and keeps rendered images in a bounded in-process cache:
``image_response`` (the signed-in POS and order views, options in the query string) and the
signed image URLs of ``pos.qr_links`` both use it.
"""

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO

import qrcode
import qrcode.constants
import qrcode.image.base
import qrcode.image.pil
import qrcode.image.svg
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.cache import get_conditional_response

SIZES = range(1, 41)  # pixels per module in a PNG; tenths of a millimetre in an SVG
BORDERS = range(0, 11)  # quiet-zone modules; scanners expect 4
ERROR_CORRECTION = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
# The URL names an order or a POS, not a payload: the browser asks again every time and the ETag
# turns the answer into an empty 304 when the image has not changed. (Signed image URLs name the
# payload itself and are cached for good: ``pos.qr_links``.)
CACHE_CONTROL = "private, no-cache"
CACHED_IMAGES = 256


@dataclass(frozen=True)
class ImageFormat:
    """A file format of QR images and the qrcode image factory that draws it."""

    name: str
    content_type: str
    image_factory: type[qrcode.image.base.BaseImage]


PNG = ImageFormat("png", "image/png", qrcode.image.pil.PilImage)
SVG = ImageFormat("svg", "image/svg+xml", qrcode.image.svg.SvgPathImage)
FORMATS = {image_format.name: image_format for image_format in (PNG, SVG)}


@dataclass(frozen=True)
class ImageOptions:
    """How to draw a QR: module size, quiet-zone width and error-correction level."""

    size: int = 10
    border: int = 4
    ec: str = "M"


class InvalidImageOption(ValueError):
    """A query option of a QR image is out of its range; the message says the allowed values."""


def _whole_number(query: Mapping[str, str], name: str, allowed: range, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if re.fullmatch(r"[0-9]{1,3}", raw) is None or int(raw) not in allowed:
        raise InvalidImageOption(
            f"{name} must be a whole number from {allowed.start} to {allowed.stop - 1}."
        )
    return int(raw)


def parse_options(query: Mapping[str, str]) -> ImageOptions:
    """The image options in ``query`` (``size``, ``border``, ``ec``); absent ones take defaults.

    Raises ``InvalidImageOption`` for a value out of range. Other parameters are ignored.
    """
    defaults = ImageOptions()
    ec = query.get("ec", defaults.ec).upper()
    if ec not in ERROR_CORRECTION:
        raise InvalidImageOption(f"ec must be one of {', '.join(ERROR_CORRECTION)}.")
    return ImageOptions(
        size=_whole_number(query, "size", SIZES, defaults.size),
        border=_whole_number(query, "border", BORDERS, defaults.border),
        ec=ec,
    )


def image_key(payload: str, image_format: ImageFormat, options: ImageOptions) -> str:
    """A hash of everything the image depends on: its ETag and its key in the cache."""
    fields = (image_format.name, str(options.size), str(options.border), options.ec, payload)
    return hashlib.sha256("\n".join(fields).encode()).hexdigest()


@functools.lru_cache(maxsize=CACHED_IMAGES)
def render(payload: str, image_format: ImageFormat, options: ImageOptions) -> bytes:
    """The QR of ``payload`` drawn in ``image_format`` (an SVG scales to its container).

    The last ``CACHED_IMAGES`` images are kept: ``render.cache_info()`` counts hits and misses
    (each miss is one rendering).
    """
    image = qrcode.make(
        payload,
        image_factory=image_format.image_factory,
        error_correction=ERROR_CORRECTION[options.ec],
        box_size=options.size,
        border=options.border,
    )
    buffer = BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def image_answer(
    request: HttpRequest,
    payload: str,
    image_format: ImageFormat,
    options: ImageOptions,
    cache_control: str,
) -> HttpResponse:
    """The QR of ``payload`` drawn with ``options``, or an empty 304 for a matching
    ``If-None-Match`` (without rendering), with a weak ETag (the same QR, not necessarily the
    same bytes after a library upgrade) and ``cache_control``. A repeated fetch is served from
    ``render``'s cache."""
    etag = f'W/"{image_key(payload, image_format, options)}"'
    response = get_conditional_response(request, etag=etag) or HttpResponse(
        render(payload, image_format, options), content_type=image_format.content_type
    )
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    return response


def image_response(request: HttpRequest, payload: str, image_format: ImageFormat) -> HttpResponse:
    """The QR of ``payload`` for ``request``, drawn with the options of its query string
    (``image_answer``), to be revalidated on every use (``CACHE_CONTROL``).

    Bad options give a plain-text 400 naming the allowed values.
    """
    try:
        options = parse_options(request.GET)
    except InvalidImageOption as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
    return image_answer(request, payload, image_format, options, CACHE_CONTROL)
