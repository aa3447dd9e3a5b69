"""An ``Idempotency-Key`` whose request was cut off is not stuck (issue 15, point 4): a running
request holds its key for a lease; a retry after the lease (its process was killed) or after an
unexpected exception takes the key over and ends with the one order the first attempt saved,
never a second one, here or in Mercado Pago (the sandbox).

The kill is real: a process of its own, on this test's database, sends the create while the
sandbox withholds Mercado Pago's answer, and is SIGKILLed; the clock is then moved past the lease.
"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from orders import api as orders_api
from orders import remote
from orders.models import Order, Status
from partners import idempotency
from partners.models import IdempotentRequest
from sandbox import models as sandbox_models
from tenants.scope import tenant_scope
from tests.api.conftest import issue_token
from tests.factories import make_connected_tenant
from tests.faults import set_faults
from tests.orders.conftest import synced_pos

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]

ROOT = Path(__file__).resolve().parents[2]
ORDERS = "/api/v1/orders"
KEY = "sale-77-create"
# The killed process: the same request a partner sends, through the whole stack.
CREATE = """
import os
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client(headers={"Authorization": "Bearer " + os.environ["TOKEN"]})
client.post(
    "/api/v1/orders",
    os.environ["BODY"],
    content_type="application/json",
    headers={"Idempotency-Key": os.environ["KEY"]},
)
"""


@pytest.fixture
def seller(transactional_db):
    return make_connected_tenant("Parrilla", site="MLA")


@pytest.fixture
def pos(seller):
    return synced_pos(seller)


@pytest.fixture
def token(seller) -> str:
    return issue_token(seller)


def body(pos, reference: str = "sale-77", **fields) -> dict:
    return {
        "pos": pos.pk,
        "api": "v1",
        "mode": "dynamic",
        "external_reference": reference,
        "title": "Mesa 7",
        "items": [{"title": "Bife", "unit_price": "60.00", "quantity": 2}],
    } | fields


def post(token: str, data: dict, key: str = KEY, raise_exceptions: bool = True):
    client = Client(
        headers={"Authorization": f"Bearer {token}"}, raise_request_exception=raise_exceptions
    )
    return client.post(
        ORDERS, json.dumps(data), content_type="application/json", headers={"Idempotency-Key": key}
    )


def in_sandbox(reference: str) -> int:
    return sandbox_models.Order.objects.filter(external_reference=reference).count()


def local_orders(seller) -> list[Order]:
    with tenant_scope(seller):
        return list(Order.objects.all())


def wait_until(condition, process: subprocess.Popen, log: Path, seconds: float = 120) -> None:
    """Until ``condition()`` holds; fails if the process ends first or nothing comes in time."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.05)


def test_a_retry_after_the_lease_of_a_killed_request_resumes_its_one_order(
    client, seller, pos, token, tmp_path
):
    set_faults(client, seed=1, path_regex="^/v1/orders$", timeout_rate="1", timeout_seconds="600")
    log = tmp_path / "killed.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (the project's own interpreter)
            [sys.executable, "-c", CREATE],
            cwd=ROOT,
            env=os.environ
            | {
                "DJANGO_SETTINGS_MODULE": "tests.api.killed_process_settings",
                "KILLED_PROCESS_DATABASE": connection.settings_dict["NAME"],
                "TOKEN": token,
                "KEY": KEY,
                "BODY": json.dumps(body(pos)),
            },
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:  # Mercado Pago made the order; its answer is withheld: the process waits for it
            wait_until(lambda: in_sandbox("sale-77") == 1, process, log)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(30)
    [saved] = local_orders(seller)
    assert saved.status == Status.PENDING  # the first attempt never heard Mercado Pago's answer
    set_faults(client)  # Mercado Pago answers again

    during_lease = post(token, body(pos))
    other_body = post(token, body(pos, title="Mesa 8"))
    with time_machine.travel(timezone.now() + idempotency.lease() + timedelta(seconds=1)):
        retried = post(token, body(pos))
        replayed = post(token, body(pos))

    assert (during_lease.status_code, during_lease.json()["code"]) == (
        409,
        "idempotency_key_in_use",
    )
    assert (other_body.status_code, other_body.json()["code"]) == (409, "idempotency_key_reused")
    assert retried.status_code == 201, retried.content
    assert (retried.json()["uid"], retried.json()["status"]) == (str(saved.uid), Status.CREATED)
    assert retried.json()["mercadopago_order_id"] == sandbox_models.Order.objects.get().order_id
    assert in_sandbox("sale-77") == 1
    assert [order.pk for order in local_orders(seller)] == [saved.pk]
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["uid"] == str(saved.uid)


def test_a_retry_after_an_unexpected_exception_takes_over_at_once_and_gets_the_one_order(
    seller, pos, token, monkeypatch
):
    render = orders_api.OrderSerializer.to_representation
    crashes = [RuntimeError("the answer could not be rendered")]

    def crash_once(serializer, order):
        if crashes:
            raise crashes.pop()
        return render(serializer, order)

    monkeypatch.setattr(orders_api.OrderSerializer, "to_representation", crash_once)

    crashed = post(token, body(pos), raise_exceptions=False)
    retried = post(token, body(pos))

    assert crashed.status_code == 500
    assert retried.status_code == 201, retried.content
    [order] = local_orders(seller)
    assert (retried.json()["uid"], retried.json()["status"]) == (str(order.uid), Status.CREATED)
    assert in_sandbox("sale-77") == 1
    with tenant_scope(seller):
        record = IdempotentRequest.objects.get()
    assert (record.attempt, record.status_code, record.lease_until) == (2, 201, None)


def test_a_cut_off_legacy_dynamic_qr_is_not_sent_again(seller, pos, token, monkeypatch):
    """Mercado Pago does not deduplicate it: the cut-off attempt may have made it."""
    build = remote.instore_request
    crashes = [RuntimeError("cut off before Mercado Pago's answer")]

    def crash_once(*args, **kwargs):
        if crashes:
            raise crashes.pop()
        return build(*args, **kwargs)

    monkeypatch.setattr(remote, "instore_request", crash_once)
    legacy = body(pos, api="instore")

    crashed = post(token, legacy, raise_exceptions=False)
    retried = post(token, legacy)

    assert crashed.status_code == 500
    assert (retried.status_code, retried.json()["code"]) == (503, "mercadopago_unavailable")
    [order] = local_orders(seller)
    assert (order.status, order.error_code) == (Status.FAILED, "mercadopago_no_answer")
    assert sandbox_models.Order.objects.count() == 0


def test_of_two_retries_racing_for_an_expired_lease_only_one_takes_it_over(seller):
    with tenant_scope(seller):
        IdempotentRequest.objects.create(
            tenant=seller,
            client="app:1",
            key=KEY,
            fingerprint="f" * 64,
            lease_until=timezone.now() - timedelta(seconds=1),
        )
        # Both retries read the row before either updates it.
        first, second = IdempotentRequest.objects.get(), IdempotentRequest.objects.get()

        taken = [
            idempotency._take_over(record, "f" * 64, timezone.now())[1]
            for record in (first, second)
        ]

        assert taken == [True, False]
        assert IdempotentRequest.objects.get().attempt == 2
