"""The POS fixed QR (PNG, SVG), the printable sticker, and the admin of stores and POS."""

from decimal import Decimal

import pytest
from django.urls import reverse

from merchant_platform.mercadopago import get_client
from mpapi import NotFound
from pos import qr, qr_links, services
from pos.models import PointOfSale, Store, SyncState
from sandbox.seed import seller_access_token
from tenants.scope import tenant_scope
from tests.factories import make_connected_tenant, make_member, make_pos
from tests.mercadopago import transactions_seen_by_the_sandbox

pytestmark = pytest.mark.django_db

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STORE = {
    "name": "Palermo",
    "external_id": "PALERMO1",
    "street_name": "Av. Santa Fe",
    "street_number": "3253",
    "city": "CABA",
    "state": "Buenos Aires",
    "latitude": Decimal("-34.588100"),
    "longitude": Decimal("-58.410900"),
}


@pytest.fixture
def seller():
    return make_connected_tenant(site="MLA")


@pytest.fixture
def manager(seller):
    return make_member(seller, "manager", language="en")


@pytest.fixture
def pos(seller):
    store = services.create_store(tenant=seller, **STORE)
    return services.create_pos(tenant=seller, store=store, name="Caja 1", external_id="POS1")


def set_faults(client, **settings):
    response = client.put("/sandbox/_control/faults", settings, content_type="application/json")
    assert response.status_code == 200, response.content


def test_the_fixed_qr_as_png_and_svg(client, manager, pos):
    client.force_login(manager)

    png = client.get(reverse("pos:qr-png", args=[pos.pk]))
    svg = client.get(reverse("pos:qr-svg", args=[pos.pk]))

    assert png.status_code == 200
    assert png["Content-Type"] == "image/png"
    assert png.content.startswith(PNG_SIGNATURE)
    assert svg["Content-Type"] == "image/svg+xml"
    assert b"<svg" in svg.content


@pytest.mark.parametrize("name", ["pos:qr-png", "pos:qr-svg", "pos:sticker"])
def test_another_sellers_pos_is_not_found(client, pos, tenant_b, owner_b, name):
    client.force_login(owner_b)
    assert client.get(reverse(name, args=[pos.pk])).status_code == 404


def test_the_qr_needs_a_signed_in_member(client, pos):
    response = client.get(reverse("pos:qr-png", args=[pos.pk]))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_pos_not_yet_in_mercado_pago_has_no_qr(client, seller, manager):
    pending = make_pos(seller)
    client.force_login(manager)
    assert client.get(reverse("pos:qr-png", args=[pending.pk])).status_code == 404


def test_the_sticker_prints_on_one_a6_page(client, manager, pos):
    client.force_login(manager)

    page = client.get(reverse("pos:sticker", args=[pos.pk])).text

    assert "@page { size: A6;" in page
    assert "Palermo" in page
    assert "Caja 1" in page
    assert qr_links.image_url(pos.qr_code, qr.SVG) in page
    assert "Scan this code" in page


def test_the_admin_shows_the_qr_preview_and_the_sticker_link(client, manager, pos):
    client.force_login(manager)

    page = client.get(reverse("admin:pos_pointofsale_change", args=[pos.pk])).text

    assert qr_links.image_url(pos.qr_code, qr.PNG) in page
    assert reverse("pos:sticker", args=[pos.pk]) in page
    assert "Synced" in page


def test_the_admin_resync_action_syncs_a_failed_pos(client, seller, manager):
    store = services.create_store(tenant=seller, **STORE)
    set_faults(client, path_regex="^/pos$", error_rate="1", error_statuses=[503])
    failed = services.create_pos(tenant=seller, store=store, name="Caja", external_id="POS1")
    assert failed.sync_state == SyncState.FAILED
    client.delete("/sandbox/_control/faults")
    client.force_login(manager)

    changelist = reverse("admin:pos_pointofsale_changelist")
    listed = client.get(changelist).text
    assert failed.sync_error
    assert failed.sync_error in listed  # the list shows what went wrong
    response = client.post(
        changelist, {"action": "resync", "_selected_action": [failed.pk]}, follow=True
    )

    assert "1 of 1 synced with Mercado Pago." in response.text
    failed.refresh_from_db()
    assert failed.sync_state == SyncState.SYNCED
    assert failed.qr_code


def _store_form(**changes):
    data = {**STORE, "reference": "", "business_hours": "{}", **changes}
    return {key: str(value) for key, value in data.items()}


def test_adding_a_store_in_the_admin_creates_it_in_mercado_pago(client, seller, manager):
    client.force_login(manager)

    response = client.post(reverse("admin:pos_store_add"), _store_form())

    assert response.status_code == 302
    with tenant_scope(seller):
        store = Store.objects.get()
    assert store.sync_state == SyncState.SYNCED
    assert store.mp_store_id is not None


@pytest.mark.django_db(transaction=True)
def test_the_admin_calls_mercado_pago_with_no_transaction_open(client, seller, manager):
    """Django's admin wraps its add and delete views in a transaction; these do not."""
    client.force_login(manager)
    with transactions_seen_by_the_sandbox("/sandbox/users/") as seen:
        added = client.post(reverse("admin:pos_store_add"), _store_form())
        with tenant_scope(seller):
            store = Store.objects.get()
        deleted = client.post(reverse("admin:pos_store_delete", args=[store.pk]), {"post": "yes"})
    assert (added.status_code, deleted.status_code) == (302, 302)
    assert len(seen) >= 2
    assert not any(seen)


def test_a_mercado_pago_refusal_shows_on_the_admin_form(client, seller, manager):
    client.force_login(manager)

    response = client.post(reverse("admin:pos_store_add"), _store_form(latitude="40.4"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "BAD_REQUEST" in errors["latitude"][0]
    with tenant_scope(seller):
        assert not Store.objects.exists()


def test_the_admin_offers_the_categories_of_the_sellers_site(client, seller, manager, pos):
    client.force_login(manager)

    page = client.get(reverse("admin:pos_pointofsale_add")).text

    assert "621102" in page  # gastronomy in Argentina
    assert "5611203" not in page  # gastronomy in Brazil


def test_deleting_a_pos_in_the_admin_deletes_it_in_mercado_pago(client, seller, manager, pos):
    client.force_login(manager)

    client.post(reverse("admin:pos_pointofsale_delete", args=[pos.pk]), {"post": "yes"})

    with tenant_scope(seller):
        assert not PointOfSale.objects.exists()
    with get_client() as mp, pytest.raises(NotFound):
        mp.get_pos(seller_access_token("MLA"), pos.mp_pos_id)
