"""Stores and POS created, changed and deleted in Mercado Pago (the sandbox, over HTTP)."""

from decimal import Decimal

import pytest
from celery.exceptions import Retry
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from merchant_platform.mercadopago import get_client
from mpapi import NotFound
from mpapi.emvco import is_valid
from mpapi.stores import Location, PosCreate, StoreRequest
from pos import services
from pos.models import PointOfSale, Store, SyncState
from pos.tasks import sync_pos
from sandbox.seed import seller_access_token
from tenants.scope import tenant_scope
from tests.factories import make_connected_tenant, make_order, make_store, make_tenant
from tests.faults import set_faults
from tests.mercadopago import transactions_seen_by_the_sandbox

pytestmark = pytest.mark.django_db

STORE = {
    "name": "Palermo",
    "external_id": "PALERMO1",
    "street_name": "Av. Santa Fe",
    "street_number": "3253",
    "city": "CABA",
    "state": "Buenos Aires",
    "latitude": Decimal("-34.588100"),
    "longitude": Decimal("-58.410900"),
    "reference": "Next to the subway",
    "business_hours": {"monday": [{"open": "09:00", "close": "13:00"}]},
}
GASTRONOMY_MLA, GASTRONOMY_MLB = 621102, 5611203


@pytest.fixture
def seller():
    return make_connected_tenant(site="MLA")


@pytest.fixture
def mp():
    with get_client() as client:
        yield client


@pytest.fixture
def token():
    return seller_access_token("MLA")


@pytest.fixture
def store(seller):
    return services.create_store(tenant=seller, **STORE)


def test_store_is_created_updated_and_deleted_in_mercado_pago(seller, mp, token):
    store = services.create_store(tenant=seller, **STORE)

    assert store.sync_state == SyncState.SYNCED
    assert store.last_synced_at is not None
    remote = mp.get_store(token, store.mp_store_id)
    assert (remote.name, remote.external_id) == ("Palermo", "PALERMO1")
    assert remote.raw["business_hours"] == STORE["business_hours"]

    services.update_store(tenant=seller, store=store, name="Palermo Soho", reference="")
    assert mp.get_store(token, store.mp_store_id).name == "Palermo Soho"

    services.delete_store(tenant=seller, store=store)
    with pytest.raises(NotFound):
        mp.get_store(token, store.mp_store_id)
    with tenant_scope(seller):
        assert not Store.objects.exists()


def test_pos_is_created_with_its_fixed_qr_updated_and_deleted(seller, store, mp, token):
    pos = services.create_pos(tenant=seller, store=store, name="Caja 1", external_id="PALERMO1POS1")

    assert pos.sync_state == SyncState.SYNCED
    assert is_valid(pos.qr_code)
    assert pos.qr_image_url.startswith("http")
    remote = mp.get_pos(token, pos.mp_pos_id)
    assert (remote.name, remote.external_id, remote.store_id) == (
        "Caja 1",
        "PALERMO1POS1",
        store.mp_store_id,
    )
    assert remote.fixed_amount is True
    assert remote.qr_code == pos.qr_code

    services.update_pos(tenant=seller, pos=pos, name="Caja principal", category=GASTRONOMY_MLA)
    remote = mp.get_pos(token, pos.mp_pos_id)
    assert (remote.name, remote.category) == ("Caja principal", GASTRONOMY_MLA)

    with pytest.raises(ValidationError, match="points of sale first"):
        services.delete_store(tenant=seller, store=store)
    services.delete_pos(tenant=seller, pos=pos)
    with pytest.raises(NotFound):
        mp.get_pos(token, pos.mp_pos_id)
    services.delete_store(tenant=seller, store=store)


def test_a_pos_creates_its_store_in_mercado_pago_first(seller, mp, token):
    store = make_store(seller, **{k: v for k, v in STORE.items() if k != "business_hours"})
    assert store.mp_store_id is None

    pos = services.create_pos(tenant=seller, store=store, name="Caja 1", external_id="P1")

    store.refresh_from_db()
    assert store.sync_state == SyncState.SYNCED
    assert mp.get_pos(token, pos.mp_pos_id).store_id == store.mp_store_id


def test_an_existing_mercado_pago_store_with_the_external_id_is_adopted(seller, mp, token):
    location = Location("Calle", "1", "CABA", "Buenos Aires", Decimal("-34.6"), Decimal("-58.4"))
    existing = mp.create_store(
        token, seller.mp_user_id, StoreRequest("Old name", "PALERMO1", location)
    )

    store = services.create_store(tenant=seller, **STORE)

    assert store.mp_store_id == existing.id
    assert store.sync_state == SyncState.SYNCED
    assert mp.get_store(token, existing.id).name == "Palermo"
    assert mp.search_stores(token, seller.mp_user_id, external_id="PALERMO1").total == 1


def test_an_existing_mercado_pago_pos_with_the_external_id_is_adopted(seller, store, mp, token):
    existing = mp.create_pos(
        token,
        PosCreate("Old", "POS1", store.mp_store_id, store.external_id, fixed_amount=False),
    )

    pos = services.create_pos(tenant=seller, store=store, name="Caja 1", external_id="POS1")

    assert pos.mp_pos_id == existing.id
    assert is_valid(pos.qr_code)
    remote = mp.get_pos(token, existing.id)
    assert (remote.name, remote.fixed_amount) == ("Caja 1", True)
    assert mp.search_pos(token, external_id="POS1").total == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"external_id": "PALERMO-1"}, "external_id"),
        ({"external_id": "A" * 61}, "external_id"),
        ({"external_id": ""}, "external_id"),
        ({"name": ""}, "name"),
        ({"street_name": ""}, "street_name"),
        ({"latitude": Decimal("-90.5")}, "latitude"),
        ({"longitude": Decimal("180.5")}, "longitude"),
        ({"business_hours": {"funday": []}}, "business_hours"),
        ({"business_hours": {"monday": [{"open": "18:00", "close": "09:00"}]}}, "business_hours"),
        ({"business_hours": {"monday": [{"open": "9am", "close": "18:00"}]}}, "business_hours"),
        (
            {
                "business_hours": {
                    "monday": [{"open": f"0{h}:00", "close": f"0{h}:30"} for h in "123"]
                }
            },
            "business_hours",
        ),
    ],
)
def test_store_rules_are_checked_before_any_call(seller, changes, field):
    with pytest.raises(ValidationError) as raised:
        services.create_store(tenant=seller, **{**STORE, **changes})

    assert field in raised.value.message_dict
    with tenant_scope(seller):
        assert not Store.objects.exists()


def test_two_ranges_a_day_are_accepted(seller):
    hours = {"friday": [{"open": "08:00", "close": "12:00"}, {"open": "14:00", "close": "20:00"}]}
    store = services.create_store(tenant=seller, **{**STORE, "business_hours": hours})
    assert store.sync_state == SyncState.SYNCED


def test_coordinates_outside_the_sellers_country_are_refused_by_mercado_pago(seller):
    with pytest.raises(ValidationError) as raised:
        services.create_store(tenant=seller, **{**STORE, "latitude": Decimal("40.4")})

    assert "BAD_REQUEST" in raised.value.message_dict["latitude"][0]
    with tenant_scope(seller):
        assert not Store.objects.exists()  # a refused create leaves nothing behind


def test_an_external_id_is_unique_per_seller(seller, store):
    with pytest.raises(ValidationError) as raised:
        services.create_store(tenant=seller, **{**STORE, "name": "Another"})
    assert raised.value.message_dict["external_id"] == [
        "This seller already has a store with this external id."
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "N" * 45}, "name"),
        ({"external_id": "P" * 40}, "external_id"),
        ({"external_id": "POS 1"}, "external_id"),
        ({"category": GASTRONOMY_MLB}, "category"),
    ],
)
def test_pos_rules_are_checked_before_any_call(seller, store, changes, field):
    with pytest.raises(ValidationError) as raised:
        services.create_pos(
            tenant=seller, store=store, **{"name": "Caja", "external_id": "POS1", **changes}
        )

    assert field in raised.value.message_dict
    with tenant_scope(seller):
        assert not PointOfSale.objects.exists()


def test_the_longest_valid_pos_values_are_accepted(seller, store):
    pos = services.create_pos(
        tenant=seller, store=store, name="N" * 44, external_id="P" * 39, category=GASTRONOMY_MLA
    )
    assert pos.sync_state == SyncState.SYNCED


def test_a_pos_needs_a_store_of_the_same_seller(seller):
    other_store = make_store(make_tenant(site="MLB"))
    with pytest.raises(ValidationError) as raised:
        services.create_pos(tenant=seller, store=other_store, name="Caja", external_id="POS1")
    assert "store" in raised.value.message_dict


def test_the_external_id_of_a_synced_pos_cannot_change(seller, store):
    pos = services.create_pos(tenant=seller, store=store, name="Caja", external_id="POS1")
    with pytest.raises(ValidationError) as raised:
        services.update_pos(tenant=seller, pos=pos, external_id="POS2")
    assert "external_id" in raised.value.message_dict


def test_a_seller_without_mercado_pago_gets_a_clear_error():
    seller = make_tenant(site="MLA")
    with pytest.raises(ValidationError, match="has not connected"):
        services.create_store(tenant=seller, **STORE)


def test_a_mercado_pago_failure_marks_the_pos_failed_and_a_task_retries_it(
    seller, store, client, django_capture_on_commit_callbacks, eager_celery, mp, token
):
    set_faults(client, path_regex="^/pos$", error_rate="1", error_statuses=[503])

    with django_capture_on_commit_callbacks() as callbacks:
        pos = services.create_pos(tenant=seller, store=store, name="Caja", external_id="POS1")

    assert pos.sync_state == SyncState.FAILED
    assert pos.mp_pos_id is None
    assert pos.sync_error_code == "service_unavailable"
    assert len(callbacks) == 1  # the retry, enqueued once the row is committed

    client.delete("/sandbox/_control/faults")
    callbacks[0]()  # the retry task (eager here)

    pos.refresh_from_db()
    assert pos.sync_state == SyncState.SYNCED
    assert pos.sync_error == ""
    assert mp.get_pos(token, pos.mp_pos_id).external_id == "POS1"


def test_the_retry_task_asks_celery_to_retry_while_mercado_pago_fails(seller, store, client):
    set_faults(client, path_regex="^/pos$", error_rate="1", error_statuses=[500])
    pos = services.create_pos(tenant=seller, store=store, name="Caja", external_id="POS1")
    assert pos.sync_state == SyncState.FAILED

    with pytest.raises(Retry) as retry:
        sync_pos.apply(kwargs={"tenant_id": seller.pk, "row_id": pos.pk}, throw=True)

    assert "500 (internal_server_error)" in str(retry.value.exc)  # autoretry, with backoff
    pos.refresh_from_db()
    assert pos.sync_state == SyncState.FAILED
    assert pos.sync_error_code == "internal_server_error"


def test_a_refusal_during_resync_is_final_and_kept_as_the_error(
    seller, store, django_capture_on_commit_callbacks
):
    with tenant_scope(seller):
        Store.objects.filter(pk=store.pk).update(latitude=Decimal("40.4"))  # outside Argentina
    store.refresh_from_db()

    with django_capture_on_commit_callbacks() as callbacks:
        services.resync(tenant=seller, row=store)

    store.refresh_from_db()
    assert store.sync_state == SyncState.FAILED
    assert store.sync_error_code == "BAD_REQUEST"
    assert callbacks == []  # no retry for a 4xx


def test_a_delete_mercado_pago_does_not_answer_is_retried_through_celery(
    seller, store, client, django_capture_on_commit_callbacks, eager_celery, mp, token
):
    pos = services.create_pos(tenant=seller, store=store, name="Caja", external_id="POS1")
    set_faults(client, path_regex="^/pos/", error_rate="1", error_statuses=[503])

    with django_capture_on_commit_callbacks() as callbacks:
        services.delete_pos(tenant=seller, pos=pos)

    with tenant_scope(seller):
        assert not PointOfSale.objects.filter(pk=pos.pk).exists()  # gone here at once
    assert len(callbacks) == 1

    client.delete("/sandbox/_control/faults")
    assert mp.get_pos(token, pos.mp_pos_id).external_id == "POS1"  # not yet in Mercado Pago
    callbacks[0]()  # the remote delete task (eager here)
    with pytest.raises(NotFound):
        mp.get_pos(token, pos.mp_pos_id)


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_mercado_pago_is_called(seller):
    """A slow Mercado Pago holds no lock (on SQLite one would lock out the sandbox)."""
    with transactions_seen_by_the_sandbox("/sandbox/users/", "/sandbox/pos") as seen:
        store = services.create_store(tenant=seller, **STORE)
        services.update_store(tenant=seller, store=store, name="Palermo Soho")
        pos = services.create_pos(tenant=seller, store=store, name="Caja", external_id="CAJA1")
        services.delete_pos(tenant=seller, pos=pos)
    assert len(seen) >= 5
    assert not any(seen)


@pytest.mark.django_db(transaction=True)
def test_a_refused_change_is_put_back_as_it_was(seller, store):
    with pytest.raises(ValidationError):
        services.update_store(tenant=seller, store=store, latitude=Decimal("40.4"))

    with tenant_scope(seller):
        assert Store.objects.get().latitude == STORE["latitude"]


def test_a_pos_that_took_orders_is_kept_locally_and_in_mercado_pago(seller, store, mp, token):
    pos = services.create_pos(tenant=seller, store=store, name="Caja 1", external_id="KEPT1")
    make_order(seller, pos=pos)

    with pytest.raises(ValidationError, match="has orders"):
        services.delete_pos(tenant=seller, pos=pos)

    assert mp.get_pos(token, pos.mp_pos_id).external_id == "KEPT1"
    with tenant_scope(seller):
        assert PointOfSale.objects.filter(pk=pos.pk).exists()


def test_a_pos_of_a_seller_not_connected_yet_validates_without_reading_a_credential():
    """``PointOfSale.seller_credential`` is a join for the create's one query, not a value: a
    POS is validated without reading it (which would fail for a seller with none)."""
    tenant = make_tenant("Sin conexión")
    store = make_store(tenant)
    pos = PointOfSale(tenant=tenant, store=store, name="Caja 1", external_id="CAJA1")

    with tenant_scope(tenant), CaptureQueriesContext(connection) as queries:
        pos.full_clean()

    assert not any("mercadopagocredential" in query["sql"] for query in queries)
    assert not PointOfSale.seller_credential.is_cached(pos)
