"""Issue 17: an owner sets the seller's cashier-order defaults (API, QR mode) and its logo on
``/tenants/settings/``; only PNG, JPEG or WebP up to 1 MB are taken, stored re-encoded as a PNG of
at most 512 x 512 pixels."""

from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext
from PIL import Image

from tenants.models import Tenant
from tests.factories import make_member, make_tenant

pytestmark = pytest.mark.django_db


def image_file(
    image_format: str, size=(1200, 600), name="logo.img", mode="RGB"
) -> SimpleUploadedFile:
    data = BytesIO()
    Image.new(mode, size, "#c0392b").save(data, format=image_format)
    return SimpleUploadedFile(name, data.getvalue(), content_type="image/png")


def owner_of(tenant) -> Client:
    client = Client()
    client.force_login(make_member(tenant, "owner"))
    return client


def save(client: Client, **fields):
    return client.post("/tenants/settings/", {"order_api": "v1", "qr_mode": "dynamic"} | fields)


@pytest.fixture
def seller():
    return make_tenant("Parrilla", site="MLA")


def test_the_owner_sets_the_cashier_order_defaults(seller):
    owner = owner_of(seller)
    assert owner.get("/tenants/settings/").status_code == 200

    response = save(owner, order_api="instore", qr_mode="hybrid")

    assert response["Location"] == "/tenants/settings/"
    seller.refresh_from_db()
    assert (seller.order_api, seller.qr_mode) == ("instore", "hybrid")
    assert save(owner, qr_mode="static").status_code == 200  # not a cashier's mode
    seller.refresh_from_db()
    assert seller.qr_mode == "hybrid"


@pytest.mark.parametrize("role", ["manager", "cashier", "viewer"])
def test_only_owners_change_the_sellers_settings(seller, role):
    client = Client()
    client.force_login(make_member(seller, role))

    assert client.get("/tenants/settings/").status_code == 403
    assert save(client, order_api="instore").status_code == 403
    seller.refresh_from_db()
    assert seller.order_api == "v1"


@pytest.mark.parametrize(
    ("image_format", "mode"), [("PNG", "RGBA"), ("JPEG", "RGB"), ("WEBP", "RGB")]
)
def test_a_logo_is_shrunk_and_stored_as_png(seller, image_format, mode):
    owner = owner_of(seller)

    save(owner, logo=image_file(image_format, mode=mode))

    seller.refresh_from_db()
    stored = Image.open(BytesIO(seller.logo_png))
    assert (stored.format, stored.size) == ("PNG", (512, 256))
    assert stored.mode == mode  # a transparent logo keeps its transparency
    assert seller.logo_updated_at is not None
    served = owner.get("/tenants/settings/logo.png")
    assert (served["Content-Type"], served.content) == ("image/png", bytes(seller.logo_png))
    assert "/tenants/settings/logo.png?v=" in owner.get("/tenants/settings/").content.decode()


@pytest.mark.parametrize(
    "upload",
    [
        pytest.param(lambda: image_file("GIF"), id="gif"),
        pytest.param(lambda: SimpleUploadedFile("logo.png", b"<svg></svg>"), id="svg-named-png"),
        pytest.param(
            lambda: SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 50), id="broken"
        ),
        pytest.param(lambda: image_file("BMP", size=(60, 60)), id="bmp"),
        pytest.param(
            lambda: SimpleUploadedFile("big.png", b"0" * (1024 * 1024 + 1)), id="over-1mb"
        ),
    ],
)
def test_anything_else_is_refused_with_a_message(seller, upload):
    response = save(owner_of(seller), logo=upload())

    assert response.status_code == 200
    assert response.context["form"].errors["logo"]
    seller.refresh_from_db()
    assert bytes(seller.logo_png) == b""


def test_a_huge_image_in_a_small_file_is_refused_before_it_is_decoded(seller):
    response = save(owner_of(seller), logo=image_file("PNG", size=(10_000, 5_000), mode="1"))

    with translation.override("es-ar"):  # the seller's language
        expected = gettext("The logo's image is too large in pixels; use a smaller one.")
    assert response.context["form"].errors["logo"] == [expected]


def test_the_logo_can_be_removed_and_is_the_sellers_own(seller):
    owner = owner_of(seller)
    save(owner, logo=image_file("PNG"))
    other = owner_of(make_tenant("Padaria", site="MLB"))
    assert other.get("/tenants/settings/logo.png").status_code == 404  # its own: none

    save(owner, remove_logo="on")

    seller.refresh_from_db()
    assert (bytes(seller.logo_png), seller.logo_updated_at) == (b"", None)
    assert owner.get("/tenants/settings/logo.png").status_code == 404
    assert Tenant.objects.get(pk=seller.pk).order_api == "v1"
