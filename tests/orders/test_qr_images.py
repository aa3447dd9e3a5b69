"""QR images of orders and of the POS fixed QR: decoded by an independent reader (zxing-cpp),
their options, their ETag and the in-process cache that spares a second rendering."""

from decimal import Decimal
from io import BytesIO
from xml.etree import ElementTree

import pytest
import zxingcpp
from django.urls import reverse
from PIL import Image

from mpapi import emvco
from orders import services
from orders.models import Order
from orders.validation import ItemInput
from pos import qr
from tests.factories import make_member, make_order, make_user

pytestmark = pytest.mark.django_db

# The redacted sample of Mercado Pago's guide: its CRC (the last four characters) is wrong.
BAD_CRC_PAYLOAD = (
    "00020101021243650016COM.MERCADOLIBRE02013063638f1192a-5fd1-4180-a180-8bcae3556bc3520400005303"
    "9865802BR5925IZABEL AAAA DE MELO6007BARUERI62070503***63040B6D"
)
SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def empty_image_cache():
    qr.render.cache_clear()


@pytest.fixture
def cashier(seller):
    return make_member(seller, "cashier")


def create(seller, pos, mode: str, reference: str = "mesa-4") -> Order:
    return services.create_order(
        tenant=seller,
        pos=pos,
        api="v1",
        mode=mode,
        external_reference=reference,
        title="Mesa 4",
        items=[ItemInput("Bife de chorizo", Decimal("60.00"))],
    )


@pytest.fixture
def dynamic_order(seller, pos) -> Order:
    order = create(seller, pos, "dynamic")
    assert order.qr_data
    return order


def decode(png: bytes) -> zxingcpp.Barcode:
    """The one QR code that zxing-cpp reads in ``png``."""
    (barcode,) = zxingcpp.read_barcodes(
        Image.open(BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    return barcode


def svg_size(response) -> tuple[float, list[float]]:
    """The width in millimetres and the viewBox of an SVG response, which must be well formed."""
    root = ElementTree.fromstring(response.content)  # noqa: S314 (our own output)
    assert root.tag == f"{SVG_NAMESPACE}svg"
    assert root.find(f"{SVG_NAMESPACE}path") is not None
    return float(root.get("width").removesuffix("mm")), [
        float(n) for n in root.get("viewBox").split()
    ]


def order_url(name: str, order: Order) -> str:
    return reverse(f"orders:{name}", args=[order.pk])


def test_the_png_of_a_dynamic_order_is_its_qr_data_at_error_correction_m(
    client, cashier, dynamic_order
):
    client.force_login(cashier)

    response = client.get(order_url("qr-png", dynamic_order))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    barcode = decode(response.content)
    assert barcode.text == dynamic_order.qr_data
    assert barcode.ec_level == "M"


@pytest.mark.parametrize(("option", "level"), [("H", "H"), ("q", "Q"), ("L", "L")])
def test_the_ec_option_sets_the_error_correction_level(
    client, cashier, dynamic_order, option, level
):
    client.force_login(cashier)

    response = client.get(order_url("qr-png", dynamic_order), {"ec": option})

    barcode = decode(response.content)
    assert barcode.ec_level == level
    assert barcode.text == dynamic_order.qr_data


def test_size_and_border_set_the_pixels_of_the_png(client, cashier, dynamic_order):
    client.force_login(cashier)
    url = order_url("qr-png", dynamic_order)

    default = Image.open(BytesIO(client.get(url).content))
    small = Image.open(BytesIO(client.get(url, {"size": "3", "border": "0"}).content))

    modules = default.width // 10 - 2 * 4
    assert default.size == ((modules + 8) * 10,) * 2
    assert small.size == (modules * 3,) * 2
    assert decode(client.get(url, {"size": "3", "border": "1"}).content).text == (
        dynamic_order.qr_data
    )


def test_the_svg_is_a_well_formed_document_that_follows_size_and_border(
    client, cashier, dynamic_order
):
    client.force_login(cashier)
    url = order_url("qr-svg", dynamic_order)

    response = client.get(url)
    width, view_box = svg_size(response)
    double_width, _ = svg_size(client.get(url, {"size": "20"}))
    no_border_width, no_border_view_box = svg_size(client.get(url, {"border": "0"}))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert double_width == 2 * width
    assert no_border_width == width - 8  # 4 modules of 1 mm on each side
    assert no_border_view_box[2] == view_box[2] - 8


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"size": "0"}, "size must be a whole number from 1 to 40."),
        ({"size": "41"}, "size must be a whole number from 1 to 40."),
        ({"size": "ten"}, "size must be a whole number from 1 to 40."),
        ({"size": "+5"}, "size must be a whole number from 1 to 40."),
        ({"border": "-1"}, "border must be a whole number from 0 to 10."),
        ({"border": "11"}, "border must be a whole number from 0 to 10."),
        ({"ec": "X"}, "ec must be one of L, M, Q, H."),
    ],
)
@pytest.mark.parametrize("name", ["qr-png", "qr-svg"])
def test_bad_options_are_refused_with_the_allowed_values(
    client, cashier, dynamic_order, name, query, message
):
    client.force_login(cashier)

    response = client.get(order_url(name, dynamic_order), query)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.text == message


def test_a_request_with_its_etag_gets_an_empty_304_without_rendering(
    client, cashier, dynamic_order
):
    client.force_login(cashier)
    url = order_url("qr-png", dynamic_order)
    first = client.get(url)
    before = qr.render.cache_info()

    again = client.get(url, headers={"if-none-match": first["ETag"]})

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == first["Cache-Control"] == "private, no-cache"
    assert qr.render.cache_info() == before  # neither rendered nor even looked up


def test_another_option_or_format_gives_another_etag(client, cashier, dynamic_order):
    client.force_login(cashier)
    png_url = order_url("qr-png", dynamic_order)
    variants = [
        (png_url, {}),
        (png_url, {"ec": "H"}),
        (png_url, {"size": "5"}),
        (png_url, {"border": "2"}),
        (order_url("qr-svg", dynamic_order), {}),
    ]

    etags = {client.get(url, query)["ETag"] for url, query in variants}
    default_etag = client.get(png_url)["ETag"]
    with_the_default_etag = client.get(
        png_url, {"ec": "H"}, headers={"if-none-match": default_etag}
    )

    assert len(etags) == len(variants)
    assert with_the_default_etag.status_code == 200
    assert decode(with_the_default_etag.content).ec_level == "H"


def test_a_repeated_fetch_without_the_etag_is_served_from_the_cache(client, cashier, dynamic_order):
    client.force_login(cashier)
    url = order_url("qr-png", dynamic_order)

    first = client.get(url)
    after_first = qr.render.cache_info()
    second = client.get(url)
    after_second = qr.render.cache_info()

    assert (after_first.misses, after_first.hits) == (1, 0)  # rendered once
    assert (after_second.misses, after_second.hits) == (1, 1)  # not rendered again
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]


def test_the_image_cache_is_bounded():
    assert qr.render.cache_info().maxsize == qr.CACHED_IMAGES == 256


def test_a_payload_that_fails_its_crc_is_still_drawn(client, seller, pos, cashier):
    assert not emvco.is_valid(BAD_CRC_PAYLOAD)
    order = make_order(seller, pos=pos, qr_data=BAD_CRC_PAYLOAD, status="created")
    client.force_login(cashier)

    response = client.get(order_url("qr-png", order))

    assert response.status_code == 200
    assert decode(response.content).text == BAD_CRC_PAYLOAD


def test_a_static_orders_qr_is_its_pos_fixed_qr(client, seller, pos, cashier):
    order = create(seller, pos, "static")
    assert not order.qr_data
    client.force_login(cashier)

    png = client.get(order_url("qr-png", order))
    svg = client.get(order_url("qr-svg", order))

    assert decode(png.content).text == pos.qr_code
    assert svg.status_code == 200
    assert svg["ETag"] == client.get(reverse("pos:qr-svg", args=[pos.pk]))["ETag"]


def test_an_order_with_no_qr_yet_is_not_found(client, seller, pos, cashier):
    pending = make_order(seller, pos=pos)  # saved, not yet accepted by Mercado Pago
    client.force_login(cashier)

    assert client.get(order_url("qr-png", pending)).status_code == 404


@pytest.mark.parametrize("role", ["owner", "manager", "cashier", "viewer"])
def test_every_member_who_can_view_gets_the_order_qr(client, seller, dynamic_order, role):
    client.force_login(make_member(seller, role))

    assert client.get(order_url("qr-svg", dynamic_order)).status_code == 200


def test_platform_staff_get_any_sellers_order_qr(client, dynamic_order):
    client.force_login(make_user(is_platform_staff=True))

    response = client.get(order_url("qr-png", dynamic_order))

    assert decode(response.content).text == dynamic_order.qr_data


@pytest.mark.parametrize("name", ["orders:qr-png", "orders:qr-svg", "pos:qr-png", "pos:qr-svg"])
def test_another_sellers_member_gets_404(client, dynamic_order, owner_b, name):
    row_pk = dynamic_order.pk if name.startswith("orders") else dynamic_order.pos_id
    client.force_login(owner_b)

    assert client.get(reverse(name, args=[row_pk])).status_code == 404


@pytest.mark.parametrize("name", ["qr-png", "qr-svg"])
def test_anonymous_users_are_sent_to_the_login_page(client, dynamic_order, name):
    response = client.get(order_url(name, dynamic_order))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_pos_qr_takes_the_same_options_etag_and_cache(client, pos, cashier):
    client.force_login(cashier)
    url = reverse("pos:qr-png", args=[pos.pk])

    first = client.get(url, {"ec": "H", "size": "4"})
    not_modified = client.get(
        url, {"ec": "H", "size": "4"}, headers={"if-none-match": first["ETag"]}
    )
    refused = client.get(url, {"border": "99"})

    barcode = decode(first.content)
    assert (barcode.text, barcode.ec_level) == (pos.qr_code, "H")
    assert not_modified.status_code == 304
    assert refused.status_code == 400
    assert qr.render.cache_info().misses == 1
