"""gunicorn never cuts a create short of Mercado Pago's answer, nor answers in HTML (issue 16,
point 2), with the project's gunicorn.conf.py:

- Mercado Pago (the sandbox) withholds its answer: the request's Mercado Pago budget runs out
  first, and the create answers 201 with its order ``pending`` (sent again in the background).
- The worker is aborted mid-create (SIGABRT, as gunicorn's timeout does): the partner gets the
  API's JSON error at once, and a retry with the same Idempotency-Key gets the one order.
- A request gunicorn refuses itself is answered in JSON too; so is Django's 500 under /api/.
"""

import json
import os
import signal
import socket
import threading
from urllib.parse import urlsplit

import httpx
import pytest
from django.test import Client

from orders import api as orders_api
from orders.models import Order, Status
from sandbox import models as sandbox_models
from tenants.scope import tenant_scope
from tests.api.conftest import issue_token
from tests.api.test_idempotency_lease import body
from tests.factories import make_connected_tenant
from tests.faults import set_faults
from tests.ops.gunicorn_process import gunicorn, wait_for
from tests.orders.conftest import synced_pos

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]

ORDERS = "/api/v1/orders"
BUDGET = 8  # seconds: MERCADOPAGO_REQUEST_BUDGET of the server under test


@pytest.fixture
def seller(transactional_db):
    return make_connected_tenant("Parrilla", site="MLA")


def in_sandbox(reference: str) -> int:
    return sandbox_models.Order.objects.filter(external_reference=reference).count()


def test_a_worker_aborted_mid_create_answers_json_and_its_key_is_retried(client, seller, tmp_path):
    pos = synced_pos(seller)
    token = issue_token(seller)
    set_faults(client, seed=1, path_regex="^/v1/orders$", timeout_rate="1", timeout_seconds="600")
    with gunicorn(tmp_path, WEB_CONCURRENCY="1", MERCADOPAGO_REQUEST_BUDGET=str(BUDGET)) as server:
        partner = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        )

        def create(reference: str) -> httpx.Response:
            return partner.post(
                ORDERS, json=body(pos, reference), headers={"Idempotency-Key": reference}
            )

        slow = create("sale-slow")  # Mercado Pago never answers: the budget ends the wait
        assert slow.status_code == 201, slow.text
        assert slow.json()["status"] == Status.PENDING

        answers: list[httpx.Response] = []
        sender = threading.Thread(target=lambda: answers.append(create("sale-77")))
        sender.start()
        wait_for(lambda: in_sandbox("sale-77") == 1, "Mercado Pago has the order, no answer")
        [worker] = server.workers()
        os.kill(worker, signal.SIGABRT)  # what gunicorn's arbiter sends a worker past its timeout
        sender.join(60)
        [aborted] = answers
        set_faults(client)  # Mercado Pago answers again
        retried = create("sale-77")
        replayed = create("sale-77")

        host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
        with socket.create_connection((host, port), timeout=30) as raw:
            raw.sendall(b"NOT HTTP\r\n\r\n")
            refused = raw.recv(65536).decode()
        log = server.output()

    assert aborted.status_code == 503, aborted.text
    assert aborted.headers["Content-Type"] == "application/json"
    assert aborted.json()["code"] == "request_interrupted"
    assert retried.status_code == 201, retried.text  # not 409 idempotency_key_in_use
    with tenant_scope(seller):
        saved = Order.objects.get(external_reference="sale-77")
    assert (retried.json()["uid"], retried.json()["status"]) == (str(saved.uid), Status.CREATED)
    assert in_sandbox("sale-77") == 1
    assert replayed.headers["Idempotent-Replayed"] == "true"
    head, _, refused_body = refused.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 400")
    assert "Content-Type: application/json" in head
    assert json.loads(refused_body)["code"] == "bad_request"
    assert "released 1 idempotency key(s)" in log
    for line in log.splitlines():
        if '"gunicorn.' in line:
            json.loads(line)  # gunicorn's own lines are JSON


def test_django_answers_its_500_in_the_api_error_format(seller, monkeypatch):
    def crash(self, request, *args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(orders_api.OrderViewSet, "list", crash)
    api = Client(
        headers={"Authorization": f"Bearer {issue_token(seller)}"}, raise_request_exception=False
    )
    crashed = api.get(ORDERS)

    assert crashed.status_code == 500
    assert crashed.headers["Content-Type"] == "application/json"
    assert crashed.json()["code"] == "server_error"
