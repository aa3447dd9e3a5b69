"""The sandbox's refunds in process: how they are settled (lazily on reads, at delivery runs, by
the control API) and the control surface of the fault settings that drive them."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from sandbox.models import Event, FaultSettings, Refund
from tests.faults import set_faults
from tests.sandbox.api_helpers import Api, later
from tests.sandbox.test_api_payments import paid_legacy

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client) -> Api:
    """The test seller of Argentina, with POS ``POS1``."""
    api = Api(client)
    api.pos("POS1")
    return api


def refund(api, paid: dict, body: dict | None = None, key: str = "r1") -> dict:
    response = api.call("POST", f"/v1/payments/{paid['payment_id']}/refunds", body or {}, key=key)
    assert response.status_code == 201, response.content
    return response.json()


def test_the_unrouted_methods_and_paths_of_refunds_answer_as_mercado_pago_does(api):
    paid = paid_legacy(api)
    refunds = f"/v1/payments/{paid['payment_id']}/refunds"

    assert api.call("GET", refunds).json() == []
    unknown = api.call("GET", f"{refunds}/not-a-number")
    assert (unknown.status_code, unknown["Content-Type"]) == (404, "application/json")
    assert unknown.json()["cause"] == [{"code": 2032, "description": "Refund not found"}]
    assert api.call("DELETE", f"{refunds}/1").status_code == 405
    assert api.call("GET", f"{refunds}/1", token="APP_USR-bad").status_code == 401


def test_a_refund_due_later_is_settled_by_the_deliver_command_once_its_time_has_come(api):
    paid = paid_legacy(api)
    set_faults(api.client, refund_delay_seconds=120)
    made = refund(api, paid)

    call_command("sandbox_deliver", stdout=StringIO())
    assert Refund.objects.get(pk=made["id"]).status == "in_process"
    with later(timedelta(seconds=121)):
        call_command("sandbox_deliver", stdout=StringIO())

    assert Refund.objects.get(pk=made["id"]).status == "approved"
    ipn = Event.objects.filter(kind=Event.Kind.IPN).values_list("topic", flat=True)
    assert list(ipn) == ["merchant_order", "payment"] * 2  # paid, then refunded


def test_refunds_kept_pending_stay_in_process_whatever_reads_them(api):
    paid = paid_legacy(api)
    set_faults(api.client, refund_outcome="pending")
    made = refund(api, paid)

    for path in (
        f"/v1/payments/{paid['payment_id']}",
        f"/v1/payments/{paid['payment_id']}/refunds/{made['id']}",
        f"/merchant_orders/{paid['merchant_order_id']}",
    ):
        assert api.call("GET", path).status_code == 200
    call_command("sandbox_deliver", stdout=StringIO())

    assert Refund.objects.get(pk=made["id"]).status == "in_process"


def test_the_control_page_sets_how_refunds_end(client):
    page = client.get("/sandbox/_control/").content.decode()
    assert 'name="refund_outcome"' in page
    assert 'name="refund_delay_seconds"' in page

    saved = client.post(
        "/sandbox/_control/",
        {"action": "faults", "refund_outcome": "rejected", "refund_delay_seconds": "30"},
    )

    assert saved.status_code == 302
    faults = FaultSettings.current()
    assert (faults.refund_outcome, faults.refund_delay_seconds) == ("rejected", 30)
    read = client.get("/sandbox/_control/faults").json()
    assert (read["refund_outcome"], read["refund_delay_seconds"]) == ("rejected", 30)
    refused = client.put(
        "/sandbox/_control/faults", {"refund_outcome": "maybe"}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert [cause["code"] for cause in refused.json()["cause"]] == ["refund_outcome"]
