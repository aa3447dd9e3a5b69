"""Stores and POS of the emulated API (api.md §4)."""

import pytest

from sandbox.seed import seller_access_token
from tests.sandbox.api_helpers import Api, location

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    return Api(client)


def test_store_create_get_search_update_delete(api):
    hours = {"monday": [{"open": "08:00", "close": "12:00"}, {"open": "14:00", "close": "20:00"}]}
    store = api.store(business_hours=hours)
    assert isinstance(store["id"], int)
    assert store["external_id"] == "STORE1"
    assert store["business_hours"] == hours
    assert store["location"]["address_line"] == "Main street 123, Capital, Capital"

    assert api.call("GET", f"/stores/{store['id']}").json()["name"] == "Main store"
    found = api.call("GET", f"/users/{api.user_id}/stores/search?external_id=STORE1").json()
    assert found["paging"] == {"total": 1, "offset": 0, "limit": 50}
    assert [row["id"] for row in found["results"]] == [store["id"]]

    path = f"/users/{api.user_id}/stores/{store['id']}"
    updated = api.call("PUT", path, {"name": "Renamed"})
    assert updated.status_code == 200
    assert updated.json()["name"] == "Renamed"

    deleted = api.call("DELETE", path)
    assert deleted.json() == {"store": store["id"], "user": api.user_id}
    assert api.call("GET", f"/stores/{store['id']}").status_code == 404


def ranges(count: int) -> list[dict]:
    return [{"open": f"{hour:02d}:00", "close": f"{hour:02d}:30"} for hour in range(8, 8 + count)]


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({"name": ""}, 400, "INVALID_NAME"),
        ({"external_id": "has space"}, 400, "INVALID_EXTERNAL_ID"),
        ({"external_id": "A" * 61}, 400, "INVALID_EXTERNAL_ID"),
        ({"color": "red"}, 400, "UNKNOWN_FIELD"),
        ({"business_hours": {"funday": []}}, 400, "INVALID_DAY"),
        ({"business_hours": {"monday": ranges(5)}}, 400, "INVALID_BUSINESS_HOURS"),
        (
            {"business_hours": {"monday": [{"open": "20:00", "close": "08:00"}]}},
            400,
            "INVALID_BUSINESS_HOURS",
        ),
        ({"location": None}, 400, "INVALID_LOCATION"),
        ({"location": location() | {"street_name": ""}}, 400, "INVALID_STREET_NAME"),
        ({"location": location() | {"street_number": None}}, 400, "INVALID_STREET_NUMBER"),
        ({"location": location() | {"city_name": ""}}, 400, "INVALID_CITY_NAME"),
        ({"location": location() | {"state_name": ""}}, 400, "INVALID_STATE_NAME"),
        ({"location": location() | {"zip_code": 1234}}, 400, "INVALID_ZIP_CODE"),
        ({"location": location() | {"reference": 1}}, 400, "INVALID_REFERENCE"),
        ({"location": location() | {"latitude": 91}}, 400, "INVALID_LATITUDE"),
        ({"location": location() | {"longitude": "west"}}, 400, "INVALID_LONGITUDE"),
        ({"location": location("MLB")}, 400, "BAD_REQUEST"),  # outside Argentina
    ],
)
def test_store_validation(api, fields, status, error):
    body = {"name": "Store", "external_id": "S1", "location": location()} | fields
    response = api.call("POST", f"/users/{api.user_id}/stores", body)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["status"] == status


def test_store_business_hours_take_four_ranges_on_create_and_two_on_update(api):
    store = api.store(business_hours={"monday": ranges(4)})
    path = f"/users/{api.user_id}/stores/{store['id']}"
    response = api.call("PUT", path, {"business_hours": {"monday": ranges(3)}})
    assert response.json()["error"] == "INVALID_BUSINESS_HOURS"
    assert api.call("PUT", path, {"business_hours": {"monday": ranges(2)}}).status_code == 200


def test_store_duplicate_external_id_is_a_conflict(api):
    api.store()
    response = api.call(
        "POST",
        f"/users/{api.user_id}/stores",
        {"name": "Again", "external_id": "STORE1", "location": location()},
    )
    assert response.status_code == 409


def test_store_paths_check_the_user_and_the_token(api, client):
    store = api.store()
    assert api.call("GET", "/users/abc/stores/search").json()["error"] == "INVALID_USER_ID"
    assert api.call("GET", "/users/100000002/stores/search").status_code == 403
    assert api.call("GET", "/stores/x").json()["error"] == "INVALID_STORE_ID"
    missing_token = api.call("GET", f"/stores/{store['id']}", token=False)
    assert missing_token.status_code == 401
    assert missing_token.json()["error"] == "unauthorized"
    other_seller = api.call("GET", f"/stores/{store['id']}", token=seller_access_token("MLB"))
    assert other_seller.status_code == 404
    assert api.call("GET", f"/users/{api.user_id}/stores/search?limit=0").json()["error"] == (
        "INVALID_LIMIT"
    )
    assert api.call("GET", f"/users/{api.user_id}/stores/search?offset=-1").json()["error"] == (
        "INVALID_OFFSET"
    )


def test_pos_create_get_search_update_delete(api, client):
    store = api.store()
    pos = api.pos("POS1", store=store, category=621102)
    assert isinstance(pos["id"], int)
    assert pos["store_id"] == str(store["id"])
    assert pos["external_store_id"] == "STORE1"
    assert pos["status"] == "active"
    assert pos["site"] == "MLA"
    assert pos["user_id"] == api.user_id
    assert len(pos["uuid"]) == 32
    assert pos["qr_code"].startswith("000201010212")

    image = client.get(pos["qr"]["image"])
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    assert client.get(pos["qr"]["template_document"]).content.startswith(b"%PDF")
    assert client.get(pos["qr"]["template_image"]).content.startswith(b"\x89PNG")

    assert api.call("GET", f"/pos/{pos['id']}").json()["external_id"] == "POS1"
    found = api.call("GET", "/pos?external_store_id=STORE1").json()
    assert found["paging"]["total"] == 1
    assert found["results"][0]["id"] == pos["id"]
    assert api.call("GET", "/pos?external_id=NOPE").json()["paging"]["total"] == 0

    updated = api.call("PUT", f"/pos/{pos['id']}", {"name": "Checkout 2", "fixed_amount": False})
    assert updated.json()["name"] == "Checkout 2"
    assert updated.json()["fixed_amount"] is False
    renamed = api.call("PUT", f"/pos/{pos['id']}", {"external_id": "OTHER"})
    assert renamed.json()["error"] == "INVALID_EXTERNAL_ID"

    assert api.call("DELETE", f"/pos/{pos['id']}").status_code == 204
    assert api.call("GET", f"/pos/{pos['id']}").status_code == 404


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({"name": "N" * 45}, 400, "NAME_TOO_LONG"),
        ({"name": 5}, 400, "INVALID_NAME"),
        ({"fixed_amount": "yes"}, 400, "INVALID_FIXED_AMOUNT"),
        ({"category": 5812}, 400, "UNKNOWN_MCC"),  # a Mexican code, on an Argentine seller
        ({"category": [1]}, 400, "INVALID_CATEGORY"),
        ({"external_id": "POS-1"}, 400, "INVALID_EXTERNAL_ID"),
        ({"external_id": "P" * 40}, 400, "EXTERNAL_ID_TOO_LONG"),
        ({"external_store_id": "NOSTORE"}, 400, "INEXISTENT_EXTERNAL_STORE_ID"),
        ({"external_store_id": 7}, 400, "INVALID_EXTERNAL_STORE_ID"),
        ({"store_id": "abc"}, 400, "INVALID_STORE_ID"),
        ({"url": "https://example.com/" + "x" * 300}, 400, "URL_TOO_LONG"),
        ({"url": 3}, 400, "INVALID_URL"),
        ({"url": "https://example.com", "fixed_amount": False}, 400, "FIXED_AMOUNT_FALSE"),
        ({"surprise": 1}, 400, "UNKNOWN_FIELD_EXCEPTION"),
    ],
)
def test_pos_validation(api, fields, status, error):
    store = api.store()
    body = {
        "name": "Checkout",
        "fixed_amount": True,
        "store_id": store["id"],
        "external_store_id": "STORE1",
        "external_id": "POS1",
    }
    response = api.call("POST", "/pos", body | fields)
    assert response.status_code == status, response.content
    assert response.json()["error"] == error


def test_pos_store_ids_must_match_and_external_id_be_unique(api):
    first, second = api.store("STORE1"), api.store("STORE2")
    body = {
        "name": "Checkout",
        "store_id": first["id"],
        "external_store_id": "STORE2",
        "external_id": "POS1",
    }
    assert api.call("POST", "/pos", body).json()["error"] == "EXTERNAL_STORE_ID_NOT_MATCH"
    assert api.call("POST", "/pos", {}).json()["error"] == "MISSING_BODY"
    api.pos("POS1", store=second)
    duplicate = api.call("POST", "/pos", body | {"external_store_id": "STORE1"})
    assert duplicate.status_code == 409
