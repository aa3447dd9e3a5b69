"""``/api/v1/stores`` and ``/api/v1/pos``: writes reach Mercado Pago (the sandbox, over HTTP),
refusals are field errors, the fixed QR is served as an image, and every tenant sees only its own.
"""

from io import BytesIO

import pytest
import zxingcpp
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from merchant_platform.mercadopago import get_client
from mpapi import NotFound, emvco
from pos.models import PointOfSale, Store, SyncState
from sandbox.seed import seller_access_token
from tenants.roles import Role
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.factories import make_connected_tenant, make_member, make_pos, make_store
from tests.orders.conftest import synced_pos

pytestmark = pytest.mark.django_db

STORES, POS = "/api/v1/stores", "/api/v1/pos"
STORE = {
    "name": "Palermo",
    "external_id": "PALERMO1",
    "street_name": "Av. Santa Fe",
    "street_number": "3253",
    "city": "CABA",
    "state": "Buenos Aires",
    "latitude": "-34.588100",
    "longitude": "-58.410900",
    "reference": "Next to the subway",
    "business_hours": {"monday": [{"open": "09:00", "close": "13:00"}]},
}
GASTRONOMY_MLA, GASTRONOMY_MLB = 621102, 5611203


@pytest.fixture
def seller():
    return make_connected_tenant("Parrilla", site="MLA")


@pytest.fixture
def api(seller) -> Client:
    return api_client(issue_token(seller))


@pytest.fixture
def mp():
    """Mercado Pago (the sandbox) as the seller's own token sees it."""
    with get_client() as client:
        yield client


@pytest.fixture
def mp_token() -> str:
    return seller_access_token("MLA")


def post(client: Client, url: str, body: dict | None = None, **headers):
    return client.post(url, body or {}, content_type="application/json", headers=headers)


def patch(client: Client, url: str, body: dict):
    return client.patch(url, body, content_type="application/json")


def put(client: Client, url: str, body: dict):
    return client.put(url, body, content_type="application/json")


def created_store(api: Client, **changes) -> dict:
    response = post(api, STORES, STORE | changes)
    assert response.status_code == 201, response.content
    return response.json()


def created_pos(api: Client, store: dict, **changes) -> dict:
    body = {"store": store["id"], "name": "Caja 1", "external_id": "PALERMO1POS1"} | changes
    response = post(api, POS, body)
    assert response.status_code == 201, response.content
    return response.json()


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def decode(png: bytes) -> str:
    (barcode,) = zxingcpp.read_barcodes(
        Image.open(BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    return barcode.text


def test_a_store_and_its_pos_are_created_in_mercado_pago_with_the_fixed_qr(api, mp, mp_token):
    store = created_store(api)

    assert store["sync_state"] == SyncState.SYNCED
    assert (store["sync_error_code"], store["sync_error_message"]) == ("", "")
    assert store["last_synced_at"] is not None
    assert (store["latitude"], store["business_hours"]) == ("-34.588100", STORE["business_hours"])
    remote_store = mp.get_store(mp_token, store["mp_store_id"])
    assert (remote_store.name, remote_store.external_id) == ("Palermo", "PALERMO1")

    pos = created_pos(api, store, category=GASTRONOMY_MLA)

    assert pos["sync_state"] == SyncState.SYNCED
    assert (pos["store"], pos["fixed_amount"], pos["category"]) == (store["id"], True, 621102)
    assert emvco.is_valid(pos["qr_code"])
    assert pos["qr_image_url"].startswith("http")
    remote_pos = mp.get_pos(mp_token, pos["mp_pos_id"])
    assert (remote_pos.external_id, remote_pos.store_id) == ("PALERMO1POS1", store["mp_store_id"])
    assert remote_pos.qr_code == pos["qr_code"]
    assert api.get(f"{POS}/{pos['id']}").json() == pos
    assert api.get(f"{STORES}/{store['id']}").json() == store


def test_a_mercado_pago_refusal_is_a_400_on_its_field_and_leaves_nothing_behind(api):
    response = post(api, STORES, STORE | {"latitude": "40.400000"})  # in Spain, not Argentina

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert list(body["fields"]) == ["latitude"]
    assert "BAD_REQUEST" in body["fields"]["latitude"][0]["message"]
    assert ids(api.get(STORES)) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"external_id": "PALERMO-1"}, "external_id"),
        ({"latitude": "-90.500000"}, "latitude"),
        ({"business_hours": {"funday": []}}, "business_hours"),
        ({"business_hours": {"monday": [{"open": "18:00", "close": "09:00"}]}}, "business_hours"),
    ],
)
def test_invalid_store_values_are_field_errors(api, changes, field):
    response = post(api, STORES, STORE | changes)

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert ids(api.get(STORES)) == []


def test_a_pos_category_of_another_site_is_a_field_error(api):
    store = created_store(api)

    response = post(
        api, POS, {"store": store["id"], "name": "Caja", "external_id": "P1", "category": 5611203}
    )

    assert response.status_code == 400
    assert "not valid in MLA" in response.json()["fields"]["category"][0]["message"]
    assert ids(api.get(POS)) == []


def test_store_changes_reach_mercado_pago(api, mp, mp_token):
    store = created_store(api)

    response = patch(api, f"{STORES}/{store['id']}", {"name": "Palermo Soho"})
    assert response.status_code == 200
    assert response.json()["name"] == "Palermo Soho"
    assert mp.get_store(mp_token, store["mp_store_id"]).name == "Palermo Soho"

    response = put(api, f"{STORES}/{store['id']}", STORE | {"street_number": "3300"})
    assert response.status_code == 200
    assert response.json()["sync_state"] == SyncState.SYNCED
    remote = mp.get_store(mp_token, store["mp_store_id"])
    assert (remote.name, remote.raw["location"]["street_number"]) == ("Palermo", "3300")


def test_a_refused_store_change_is_a_400_and_is_put_back(api):
    store = created_store(api)

    response = patch(api, f"{STORES}/{store['id']}", {"latitude": "40.400000"})

    assert response.status_code == 400
    assert "latitude" in response.json()["fields"]
    assert api.get(f"{STORES}/{store['id']}").json()["latitude"] == STORE["latitude"]


def test_pos_changes_reach_mercado_pago_but_its_external_id_cannot_change(api, mp, mp_token):
    store = created_store(api)
    pos = created_pos(api, store)
    url = f"{POS}/{pos['id']}"

    response = patch(api, url, {"name": "Caja principal", "category": GASTRONOMY_MLA})
    assert response.status_code == 200
    remote = mp.get_pos(mp_token, pos["mp_pos_id"])
    assert (remote.name, remote.category) == ("Caja principal", GASTRONOMY_MLA)

    response = patch(api, url, {"external_id": "OTHER1"})
    assert response.status_code == 400
    (error,) = response.json()["fields"]["external_id"]
    assert error["code"] == "immutable"
    assert "cannot change" in error["message"]

    unchanged = {"store": store["id"], "name": "Caja 2", "external_id": "PALERMO1POS1"}
    response = put(api, url, unchanged | {"fixed_amount": False})
    assert response.status_code == 200
    assert (response.json()["external_id"], response.json()["fixed_amount"]) == (
        "PALERMO1POS1",
        False,
    )
    assert mp.get_pos(mp_token, pos["mp_pos_id"]).fixed_amount is False


def test_a_store_with_pos_cannot_be_deleted_until_its_pos_are(api, mp, mp_token):
    store = created_store(api)
    pos = created_pos(api, store)

    response = api.delete(f"{STORES}/{store['id']}")
    assert response.status_code == 400
    assert response.json()["message"] == "Delete the store's points of sale first."
    assert api.get(f"{STORES}/{store['id']}").status_code == 200

    assert api.delete(f"{POS}/{pos['id']}").status_code == 204
    assert api.get(f"{POS}/{pos['id']}").status_code == 404
    with pytest.raises(NotFound):
        mp.get_pos(mp_token, pos["mp_pos_id"])

    assert api.delete(f"{STORES}/{store['id']}").status_code == 204
    assert api.get(f"{STORES}/{store['id']}").status_code == 404
    with pytest.raises(NotFound):
        mp.get_store(mp_token, store["mp_store_id"])


def test_lists_are_newest_first_and_filter_by_external_id_store_and_sync_state(seller, api):
    synced = synced_pos(seller)  # CENTRO1 / CAJA1, synced
    pending_store = make_store(seller, external_id="LOCAL1")
    pending_pos = make_pos(seller, store=pending_store, external_id="LOCAL1POS")
    other_pos = make_pos(seller, store=synced.store, external_id="CAJA2")

    assert ids(api.get(STORES)) == [pending_store.pk, synced.store.pk]
    assert ids(api.get(STORES, {"external_id": "CENTRO1"})) == [synced.store.pk]
    assert ids(api.get(STORES, {"sync_state": "pending"})) == [pending_store.pk]
    assert ids(api.get(POS)) == [other_pos.pk, pending_pos.pk, synced.pk]
    assert ids(api.get(POS, {"store": synced.store.pk})) == [other_pos.pk, synced.pk]
    assert ids(api.get(POS, {"external_id": "CAJA1"})) == [synced.pk]
    assert ids(api.get(POS, {"sync_state": "synced"})) == [synced.pk]
    assert api.get(POS, {"sync_state": "lost"}).json()["code"] == "validation_error"

    first = api.get(POS, {"limit": 2}).json()
    assert [row["id"] for row in first["results"]] == [other_pos.pk, pending_pos.pk]
    assert ids(api.get(first["next"])) == [synced.pk]


def test_listing_points_of_sale_costs_the_same_queries_for_one_row_or_many(seller, api):
    store = make_store(seller)
    make_pos(seller, store=store)

    def queries_of_the_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(POS).status_code == 200
        return len(captured)

    queries_of_the_list()  # the token's first request: authenticated, then kept in the cache
    one = queries_of_the_list()
    for _ in range(4):
        make_pos(seller, store=make_store(seller))
    assert len(ids(api.get(POS))) == 5
    assert queries_of_the_list() == one


def test_the_fixed_qr_is_served_as_png_and_svg_whatever_the_accept_header(seller, api):
    pos = synced_pos(seller)
    png = f"{POS}/{pos.pk}/qr.png"

    for accept in ({}, {"Accept": "image/png"}, {"Accept": "image/*"}):
        response = api.get(png, headers=accept)
        assert response.status_code == 200, (accept, response.content)
        assert response["Content-Type"] == "image/png"
        assert decode(response.content) == pos.qr_code

    response = api.get(f"{POS}/{pos.pk}/qr.svg", headers={"Accept": "image/svg+xml"})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.lstrip().startswith(b"<?xml")

    etag = api.get(png)["ETag"]
    assert api.get(png, headers={"If-None-Match": etag}).status_code == 304


def test_bad_qr_options_and_a_pos_without_qr_are_api_errors(seller, api):
    pos = synced_pos(seller)
    response = api.get(f"{POS}/{pos.pk}/qr.png", {"size": "99"})
    assert response.status_code == 400
    assert response.json()["message"] == "size must be a whole number from 1 to 40."

    unsynced = make_pos(seller)
    for image in ("qr.png", "qr.svg"):
        response = api.get(f"{POS}/{unsynced.pk}/{image}", headers={"Accept": "image/png"})
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_resync_pushes_rows_that_never_reached_mercado_pago(seller, api, mp, mp_token):
    store = make_store(seller)  # saved locally only, as after a lost connection
    pos = make_pos(seller, store=store)

    response = post(api, f"{STORES}/{store.pk}/resync")
    assert response.status_code == 200
    assert response.json()["sync_state"] == SyncState.SYNCED
    assert mp.get_store(mp_token, response.json()["mp_store_id"]).external_id == store.external_id

    response = post(api, f"{POS}/{pos.pk}/resync", **{"Idempotency-Key": "resync-1"})
    assert response.status_code == 200
    assert response.json()["sync_state"] == SyncState.SYNCED
    assert emvco.is_valid(response.json()["qr_code"])
    replay = post(api, f"{POS}/{pos.pk}/resync", **{"Idempotency-Key": "resync-1"})
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == response.json()


def test_a_retried_create_with_the_same_idempotency_key_creates_one_store(api):
    first = post(api, STORES, STORE, **{"Idempotency-Key": "store-palermo"})
    again = post(api, STORES, STORE, **{"Idempotency-Key": "store-palermo"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert ids(api.get(STORES)) == [first.json()["id"]]
    reused = post(api, STORES, STORE | {"name": "X"}, **{"Idempotency-Key": "store-palermo"})
    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")


@pytest.mark.parametrize(
    ("scopes", "method", "path"),
    [
        ({"stores:read"}, "post", STORES),
        ({"stores:read"}, "delete", "/api/v1/stores/{store}"),
        ({"stores:read"}, "post", "/api/v1/stores/{store}/resync"),
        ({"pos:read"}, "get", STORES),
        ({"pos:read"}, "post", POS),
        ({"pos:read"}, "patch", "/api/v1/pos/{pos}"),
        ({"stores:write", "stores:read"}, "get", "/api/v1/pos/{pos}/qr.png"),
        ({"stores:write", "stores:read"}, "post", "/api/v1/pos/{pos}/resync"),
    ],
)
def test_a_token_without_the_scope_gets_403(seller, scopes, method, path):
    pos = make_pos(seller)
    client = api_client(issue_token(seller, frozenset(scopes)))

    url = path.format(store=pos.store_id, pos=pos.pk)
    response = getattr(client, method)(url, {}, content_type="application/json")

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_another_tenants_stores_and_pos_are_404_everywhere_and_never_listed(seller, api):
    other = make_connected_tenant("Padaria", site="MLB")
    theirs = synced_pos(other)  # CENTRO1 / CAJA1 in Brazil
    mine = make_pos(seller, store=make_store(seller))
    store_url, pos_url = f"{STORES}/{theirs.store_id}", f"{POS}/{theirs.pk}"
    routes = [
        ("get", store_url),
        ("put", store_url),
        ("patch", store_url),
        ("delete", store_url),
        ("post", f"{store_url}/resync"),
        ("get", pos_url),
        ("put", pos_url),
        ("patch", pos_url),
        ("delete", pos_url),
        ("post", f"{pos_url}/resync"),
        ("get", f"{pos_url}/qr.png"),
        ("get", f"{pos_url}/qr.svg"),
    ]

    for method, url in routes:
        response = getattr(api, method)(url, {"name": "Mine now"}, content_type="application/json")
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), (method, url)

    assert ids(api.get(STORES)) == [mine.store_id]
    assert ids(api.get(POS)) == [mine.pk]
    assert ids(api.get(STORES, {"external_id": "CENTRO1"})) == []
    assert ids(api.get(POS, {"external_id": "CAJA1"})) == []
    response = api.get(POS, {"store": theirs.store_id})
    assert response.status_code == 400
    no_store = api.get(POS, {"store": 999999})  # as for no store at all (but its request's id)
    assert response.json() | {"request_id": ""} == no_store.json() | {"request_id": ""}
    with tenant_scope(other):
        unchanged = PointOfSale.objects.select_related("store").get(pk=theirs.pk)
    assert (unchanged.name, unchanged.store.name) == ("Caja 1", "Centro")


def test_a_pos_cannot_be_created_on_or_moved_to_another_tenants_store(seller, api):
    other = make_connected_tenant("Padaria", site="MLB")
    their_store = synced_pos(other).store
    missing_id = their_store.pk + 1000

    def answer(store_id: int) -> dict:
        response = post(api, POS, {"store": store_id, "name": "Caja", "external_id": "P9"})
        assert response.status_code == 400
        return response.json()

    theirs, missing = answer(their_store.pk), answer(missing_id)
    assert list(theirs["fields"]) == ["store"]
    assert theirs["fields"]["store"][0]["code"] == missing["fields"]["store"][0]["code"]
    assert theirs["message"].replace(str(their_store.pk), "ID") == missing["message"].replace(
        str(missing_id), "ID"
    )  # the same answer as for a store that does not exist
    mine = make_pos(seller)
    response = patch(api, f"{POS}/{mine.pk}", {"store": their_store.pk})
    assert list(response.json()["fields"]) == ["store"]
    with tenant_scope(seller):
        assert PointOfSale.objects.get().store_id == mine.store_id
    with tenant_scope(other):
        assert PointOfSale.objects.filter(store=their_store).count() == 1


def test_a_signed_in_viewer_reads_but_cannot_write_and_a_manager_can(seller, client):
    pos = synced_pos(seller)
    client.force_login(make_member(seller, Role.VIEWER))

    assert ids(client.get(STORES)) == [pos.store_id]
    assert client.get(f"{POS}/{pos.pk}").json()["qr_code"] == pos.qr_code
    assert decode(client.get(f"{POS}/{pos.pk}/qr.png").content) == pos.qr_code
    for method, url in [
        ("post", STORES),
        ("patch", f"{STORES}/{pos.store_id}"),
        ("post", f"{STORES}/{pos.store_id}/resync"),
        ("post", POS),
        ("delete", f"{POS}/{pos.pk}"),
        ("post", f"{POS}/{pos.pk}/resync"),
    ]:
        response = getattr(client, method)(url, {}, content_type="application/json")
        assert (response.status_code, response.json()["code"]) == (403, "role_not_allowed")
    with tenant_scope(seller):
        assert PointOfSale.objects.filter(pk=pos.pk).exists()

    manager = Client()
    manager.force_login(make_member(seller, Role.MANAGER))
    response = post(manager, STORES, STORE)
    assert response.status_code == 201
    assert response.json()["sync_state"] == SyncState.SYNCED
    with tenant_scope(seller):
        assert Store.objects.count() == 2
