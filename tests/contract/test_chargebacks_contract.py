"""Contract: chargebacks (``GET /v1/chargebacks/{id}``) through ``mpapi`` against the sandbox."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from mpapi import Chargeback, NotFound, Unauthorized, get_chargeback
from tests.contract.conftest import BR_SELLER_TOKEN, SELLER_TOKEN
from tests.sandbox.api_helpers import Api


@pytest.fixture
def chargeback_id(client) -> str:
    """A chargeback of 12.34 on a paid payment of the Argentine test seller."""
    api = Api(client, "MLA")
    order = api.order(api.pos()["external_id"])
    paid = api.pay(qr_data=order["type_response"]["qr_data"])
    assert paid.status_code == 200, paid.content
    opened = client.post(
        "/sandbox/_control/chargebacks",
        json.dumps({"payment_id": paid.json()["payment_id"], "amount": 12.34}),
        content_type="application/json",
    )
    assert opened.status_code == 201, opened.content
    return opened.json()["id"]


def test_get_chargeback(mp, client, chargeback_id, calls):
    chargeback = get_chargeback(mp, SELLER_TOKEN, chargeback_id)
    assert isinstance(chargeback, Chargeback)
    assert chargeback.id == chargeback_id
    assert chargeback.amount == Decimal("12.34")
    assert (chargeback.currency, chargeback.status) == ("ARS", "opened")
    [payment_id] = chargeback.payments
    assert isinstance(payment_id, int)
    assert chargeback.documentation_required is True
    assert chargeback.documentation_status == "pending"
    assert chargeback.coverage_applied is False
    assert chargeback.date_created.tzinfo is not None
    assert chargeback.date_documentation_deadline - chargeback.date_created == timedelta(days=10)
    assert chargeback.live_mode is False
    assert calls[-1].path == f"/v1/chargebacks/{chargeback_id}"
    assert calls[-1].status == 200

    decided = client.post(
        f"/sandbox/_control/chargebacks/{chargeback_id}",
        json.dumps({"in_favor_of": "buyer"}),
        content_type="application/json",
    )
    assert decided.status_code == 200
    closed = get_chargeback(mp, SELLER_TOKEN, chargeback_id)
    assert (closed.status, closed.coverage_applied) == ("closed", False)
    assert closed.date_last_updated >= chargeback.date_last_updated


def test_get_chargeback_of_another_seller_or_without_a_token(mp, chargeback_id):
    with pytest.raises(NotFound) as caught:
        get_chargeback(mp, BR_SELLER_TOKEN, chargeback_id)
    assert (caught.value.status, caught.value.code) == (404, "not_found")
    with pytest.raises(NotFound):
        get_chargeback(mp, SELLER_TOKEN, "0123456789abcdef00")
    with pytest.raises(Unauthorized):
        get_chargeback(mp, "APP_USR-0000000000000000-000000-not-a-real-token-1", chargeback_id)


def test_a_date_only_deadline_is_read_as_the_end_of_that_day():
    chargeback = Chargeback.from_json(
        {"id": "abc", "date_documentation_deadline": "2026-12-16", "amount": 10}
    )
    assert chargeback.date_documentation_deadline.isoformat().startswith("2026-12-16T23:59:59")
    assert chargeback.date_documentation_deadline.tzinfo is not None
