"""How many SQL statements one ``POST /api/v1/orders`` costs the platform, so that the number
cannot grow unseen (``bench/order_create.py`` times it; nothing here is timed).

The sandbox answers in-process, on the same connection: the statements it runs while one of its
requests is handled are Mercado Pago's, not the platform's, and are not counted. Neither is
transaction control (savepoints here, inside the test's transaction). What runs once the
transaction commits (the status signal: partners' webhook events) is counted.
"""

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core.signals import request_finished, request_started
from django.db import connection
from django.utils import timezone

from orders.models import MercadoPagoCall, Order, Status
from partners.models import IdempotentRequest
from tenants.scope import tenant_scope
from tests.api.conftest import api_client, issue_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

# Statements of the platform per create, its token authenticated from the cache: the POS with
# the seller's credential (1), the order and its items (2), the Mercado Pago call's audit row (1),
# Mercado Pago's answer applied to the order still pending (1, no lock: transitions.accept) and
# its payment inserted (1, Orders API only), the webhook endpoints of the event (1) and the event
# recorded (1, listed by GET /api/v1/events whether or not an endpoint subscribes). The answer is
# built from what the create holds in memory. An Idempotency-Key adds its claim and its stored
# answer (2).
BUDGET = {"v1": 8, "instore": 7}
IDEMPOTENCY_KEY_COST = 2
TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


@dataclass
class Statements:
    platform: list[str] = field(default_factory=list)
    sandbox: list[str] = field(default_factory=list)


@contextmanager
def counted_statements() -> Iterator[Statements]:
    """The SQL statements run in the block: the platform's, and the sandbox's (those run while
    a ``/sandbox/`` request is handled)."""
    seen = Statements()
    handling: list[bool] = []  # one per request being handled: whether it is the sandbox's

    def started(environ, **_):
        handling.append(environ["PATH_INFO"].startswith("/sandbox/"))

    def finished(**_):
        if handling:  # a response of an earlier request may be closed inside the block
            handling.pop()

    def execute(run, sql, params, many, context):
        if not TRANSACTION_CONTROL.match(sql):
            (seen.sandbox if any(handling) else seen.platform).append(sql)
        return run(sql, params, many, context)

    request_started.connect(started, weak=False)
    request_finished.connect(finished, weak=False)
    try:
        with connection.execute_wrapper(execute):
            yield seen
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)


@pytest.fixture
def partner(seller, settings):
    """A partner app whose token, as with production's Redis, is kept authenticated in the cache
    (``partners.token_cache``) since its first request."""
    settings.API_TOKEN_CACHE_SECONDS = 60
    client = api_client(issue_token(seller))
    assert client.get("/api/v1/orders").status_code == 200
    return client


def create(partner, pos, api: str, mode: str, reference: str, **headers: str):
    body = {
        "pos": pos.pk,
        "api": api,
        "mode": mode,
        "external_reference": reference,
        "title": "Mesa 4",
        "items": [
            {"title": "Bife de chorizo", "unit_price": "60.00", "sku": "BIFE-1"},
            {"title": "Flan", "unit_price": "7.50", "quantity": 2},
        ],
    }
    response = partner.post(
        "/api/v1/orders", json.dumps(body), content_type="application/json", headers=headers
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == Status.CREATED
    return response


@pytest.mark.parametrize("mode", ["dynamic", "hybrid", "static"])
@pytest.mark.parametrize("api", ["v1", "instore"])
def test_a_create_stays_within_its_query_budget(
    partner, seller, pos, api, mode, django_capture_on_commit_callbacks
):
    with counted_statements() as statements, django_capture_on_commit_callbacks(execute=True):
        create(partner, pos, api, mode, "sale-1")

    assert statements.sandbox  # Mercado Pago was called, and its statements told apart
    assert len(statements.platform) <= BUDGET[api], "\n".join(statements.platform)
    with tenant_scope(seller):
        assert MercadoPagoCall.objects.filter(order__external_reference="sale-1").count() == 1


def test_an_idempotency_key_costs_its_claim_and_its_answer(
    partner, pos, django_capture_on_commit_callbacks
):
    with counted_statements() as statements, django_capture_on_commit_callbacks(execute=True):
        create(partner, pos, "v1", "dynamic", "sale-1", **{"Idempotency-Key": "sale-1"})

    assert len(statements.platform) <= BUDGET["v1"] + IDEMPOTENCY_KEY_COST, "\n".join(
        statements.platform
    )


def test_a_key_kept_longer_than_its_lifetime_is_claimed_anew(partner, seller, pos, settings):
    """The claim tries the key first and forgets it only when it has expired."""
    first = create(partner, pos, "v1", "dynamic", "sale-1", **{"Idempotency-Key": "k1"})
    replayed = create(partner, pos, "v1", "dynamic", "sale-1", **{"Idempotency-Key": "k1"})
    assert replayed.json()["uid"] == first.json()["uid"]
    assert replayed.headers["Idempotent-Replayed"] == "true"
    with tenant_scope(seller):
        expired = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL + 1)
        IdempotentRequest.objects.update(created_at=expired)

    second = create(partner, pos, "v1", "dynamic", "sale-2", **{"Idempotency-Key": "k1"})

    assert "Idempotent-Replayed" not in second.headers
    assert second.json()["uid"] != first.json()["uid"]
    with tenant_scope(seller):
        assert Order.objects.count() == 2
        (record,) = IdempotentRequest.objects.all()
        assert record.response_body["uid"] == second.json()["uid"]
