"""Contract: stores and points of sale (api.md §4) through ``mpapi`` against the sandbox."""

from datetime import time
from decimal import Decimal

import pytest

from mpapi import BadRequest, Conflict, Forbidden, NotFound, Unauthorized, emvco
from mpapi.stores import Location, OpeningHours, PosCreate, PosUpdate, StoreRequest
from tests.contract.conftest import BR_SELLER_ID, BR_SELLER_TOKEN, SELLER_ID
from tests.sandbox.api_helpers import COORDINATES

LATITUDE, LONGITUDE = (Decimal(str(value)) for value in COORDINATES["MLA"])
GASTRONOMY_MLA = 621102
GASTRONOMY_MLB = 5611203


def location(site: str = "MLA", **fields) -> Location:
    latitude, longitude = (Decimal(str(value)) for value in COORDINATES[site])
    values = {
        "street_name": "Main street",
        "street_number": "123",
        "city_name": "Capital",
        "state_name": "Capital",
        "latitude": latitude,
        "longitude": longitude,
    }
    return Location(**(values | fields))


def store_request(external_id: str = "STORE1", **fields) -> StoreRequest:
    values = {"name": "Main store", "external_id": external_id, "location": location()}
    return StoreRequest(**(values | fields))


def hours(*ranges: tuple[int, int]) -> tuple[OpeningHours, ...]:
    return tuple(OpeningHours(time(opens), time(closes)) for opens, closes in ranges)


@pytest.fixture
def store(mp, seller_token):
    return mp.create_store(seller_token, SELLER_ID, store_request())


def pos_create(store, external_id: str = "POS1", **fields) -> PosCreate:
    values = {
        "name": "Checkout 1",
        "external_id": external_id,
        "store_id": store.id,
        "external_store_id": store.external_id,
        "fixed_amount": True,
    }
    return PosCreate(**(values | fields))


@pytest.fixture
def pos(mp, seller_token, store):
    return mp.create_pos(seller_token, pos_create(store, category=GASTRONOMY_MLA))


# Stores ------------------------------------------------------------------------------------


def test_create_store_answers_a_typed_store(mp, seller_token):
    request = store_request(
        business_hours={"monday": hours((8, 12), (14, 18)), "saturday": hours((9, 13))},
        location=location(reference="Near the park"),
    )

    created = mp.create_store(seller_token, SELLER_ID, request)

    assert isinstance(created.id, int)
    assert created.id > 0
    assert created.name == "Main store"
    assert created.external_id == "STORE1"
    assert (created.latitude, created.longitude) == (LATITUDE, LONGITUDE)
    assert created.address_line == "Main street 123, Capital, Capital"
    assert created.date_created is not None
    assert created.date_created.tzinfo is not None
    assert created.raw["business_hours"]["monday"] == [
        {"open": "08:00", "close": "12:00"},
        {"open": "14:00", "close": "18:00"},
    ]
    assert created.raw["location"]["reference"] == "Near the park"


def test_get_store_answers_the_created_store(mp, seller_token, store):
    fetched = mp.get_store(seller_token, store.id)

    assert (fetched.id, fetched.name, fetched.external_id) == (store.id, "Main store", "STORE1")
    assert (fetched.latitude, fetched.longitude) == (LATITUDE, LONGITUDE)


def test_search_stores_by_external_id_and_pages(mp, seller_token, store):
    other = mp.create_store(seller_token, SELLER_ID, store_request("STORE2", name="Second"))

    found = mp.search_stores(seller_token, SELLER_ID, external_id="STORE2")
    assert [row.id for row in found.results] == [other.id]
    assert found.total == 1

    first_page = mp.search_stores(seller_token, SELLER_ID, limit=1, offset=0)
    second_page = mp.search_stores(seller_token, SELLER_ID, limit=1, offset=1)
    assert (first_page.total, first_page.limit, first_page.offset) == (2, 1, 0)
    assert [row.id for row in first_page.results + second_page.results] == [store.id, other.id]

    assert mp.search_stores(seller_token, SELLER_ID, external_id="NOSUCHSTORE").results == ()


def test_update_store_changes_it(mp, seller_token, store):
    updated = mp.update_store(
        seller_token,
        SELLER_ID,
        store.id,
        store_request(name="Renamed store", business_hours={"friday": hours((10, 22))}),
    )

    assert (updated.id, updated.name) == (store.id, "Renamed store")
    assert mp.get_store(seller_token, store.id).name == "Renamed store"
    assert updated.raw["business_hours"] == {"friday": [{"open": "10:00", "close": "22:00"}]}


def test_delete_store_removes_it(mp, seller_token, store):
    assert mp.delete_store(seller_token, SELLER_ID, store.id) is None

    with pytest.raises(NotFound) as error:
        mp.get_store(seller_token, store.id)
    assert error.value.status == 404
    assert "not_found" in error.value.codes


def test_an_invalid_store_external_id_is_refused(mp, seller_token):
    with pytest.raises(BadRequest) as error:
        mp.create_store(seller_token, SELLER_ID, store_request("STORE-1"))
    assert error.value.status == 400
    assert "INVALID_EXTERNAL_ID" in error.value.codes

    with pytest.raises(BadRequest) as error:
        mp.search_stores(seller_token, SELLER_ID, external_id="not alphanumeric")
    assert "INVALID_EXTERNAL_ID" in error.value.codes


def test_a_duplicate_store_external_id_is_a_409(mp, seller_token, store):
    with pytest.raises(Conflict) as error:
        mp.create_store(seller_token, SELLER_ID, store_request("STORE1", name="Again"))
    assert error.value.status == 409
    assert "VALIDATION_ERROR" in error.value.codes
    assert "External_id-already-used" in error.value.message


def test_a_store_update_to_an_existing_external_id_is_a_409(mp, seller_token, store):
    other = mp.create_store(seller_token, SELLER_ID, store_request("STORE2"))

    with pytest.raises(Conflict) as error:
        mp.update_store(seller_token, SELLER_ID, other.id, store_request("STORE1"))
    assert error.value.status == 409
    assert "VALIDATION_ERROR" in error.value.codes


def test_business_hours_take_four_ranges_a_day_on_create_but_not_five(mp, seller_token):
    four = hours((6, 8), (9, 11), (12, 14), (15, 17))
    created = mp.create_store(
        seller_token, SELLER_ID, store_request(business_hours={"monday": four})
    )
    assert len(created.raw["business_hours"]["monday"]) == 4

    five = (*four, OpeningHours(time(18), time(20)))
    with pytest.raises(BadRequest) as error:
        mp.create_store(
            seller_token, SELLER_ID, store_request("S2", business_hours={"monday": five})
        )
    assert error.value.status == 400
    assert "INVALID_BUSINESS_HOURS" in error.value.codes


def test_business_hours_take_two_ranges_a_day_on_update_but_not_three(mp, seller_token, store):
    three = hours((6, 8), (9, 11), (12, 14))
    with pytest.raises(BadRequest) as error:
        mp.update_store(
            seller_token, SELLER_ID, store.id, store_request(business_hours={"monday": three})
        )
    assert "INVALID_BUSINESS_HOURS" in error.value.codes


def test_coordinates_outside_the_sellers_country_are_refused(mp, seller_token):
    # São Paulo is in Brazil, not in the Argentine seller's site.
    brazil = location("MLB")
    with pytest.raises(BadRequest) as error:
        mp.create_store(seller_token, SELLER_ID, store_request(location=brazil))
    assert error.value.status == 400
    assert "BAD_REQUEST" in error.value.codes

    # The same place is fine for the Brazilian seller.
    created = mp.create_store(BR_SELLER_TOKEN, BR_SELLER_ID, store_request(location=brazil))
    assert created.latitude == Decimal(str(COORDINATES["MLB"][0]))


def test_coordinates_out_of_range_are_refused(mp, seller_token):
    with pytest.raises(BadRequest) as error:
        mp.create_store(
            seller_token, SELLER_ID, store_request(location=location(latitude=Decimal("91")))
        )
    assert "INVALID_LATITUDE" in error.value.codes


def test_another_sellers_user_id_is_forbidden(mp, seller_token, store):
    with pytest.raises(Forbidden) as error:
        mp.create_store(seller_token, BR_SELLER_ID, store_request("STORE9"))
    assert error.value.status == 403
    assert "forbidden" in error.value.codes

    for call in (
        lambda: mp.search_stores(seller_token, BR_SELLER_ID),
        lambda: mp.update_store(seller_token, BR_SELLER_ID, store.id, store_request()),
        lambda: mp.delete_store(seller_token, BR_SELLER_ID, store.id),
    ):
        with pytest.raises(Forbidden) as error:
            call()
        assert error.value.status == 403


def test_another_sellers_store_is_not_found(mp, seller_token, store):
    with pytest.raises(NotFound) as error:
        mp.get_store(BR_SELLER_TOKEN, store.id)
    assert error.value.status == 404

    with pytest.raises(NotFound):
        mp.update_store(BR_SELLER_TOKEN, BR_SELLER_ID, store.id, store_request())
    with pytest.raises(NotFound):
        mp.delete_store(BR_SELLER_TOKEN, BR_SELLER_ID, store.id)
    assert mp.get_store(seller_token, store.id).id == store.id


def test_an_unknown_store_is_not_found(mp, seller_token):
    with pytest.raises(NotFound) as error:
        mp.get_store(seller_token, 987654321)
    assert (error.value.status, error.value.code) == (404, "not_found")

    with pytest.raises(NotFound):
        mp.delete_store(seller_token, SELLER_ID, 987654321)


def test_a_bad_token_is_unauthorized_on_stores(mp):
    with pytest.raises(Unauthorized) as error:
        mp.create_store("APP_USR-not-a-token-at-all", SELLER_ID, store_request())
    assert error.value.status == 401
    assert "unauthorized" in error.value.codes

    with pytest.raises(Unauthorized):
        mp.search_stores("APP_USR-not-a-token-at-all", SELLER_ID)


# Points of sale ----------------------------------------------------------------------------


def test_create_pos_answers_a_typed_pos(mp, seller_token, store):
    created = mp.create_pos(seller_token, pos_create(store, category=GASTRONOMY_MLA))

    assert isinstance(created.id, int)
    assert created.id > 0
    assert created.name == "Checkout 1"
    assert created.external_id == "POS1"
    assert (created.store_id, created.external_store_id) == (store.id, "STORE1")
    assert created.fixed_amount is True
    assert created.category == GASTRONOMY_MLA
    assert created.status == "active"
    assert (created.user_id, created.site) == (SELLER_ID, "MLA")
    assert created.uuid
    assert all(char in "0123456789abcdef" for char in created.uuid)
    assert created.qr_image
    assert created.qr_image.startswith("http")
    assert created.qr_template_document
    assert created.qr_template_image
    assert created.date_created is not None


def test_get_pos_carries_a_static_qr_code_that_verifies(mp, seller_token, pos):
    fetched = mp.get_pos(seller_token, pos.id)

    assert (fetched.id, fetched.external_id, fetched.category) == (pos.id, "POS1", GASTRONOMY_MLA)
    assert fetched.qr_code
    objects = {item.tag: item for item in emvco.verify(fetched.qr_code)}
    assert objects["00"].value == "01"
    assert objects["53"].value == "032"  # ARS
    assert objects["58"].value == "AR"
    assert emvco.is_valid(fetched.qr_code)
    crc = fetched.qr_code[-4:]
    assert not emvco.is_valid(fetched.qr_code[:-4] + ("0000" if crc != "0000" else "FFFF"))


def test_search_pos_by_each_filter(mp, seller_token, store, pos):
    other_store = mp.create_store(seller_token, SELLER_ID, store_request("STORE2"))
    other = mp.create_pos(seller_token, pos_create(other_store, "POS2"))

    def ids(**filters) -> list[int]:
        return [row.id for row in mp.search_pos(seller_token, **filters).results]

    assert ids() == [pos.id, other.id]
    assert ids(external_id="POS2") == [other.id]
    assert ids(external_store_id="STORE1") == [pos.id]
    assert ids(store_id=other_store.id) == [other.id]
    assert ids(category=GASTRONOMY_MLA) == [pos.id]
    page = mp.search_pos(seller_token, limit=1, offset=1)
    assert (page.total, page.limit, page.offset) == (2, 1, 1)
    assert [row.id for row in page.results] == [other.id]
    assert mp.search_pos(BR_SELLER_TOKEN).results == ()


def test_update_pos_changes_only_the_given_fields(mp, seller_token, store, pos):
    other_store = mp.create_store(seller_token, SELLER_ID, store_request("STORE2"))

    updated = mp.update_pos(
        seller_token,
        pos.id,
        PosUpdate(name="Renamed", store_id=other_store.id, external_store_id="STORE2"),
    )

    assert (updated.id, updated.name, updated.external_id) == (pos.id, "Renamed", "POS1")
    assert (updated.store_id, updated.external_store_id) == (other_store.id, "STORE2")
    assert updated.category == GASTRONOMY_MLA
    assert updated.fixed_amount is True
    assert mp.get_pos(seller_token, pos.id).name == "Renamed"


def test_delete_pos_removes_it(mp, seller_token, pos):
    assert mp.delete_pos(seller_token, pos.id) is None

    with pytest.raises(NotFound) as error:
        mp.get_pos(seller_token, pos.id)
    assert (error.value.status, error.value.code) == (404, "not_found")


def test_a_pos_name_of_45_characters_is_too_long(mp, seller_token, store, pos):
    assert mp.create_pos(seller_token, pos_create(store, "POS2", name="n" * 44)).name == "n" * 44

    with pytest.raises(BadRequest) as error:
        mp.create_pos(seller_token, pos_create(store, "POS3", name="n" * 45))
    assert error.value.status == 400
    assert "NAME_TOO_LONG" in error.value.codes

    with pytest.raises(BadRequest) as error:
        mp.update_pos(seller_token, pos.id, PosUpdate(name="n" * 45))
    assert "NAME_TOO_LONG" in error.value.codes


def test_a_category_of_another_site_is_an_unknown_mcc(mp, seller_token, store, pos):
    with pytest.raises(BadRequest) as error:
        mp.create_pos(seller_token, pos_create(store, "POS2", category=GASTRONOMY_MLB))
    assert error.value.status == 400
    assert "UNKNOWN_MCC" in error.value.codes

    with pytest.raises(BadRequest) as error:
        mp.update_pos(seller_token, pos.id, PosUpdate(category=GASTRONOMY_MLB))
    assert "UNKNOWN_MCC" in error.value.codes


def test_an_external_store_id_of_another_store_does_not_match(mp, seller_token, store):
    mp.create_store(seller_token, SELLER_ID, store_request("STORE2"))

    with pytest.raises(BadRequest) as error:
        mp.create_pos(seller_token, pos_create(store, external_store_id="STORE2"))
    assert error.value.status == 400
    assert "EXTERNAL_STORE_ID_NOT_MATCH" in error.value.codes


def test_an_unknown_external_store_id_is_inexistent(mp, seller_token, store):
    with pytest.raises(BadRequest) as error:
        mp.create_pos(seller_token, pos_create(store, external_store_id="NOSUCHSTORE"))
    assert error.value.status == 400
    assert "INEXISTENT_EXTERNAL_STORE_ID" in error.value.codes


def test_an_invalid_pos_external_id_is_refused(mp, seller_token, store):
    with pytest.raises(BadRequest) as error:
        mp.create_pos(seller_token, pos_create(store, "POS-1"))
    assert "INVALID_EXTERNAL_ID" in error.value.codes

    assert mp.create_pos(seller_token, pos_create(store, "P" * 39)).external_id == "P" * 39
    with pytest.raises(BadRequest) as error:
        mp.create_pos(seller_token, pos_create(store, "P" * 40))
    assert "EXTERNAL_ID_TOO_LONG" in error.value.codes


def test_a_duplicate_pos_external_id_is_a_409(mp, seller_token, store, pos):
    with pytest.raises(Conflict) as error:
        mp.create_pos(seller_token, pos_create(store, "POS1", name="Again"))
    assert error.value.status == 409
    assert "VALIDATION_ERROR" in error.value.codes


def test_another_sellers_pos_is_not_found(mp, pos):
    for call in (
        lambda: mp.get_pos(BR_SELLER_TOKEN, pos.id),
        lambda: mp.update_pos(BR_SELLER_TOKEN, pos.id, PosUpdate(name="Mine")),
        lambda: mp.delete_pos(BR_SELLER_TOKEN, pos.id),
    ):
        with pytest.raises(NotFound) as error:
            call()
        assert error.value.status == 404


def test_a_pos_in_another_sellers_store_is_refused(mp, store):
    with pytest.raises(BadRequest) as error:
        mp.create_pos(BR_SELLER_TOKEN, pos_create(store, "POS9"))
    assert "INEXISTENT_EXTERNAL_STORE_ID" in error.value.codes


def test_a_bad_token_is_unauthorized_on_pos(mp, pos):
    for call in (
        lambda: mp.get_pos("APP_USR-not-a-token-at-all", pos.id),
        lambda: mp.search_pos("APP_USR-not-a-token-at-all"),
        lambda: mp.delete_pos("APP_USR-not-a-token-at-all", pos.id),
    ):
        with pytest.raises(Unauthorized) as error:
            call()
        assert error.value.status == 401
        assert "unauthorized" in error.value.codes
