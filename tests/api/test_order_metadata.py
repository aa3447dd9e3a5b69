"""Orders' ``metadata``: the partner's string keys and values, bounded, returned, searchable with
``metadata[key]=value`` (every pair must hold, only the seller's orders) and updated with
``PATCH /api/v1/orders/{uid}``."""

import pytest

from orders.models import Order
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.api.paid_orders import ORDERS, create, local, post
from tests.factories import make_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


def test_metadata_is_kept_and_returned(partner, seller, pos):
    metadata = {"table": "7", "ticket.id": "A-1042", "note": "x" * 500, "empty": ""}

    body = create(partner, pos, metadata=metadata)

    kept = {"table": "7", "ticket.id": "A-1042", "note": "x" * 500}
    assert body["metadata"] == kept
    assert local(seller, body["uid"]).metadata == kept
    assert partner.get(f"{ORDERS}/{body['uid']}").json()["metadata"] == kept
    assert create(partner, pos, external_reference="sale-2")["metadata"] == {}


@pytest.mark.parametrize(
    ("metadata", "field", "code"),
    [
        ({f"k{n}": "v" for n in range(21)}, "metadata", "too_many_keys"),
        ({"a" * 41: "v"}, f"metadata.{'a' * 41}", "invalid_key"),
        ({"with space": "v"}, "metadata.with space", "invalid_key"),
        ({"": "v"}, "metadata.", "invalid_key"),
        ({"long": "x" * 501}, "metadata.long", "max_length"),
        ({"number": 7}, "metadata.number", "invalid"),
        ({"nested": {"a": "b"}}, "metadata.nested", "invalid"),
        (["table", "7"], "metadata", "not_a_dict"),
    ],
)
def test_metadata_out_of_bounds_is_400_on_its_field(partner, seller, pos, metadata, field, code):
    response = post(partner, ORDERS, {**order_body(pos), "metadata": metadata})

    assert response.status_code == 400, response.content
    assert response.json()["fields"][field][0]["code"] == code
    with tenant_scope(seller):
        assert not Order.objects.exists()


def order_body(pos) -> dict:
    return {
        "pos": pos.pk,
        "api": "v1",
        "mode": "dynamic",
        "external_reference": "sale-1",
        "title": "Lunch",
        "total_amount": "10.00",
    }


def test_twenty_keys_of_forty_characters_are_accepted(partner, pos):
    metadata = {f"{n:02d}" + "k" * 38: "v" for n in range(20)}
    assert create(partner, pos, metadata=metadata)["metadata"] == metadata


def test_orders_are_found_by_every_pair_given(partner, seller, pos, tenant_b):
    both = make_order(seller, pos, metadata={"table": "7", "shift": "night"})
    make_order(seller, pos, metadata={"table": "7", "shift": "day"})
    make_order(seller, pos, metadata={"table": "70"})
    make_order(tenant_b, metadata={"table": "7", "shift": "night"})

    def found(**query: str) -> list[str]:
        response = partner.get(ORDERS, query)
        assert response.status_code == 200, response.content
        return [row["uid"] for row in response.json()["results"]]

    assert found(**{"metadata[table]": "7", "metadata[shift]": "night"}) == [str(both.uid)]
    assert len(found(**{"metadata[table]": "7"})) == 2
    assert found(**{"metadata[table]": "7", "status": "created"}) == []
    assert found(**{"metadata[missing]": "7"}) == []
    refused = partner.get(ORDERS, {"metadata[bad key]": "7"})
    assert refused.status_code == 400
    assert refused.json()["fields"]["metadata[bad key]"][0]["code"] == "invalid_key"


def test_another_sellers_orders_are_never_found(partner, seller, pos, tenant_b):
    theirs = make_order(tenant_b, metadata={"table": "7"})
    other = api_client(issue_token(tenant_b))

    assert partner.get(ORDERS, {"metadata[table]": "7"}).json()["results"] == []
    assert [r["uid"] for r in other.get(ORDERS, {"metadata[table]": "7"}).json()["results"]] == [
        str(theirs.uid)
    ]
    patched = partner.patch(
        f"{ORDERS}/{theirs.uid}", {"metadata": {"a": "b"}}, content_type="application/json"
    )
    assert patched.status_code == 404


def test_patch_sets_and_removes_keys_and_keeps_the_others(partner, seller, pos):
    uid = create(partner, pos, metadata={"table": "7", "waiter": "Ana"})["uid"]

    response = partner.patch(
        f"{ORDERS}/{uid}",
        {"metadata": {"table": "8", "waiter": "", "shift": "night"}},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["metadata"] == {"table": "8", "shift": "night"}
    assert local(seller, uid).metadata == {"table": "8", "shift": "night"}


def test_patch_refuses_more_than_twenty_keys_in_all_and_other_fields(partner, seller, pos):
    uid = create(partner, pos, metadata={f"k{n}": "v" for n in range(15)})["uid"]

    too_many = partner.patch(
        f"{ORDERS}/{uid}",
        {"metadata": {f"new{n}": "v" for n in range(6)}},
        content_type="application/json",
    )
    other_field = partner.patch(
        f"{ORDERS}/{uid}", {"title": "Dinner"}, content_type="application/json"
    )

    assert too_many.status_code == 400
    assert too_many.json()["fields"]["metadata"][0]["code"] == "too_many_keys"
    assert other_field.status_code == 400
    assert "title" in other_field.json()["fields"]
    assert len(local(seller, uid).metadata) == 15
