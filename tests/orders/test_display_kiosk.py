"""Issue 17: the customer display as a kiosk screen (server side): the seller's name and logo,
the amount in the seller's money format, the QR's accessible name, the pay-with-Mercado-Pago
steps, and the logo served by the display's token with a long cache."""

import html
from datetime import UTC, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import translation
from PIL import Image

from tests.factories import make_order, make_pos, make_tenant

pytestmark = pytest.mark.django_db


def png(color: str = "red") -> bytes:
    image = BytesIO()
    Image.new("RGB", (64, 32), color).save(image, "PNG")
    return image.getvalue()


def with_logo(tenant, logo: bytes, updated_at: datetime):
    tenant.logo_png, tenant.logo_updated_at = logo, updated_at
    tenant.save(update_fields=["logo_png", "logo_updated_at"])
    return tenant


def page_text(client, pos) -> str:
    response = client.get(reverse("display:page", args=[pos.display_token]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def logo_url(pos) -> str:
    return reverse("display:logo", args=[pos.display_token])


def translated(tenant, message: str, **values) -> str:
    with translation.override(tenant.site_info.language):
        return translation.gettext(message) % values


@pytest.mark.parametrize(
    ("site", "shown"),
    [("MLA", "ARS\xa01.500,50"), ("MLB", "BRL\xa01.500,50"), ("MLM", "MXN\xa01,500.50")],
)
def test_the_amount_is_in_the_money_format_of_the_sellers_site(client, site, shown):
    tenant = make_tenant("Kiosco", site=site)
    pos = make_pos(tenant)
    make_order(tenant, pos, status="created", qr_data="000201", total_amount=Decimal("1500.50"))

    body = page_text(client, pos)

    assert f'<p class="amount" data-announce>{shown}</p>' in body
    label = translated(tenant, "QR code to pay %(amount)s with Mercado Pago", amount=shown)
    assert f'id="qr" role="img" aria-label="{label}"' in body


def test_the_open_screen_names_the_seller_and_guides_the_buyer(client, tenant_a):
    pos = make_pos(tenant_a)
    make_order(tenant_a, pos, status="created", qr_data="000201")

    body = page_text(client, pos)

    assert '<p class="seller">Seller A</p>' in body
    for step in ("Pay with Mercado Pago", "Open the Mercado Pago app", "Scan this code"):
        assert translated(tenant_a, step) in body
    assert 'id="countdown"' in body
    assert 'data-poll-ms="500"' in body  # "paid" within 1 s p95 (bench/display_latency.py)
    assert 'class="logo"' not in body  # the seller has no logo


def test_the_idle_screen_names_the_seller_and_polls_slower(client, tenant_a):
    pos = make_pos(tenant_a)

    body = page_text(client, pos)

    assert '<p class="seller">Seller A</p>' in body
    assert translated(tenant_a, "Ready for the next purchase") in body
    assert 'id="clock"' in body
    assert 'data-poll-ms="1000"' in body


def test_the_page_links_the_logo_by_its_version_which_is_cached_for_a_year(client, tenant_a):
    logo = png()
    with_logo(tenant_a, logo, datetime(2026, 12, 1, 10, 30, 5, 123456, tzinfo=UTC))
    pos = make_pos(tenant_a)

    body = page_text(client, pos)
    versioned = f"{logo_url(pos)}?v=20261201103005123456"
    response = client.get(versioned)

    assert f'<img class="logo" src="{versioned}" alt="">' in body
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content == logo
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["ETag"] == '"20261201103005123456"'
    not_modified = client.get(versioned, headers={"If-None-Match": response["ETag"]})
    assert (not_modified.status_code, not_modified.content) == (304, b"")
    unversioned = client.get(logo_url(pos))
    assert (unversioned.content, unversioned["Cache-Control"]) == (logo, "no-cache")


def test_a_new_logo_gets_a_new_url(client, tenant_a):
    with_logo(tenant_a, png("red"), datetime(2026, 12, 1, tzinfo=UTC))
    pos = make_pos(tenant_a)
    old = f"{logo_url(pos)}?v=20261201000000000000"
    first_etag = client.get(old)["ETag"]

    with_logo(tenant_a, png("blue"), datetime(2026, 12, 2, tzinfo=UTC))

    assert f"{logo_url(pos)}?v=20261202000000000000" in page_text(client, pos)
    changed = client.get(old, headers={"If-None-Match": first_etag})
    assert changed.status_code == 200
    assert changed.content == png("blue")
    assert changed["Cache-Control"] == "no-cache"  # not the new logo cached under the old URL


def test_the_logo_is_404_without_one_and_each_token_serves_its_own_sellers(client, tenant_a):
    other = with_logo(make_tenant("Other"), png("green"), datetime(2026, 12, 1, tzinfo=UTC))
    pos_a, pos_other = make_pos(tenant_a), make_pos(other)

    assert client.get(logo_url(pos_a)).status_code == 404
    assert client.get("/display/not-a-token/logo.png").status_code == 404
    assert client.get(logo_url(pos_other)).content == png("green")


def test_the_screen_fragment_is_the_pages_main_alone(client, tenant_a):
    pos = make_pos(tenant_a)
    order = make_order(tenant_a, pos, status="created", qr_data="000201")

    response = client.get(reverse("display:screen", args=[pos.display_token]))
    fragment = response.content.decode()

    assert fragment.startswith("<main ")
    assert fragment.rstrip().endswith("</main>")
    assert f'data-uid="{order.uid}"' in fragment
    assert 'id="qr"' in fragment
    assert "<style" not in fragment
    assert "<script" not in fragment
    assert response["Cache-Control"] == "no-store"
    assert client.get("/display/not-a-token/screen.html").status_code == 404
