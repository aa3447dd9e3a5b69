"""Signed, immutable QR image URLs (``pos.qr_links``): anyone holding one gets the image, cached
for good, with no session and no query; changing any part of one, or signing it with another key,
gives a plain 404; the pages that show a QR embed them."""

from io import BytesIO

import pytest
import zxingcpp
from django.core import signing
from django.test import Client, override_settings
from django.urls import resolve
from PIL import Image

from pos import qr, qr_links
from tests.factories import make_member, make_order

ORDER_A = "00020101021243650016COM.MERCADOLIBRE020130636A-order-of-seller-a5303032540560.00"
ORDER_B = "00020101021243650016COM.MERCADOLIBRE020130636B-order-of-seller-b5303032540599.00"
IMMUTABLE = "public, max-age=31536000, immutable"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_image_cache():
    qr.render.cache_clear()


def decode(png: bytes) -> zxingcpp.Barcode:
    (barcode,) = zxingcpp.read_barcodes(
        Image.open(BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode
    )
    return barcode


def parts(url: str) -> dict[str, str]:
    """The signature, options, data and format of a signed URL."""
    return resolve(url).kwargs


def url_of(signature: str, options: str, data: str, ext: str) -> str:
    return f"{qr_links.MOUNT}qr/{signature}/{options}/{data}.{ext}"


def assert_plain_404(response) -> None:
    assert response.status_code == 404
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "Cache-Control" not in response
    assert response["Content-Security-Policy"] == "default-src 'none'"


def test_a_signed_url_serves_the_image_for_good_with_no_session_and_no_query(
    client, django_assert_num_queries, seller
):
    signed_in = Client()
    signed_in.force_login(make_member(seller, "cashier"))
    url = qr_links.image_url(ORDER_A, qr.PNG, qr.ImageOptions(size=4, border=2, ec="H"))

    with django_assert_num_queries(0):
        first = client.get(url)  # no cookie
        again = signed_in.get(url)  # a browser sends its session cookie along

    barcode = decode(first.content)
    assert (barcode.text, barcode.ec_level) == (ORDER_A, "H")
    assert first["Content-Type"] == "image/png"
    assert first["Cache-Control"] == again["Cache-Control"] == IMMUTABLE
    assert first["ETag"] == again["ETag"]
    assert again.content == first.content
    assert first["Content-Security-Policy"] == "default-src 'none'"
    assert first["X-Content-Type-Options"] == "nosniff"  # the security middleware still answers
    assert "Set-Cookie" not in again
    assert "Vary" not in again
    assert (qr.render.cache_info().misses, qr.render.cache_info().hits) == (1, 1)


def test_the_svg_and_the_304_of_a_signed_url(client, django_assert_num_queries):
    url = qr_links.image_url(ORDER_A, qr.SVG)

    with django_assert_num_queries(0):
        svg = client.get(url)
        not_modified = client.get(url, headers={"if-none-match": svg["ETag"]})
        head = client.head(url)

    assert svg["Content-Type"] == "image/svg+xml"
    assert svg.content.startswith(b"<?xml")
    assert not_modified.status_code == 304
    assert not_modified["Cache-Control"] == IMMUTABLE
    assert head.status_code == 200
    assert client.post(url).status_code == 405


def test_the_same_image_has_the_same_etag_as_the_signed_in_url(client, seller, pos):
    order = make_order(seller, pos=pos, qr_data=ORDER_A, status="created")
    client.force_login(make_member(seller, "cashier"))

    signed_in = client.get(f"/orders/{order.pk}/qr.svg")
    signed = client.get(qr_links.image_url(ORDER_A, qr.SVG))

    assert signed["ETag"] == signed_in["ETag"]
    assert signed.content == signed_in.content


TAMPERED_PARTS = [
    "signature",
    "B's payload with A's signature",
    "A's payload with B's signature",
    "format",
    "size",
    "border",
    "error correction",
    "payload cut short",
    "payload padded",
]


def tampered_urls() -> dict[str, str]:
    """The URL of order A with each of its parts changed, B's payload and another format among
    them (what another seller's page, or a guess, would try)."""
    a = parts(qr_links.image_url(ORDER_A, qr.PNG))
    b = parts(qr_links.image_url(ORDER_B, qr.PNG))
    flipped = ("B" if a["signature"][0] == "A" else "A") + a["signature"][1:]
    return {
        "signature": url_of(**a | {"signature": flipped}),
        "B's payload with A's signature": url_of(**a | {"data": b["data"]}),
        "A's payload with B's signature": url_of(**a | {"signature": b["signature"]}),
        "format": url_of(**a | {"ext": "svg"}),
        "size": url_of(**a | {"options": "40-4-M"}),
        "border": url_of(**a | {"options": "10-0-M"}),
        "error correction": url_of(**a | {"options": "10-4-H"}),
        "payload cut short": url_of(**a | {"data": a["data"][:-4]}),
        "payload padded": url_of(**a | {"data": a["data"] + "AAAA"}),
    }


@pytest.mark.parametrize("part", TAMPERED_PARTS)
def test_a_url_changed_in_any_part_is_a_plain_404_without_a_query(
    client, django_assert_num_queries, part
):
    url = tampered_urls()[part]

    with django_assert_num_queries(0):
        response = client.get(url)

    assert_plain_404(response)
    assert qr.render.cache_info().misses == 0  # nothing was drawn


@pytest.mark.parametrize(
    "path",
    ["qr/", "qr/short/10-4-M/QUJD.png", f"qr/{'a' * 43}/10-4-M/QUJD.gif", f"qr/{'a' * 43}/x.png"],
)
def test_anything_else_under_the_prefix_is_not_found(client, path):
    assert client.get(f"{qr_links.MOUNT}{path}").status_code == 404


def test_a_signature_made_with_another_key_is_refused(client):
    with override_settings(SECRET_KEY="another platform's key" * 3):
        foreign = qr_links.image_url(ORDER_A, qr.PNG)

    assert_plain_404(client.get(foreign))


def test_urls_signed_before_a_key_rotation_verify_while_the_old_key_is_a_fallback(client, settings):
    old_key = settings.SECRET_KEY
    before = qr_links.image_url(ORDER_A, qr.PNG)

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "the new key" * 5, [old_key]
    during = client.get(before)
    new_url = qr_links.image_url(ORDER_A, qr.PNG)
    settings.SECRET_KEY_FALLBACKS = []
    after = client.get(before)

    assert during.status_code == 200
    assert new_url != before  # signed with the new key
    assert client.get(new_url).status_code == 200
    assert_plain_404(after)


def test_a_changed_payload_is_another_url():
    assert qr_links.image_url(ORDER_A, qr.PNG) != qr_links.image_url(ORDER_B, qr.PNG)
    assert qr_links.image_url(ORDER_A, qr.PNG) == qr_links.image_url(ORDER_A, qr.PNG)


def test_options_out_of_bounds_are_neither_signed_nor_drawn(client):
    with pytest.raises(qr.InvalidImageOption):
        qr_links.image_url(ORDER_A, qr.PNG, qr.ImageOptions(size=41))
    # Signed with the platform's own key (as a leaked key could), still not drawn: the bounds
    # of pos.qr are checked again.
    data = signing.b64_encode(ORDER_A.encode()).decode()
    signature = signing.Signer(salt=qr_links.SALT, algorithm="sha256").signature(
        f"png/99-4-M/{data}"
    )

    assert_plain_404(client.get(url_of(signature, "99-4-M", data, "png")))
    assert qr.render.cache_info().misses == 0


def test_the_middleware_and_the_urlconf_agree(client, settings):
    url = qr_links.image_url(ORDER_A, qr.SVG)
    assert url.startswith(qr_links.MOUNT)
    assert resolve(url).view_name == qr_links.URL_NAME

    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if not m.endswith("SignedImageMiddleware")
    ]
    response = client.get(url)  # the same view, through the URLconf and the whole stack

    assert response.status_code == 200
    assert response["Cache-Control"] == IMMUTABLE
    assert "Accept-Language" in response["Vary"]  # the locale middleware saw it this time


def test_the_cashier_page_and_the_sticker_embed_signed_urls_that_load(client, seller, pos):
    order = make_order(seller, pos=pos, qr_data=ORDER_A, status="created")
    client.force_login(make_member(seller, "manager"))

    cashier_page = client.get(f"/cashier/?order={order.uid}").text
    sticker_page = client.get(f"/pos/{pos.pk}/sticker/").text
    order_url = qr_links.image_url(ORDER_A, qr.SVG)
    pos_url = qr_links.image_url(pos.qr_code, qr.SVG)

    assert f'id="order-qr" src="{order_url}"' in cashier_page
    assert f'class="qr" src="{pos_url}"' in sticker_page
    client.logout()
    for url in (order_url, pos_url):
        assert client.get(url)["Content-Type"] == "image/svg+xml"
