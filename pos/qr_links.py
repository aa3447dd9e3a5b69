"""Signed, immutable URLs of QR images, which anyone holding one may fetch without signing in.

``/pos/qr/<signature>/<size>-<border>-<ec>/<payload>.<png|svg>``: the URL carries everything the
image depends on, the payload itself (base64url of its UTF-8 text), the options and the format,
and an HMAC of them all (``django.core.signing.Signer``: SHA-256, a key derived from
``SECRET_KEY`` with this module's salt, compared in constant time; URLs signed with a key of
``SECRET_KEY_FALLBACKS`` still verify while the key rotates).

- **No session, no database, no shared cache.** Answering needs only the URL:
  ``SignedImageMiddleware`` serves it before the session, user and seller are looked up, and a
  node that has not drawn the image yet draws it from the URL. The payload goes in the URL rather
  than a key to a row because it is exactly what the image shows to anyone who scans it (an
  EMVCo ``qr_data`` is a few hundred characters; the URL stays under the ~2 KB that every browser,
  proxy and CDN accepts).
- **Immutable.** A payload is drawn the same forever, and a changed one (another order, a POS's
  new fixed QR) is another URL: answers are cached for a year by browsers and CDNs, never stale.
- **Never expires.** After its order closes a URL still draws the same QR, which Mercado Pago no
  longer pays: whoever holds it already held the image. Replacing ``SECRET_KEY`` (without keeping
  the old one in ``SECRET_KEY_FALLBACKS``) revokes every URL at once.
- **Unforgeable.** Changing any part of a URL (signature, payload, options or format), or a
  signature made with another key, gives a plain 404 that says nothing more; the options of a
  signed URL are checked against ``pos.qr``'s bounds again before drawing.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.urls import ResolverMatch, reverse
from django.views.decorators.http import require_safe

from pos import qr

SALT = "pos.qr_links"
CACHE_CONTROL = "public, max-age=31536000, immutable"
# An SVG opened on its own is a document: it may run nothing and load nothing. (These answers
# leave before django-csp's middleware, which would send the pages' policy.)
CONTENT_SECURITY_POLICY = "default-src 'none'"
URL_NAME = "pos:signed-qr"
MOUNT = "/pos/"
"""Where the URLconf includes ``pos/urls.py``, which routes ``ROUTE`` below it."""
ROUTE = (
    r"^qr/(?P<signature>[A-Za-z0-9_-]{43})/(?P<options>[0-9]{1,2}-[0-9]{1,2}-[LMQH])"
    r"/(?P<data>[A-Za-z0-9_-]{1,4000})\.(?P<ext>png|svg)$"
)
"""A SHA-256 signature is 43 base64url characters; the largest QR holds 2,953 bytes (3,938
in base64url)."""
_ROUTE = re.compile(ROUTE)


@dataclass(frozen=True)
class SignedImage:
    """What a verified URL draws."""

    payload: str
    image_format: qr.ImageFormat
    options: qr.ImageOptions


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT, algorithm="sha256")


def _signed_value(ext: str, options: str, data: str) -> str:
    return f"{ext}/{options}/{data}"


def _parsed_options(size: str, border: str, ec: str) -> qr.ImageOptions:
    return qr.parse_options({"size": size, "border": border, "ec": ec})


def image_url(
    payload: str, image_format: qr.ImageFormat, options: qr.ImageOptions | None = None
) -> str:
    """The signed URL (a path) of ``payload``'s QR in ``image_format``, drawn with ``options``
    (``pos.qr``'s defaults when ``None``). Raises ``pos.qr.InvalidImageOption`` for options out
    of ``pos.qr``'s bounds."""
    options = options or qr.ImageOptions()
    options = _parsed_options(str(options.size), str(options.border), options.ec)
    fields = {
        "ext": image_format.name,
        "options": f"{options.size}-{options.border}-{options.ec}",
        "data": signing.b64_encode(payload.encode()).decode(),
    }
    signature = _signer().signature(_signed_value(**fields))
    return reverse(URL_NAME, kwargs={"signature": signature, **fields})


def verified(signature: str, options: str, data: str, ext: str) -> SignedImage | None:
    """What the URL made of these parts (as ``ROUTE`` matched them) draws, if the platform
    signed it and its options are within ``pos.qr``'s bounds; else ``None``."""
    try:
        _signer().unsign(f"{_signed_value(ext, options, data)}:{signature}")
    except signing.BadSignature:
        return None
    try:
        parsed = _parsed_options(*options.split("-"))
    except qr.InvalidImageOption:
        return None
    return SignedImage(signing.b64_decode(data.encode()).decode(), qr.FORMATS[ext], parsed)


def _not_found() -> HttpResponse:
    return HttpResponseNotFound("Not found.", content_type="text/plain; charset=utf-8")


@require_safe
def signed_image(
    request: HttpRequest, signature: str, options: str, data: str, ext: str
) -> HttpResponse:
    """The QR image of a signed URL, for anyone, cached for good; a plain 404 unless the
    platform signed the URL."""
    image = verified(signature, options, data, ext)
    if image is None:
        response = _not_found()
    else:
        response = qr.image_answer(
            request, image.payload, image.image_format, image.options, CACHE_CONTROL
        )
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


class SignedImageMiddleware:
    """Answers the signed image URLs before the session, user and seller are looked up.

    It sits after WhiteNoise (as static files do) and before ``SessionMiddleware``: a browser
    that sends its session cookie costs no query either, and the answer still passes back
    through the security, metrics and request-id middleware above it. It matches ``ROUTE`` under
    ``MOUNT`` itself (what the URLconf would resolve, without walking it) and names the view in
    ``request.resolver_match`` as the URLconf would, for the metrics.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        match = _ROUTE.match(path[len(MOUNT) :]) if path.startswith(MOUNT) else None
        if match is None:
            return self.get_response(request)
        kwargs = match.groupdict()
        app_name, url_name = URL_NAME.split(":")
        request.resolver_match = ResolverMatch(
            signed_image, (), kwargs, url_name, [app_name], [app_name], route=ROUTE
        )
        return signed_image(request, **kwargs)
