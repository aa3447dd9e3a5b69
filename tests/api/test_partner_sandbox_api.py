"""``/api/v1/sandbox/orders/{uid}/pay`` and ``/expire``: a partner pays or expires an order in
code on a deployment that runs on the embedded sandbox; the change comes back as in production
(the order read from the sandbox, its partner events written). Elsewhere the paths are 404."""

import pytest

from partners.models import Event
from sandbox import models as sandbox_models
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.api.paid_orders import create, local, post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

SANDBOX = "/api/v1/sandbox/orders"


def event_types(seller) -> list[str]:
    with tenant_scope(seller):
        return list(Event.objects.order_by("pk").values_list("type", flat=True))


@pytest.mark.parametrize(("api", "mode"), [("v1", "dynamic"), ("instore", "static")])
def test_paying_an_order_processes_it(partner, seller, pos, api, mode):
    uid = create(partner, pos, api=api, mode=mode)["uid"]

    response = post(partner, f"{SANDBOX}/{uid}/pay")

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["uid"], body["status"], body["paid_amount"]) == (uid, "processed", "100.00")
    (payment,) = body["payments"]
    assert payment["status"] in ("approved", "processed")
    assert sandbox_models.Payment.objects.get().status == "approved"
    assert local(seller, uid).status == "processed"
    assert event_types(seller)[-1] == "order.processed"


def test_an_order_not_waiting_for_payment_is_not_paid_again(partner, seller, pos):
    uid = create(partner, pos)["uid"]
    post(partner, f"{SANDBOX}/{uid}/pay")

    again = post(partner, f"{SANDBOX}/{uid}/pay")

    assert (again.status_code, again.json()["code"]) == (409, "order_not_payable")
    assert sandbox_models.Payment.objects.filter(status="approved").count() == 1


def test_expiring_an_order_expires_it(partner, seller, pos):
    uid = create(partner, pos)["uid"]

    response = post(partner, f"{SANDBOX}/{uid}/expire")

    assert response.status_code == 202, response.content
    assert response.json()["status"] == "expired"
    assert sandbox_models.Order.objects.get().status == "expired"
    assert event_types(seller)[-1] == "order.expired"
    paid = post(partner, f"{SANDBOX}/{uid}/pay")
    assert (paid.status_code, paid.json()["code"]) == (409, "order_not_payable")


def test_a_legacy_order_is_not_expired_by_the_sandbox(partner, seller, pos):
    uid = create(partner, pos, api="instore")["uid"]

    response = post(partner, f"{SANDBOX}/{uid}/expire")

    assert (response.status_code, response.json()["code"]) == (409, "order_not_expirable")
    assert local(seller, uid).status == "created"


def test_the_paths_do_not_exist_without_the_sandbox(partner, seller, pos, settings):
    uid = create(partner, pos)["uid"]
    settings.SANDBOX_ENABLED = False

    for action in ("pay", "expire"):
        response = post(partner, f"{SANDBOX}/{uid}/{action}")
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert local(seller, uid).status == "created"


def test_another_sellers_order_and_a_read_only_token_are_refused(partner, seller, pos, tenant_b):
    uid = create(partner, pos)["uid"]
    other = api_client(issue_token(tenant_b))
    reader = api_client(issue_token(seller, frozenset({"orders:read"})))

    assert post(other, f"{SANDBOX}/{uid}/pay").status_code == 404
    refused = post(reader, f"{SANDBOX}/{uid}/pay")
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")
    assert local(seller, uid).status == "created"
