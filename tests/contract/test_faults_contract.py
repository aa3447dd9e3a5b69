"""Contract: ``mpapi``'s retries proven with the sandbox's fault injection.

Faults are set with ``PUT /sandbox/_control/faults`` (a seed, a path regex and rates; what a body
leaves out takes its default) and cleared with ``DELETE``; ``tests.faults`` picks the seeds.
"""

import uuid
from decimal import Decimal

import pytest

from mpapi import ClientConfig, MercadoPagoClient, NotFound, RateLimited, ServerError
from mpapi.orders import OrderCreate
from mpapi.stores import Location, PosCreate, PosUpdate, StoreRequest
from sandbox.models import FaultSettings, Order, PointOfSale
from tests.contract.conftest import SELLER_ID, SELLER_TOKEN
from tests.faults import clean, failed, seed_where, set_faults, timed_out
from tests.sandbox.api_helpers import COORDINATES

MAX_RETRIES = 3  # ClientConfig's default, which the fixtures keep


# Helpers -----------------------------------------------------------------------------------


@pytest.fixture
def faults(client):
    """Sets faults for the test; they are reset with ``DELETE`` afterwards."""
    yield lambda **settings: set_faults(client, **settings)
    assert client.delete("/sandbox/_control/faults").status_code == 200


def attempts_at(calls: list, method: str, path_start: str) -> list:
    return [
        record for record in calls if record.method == method and record.path.startswith(path_start)
    ]


def set_up_pos(mp, external_id: str = "POS1"):
    latitude, longitude = (Decimal(str(value)) for value in COORDINATES["MLA"])
    store = mp.create_store(
        SELLER_TOKEN,
        SELLER_ID,
        StoreRequest(
            name="Main store",
            external_id=f"S{external_id}",
            location=Location("Main street", "123", "Capital", "Capital", latitude, longitude),
        ),
    )
    return mp.create_pos(
        SELLER_TOKEN,
        PosCreate(
            name="Checkout",
            external_id=external_id,
            store_id=store.id,
            external_store_id=store.external_id,
        ),
    )


def order_request(external_reference: str, external_pos_id: str = "POS1") -> OrderCreate:
    return OrderCreate(
        external_reference=external_reference,
        external_pos_id=external_pos_id,
        total_amount=Decimal("50.00"),
        currency="ARS",
        mode="dynamic",
    )


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def mp_sleeps(sandbox_transport, calls, sleeps):
    """Like ``mp``, but the waits between attempts are recorded (and not slept)."""
    config = ClientConfig(
        base_url="http://testserver/sandbox",
        transport=sandbox_transport,
        observer=calls.append,
        sleep=sleeps.append,
    )
    with MercadoPagoClient(config) as client:
        yield client


# (a) A create that times out is retried with the same key: one order ----------------------


@pytest.mark.django_db(transaction=True)
def test_a_create_that_times_out_is_retried_with_the_same_key_and_makes_one_order(
    mp_socket, faults, calls
):
    set_up_pos(mp_socket)
    # mp_socket waits 1 s for an answer; the sandbox withholds a timed-out answer for 2 s after
    # having created the order. Only POST /v1/orders is affected (the path regex), and the seed
    # is one whose draws time out request 0 and leave request 1 alone (rate 0.5, no errors).
    rates = {"timeout_rate": Decimal("0.5"), "error_rate": Decimal(0)}
    seed = seed_where([timed_out, clean], **rates)
    faults(seed=seed, path_regex="^/v1/orders$", timeout_seconds=2, **rates)
    key = str(uuid.uuid4())
    reference = f"sale-{uuid.uuid4().hex[:12]}"

    order = mp_socket.create_order(SELLER_TOKEN, order_request(reference), idempotency_key=key)

    rows = Order.objects.filter(external_reference=reference)
    assert rows.count() == 1
    assert order.id == rows.get().order_id
    assert order.external_reference == reference
    first, second = attempts_at(calls, "POST", "/v1/orders")
    assert (first.attempt, first.status, first.error) == (1, None, "ReadTimeout")
    assert (second.attempt, second.status, second.error) == (2, 201, None)
    assert first.idempotency_key == second.idempotency_key == key
    assert FaultSettings.current().request_count == 2


def test_a_create_answered_503_is_retried_with_the_same_key_and_makes_one_order(mp, faults, calls):
    set_up_pos(mp)
    rates = {"error_rate": Decimal("0.5"), "error_statuses": [503]}
    faults(seed=seed_where([failed, clean], **rates), path_regex="^/v1/orders$", **rates)
    key = str(uuid.uuid4())

    order = mp.create_order(SELLER_TOKEN, order_request("sale-503"), idempotency_key=key)

    assert Order.objects.filter(external_reference="sale-503").count() == 1
    assert order.status == "created"
    attempts = attempts_at(calls, "POST", "/v1/orders")
    assert [(record.attempt, record.status) for record in attempts] == [(1, 503), (2, 201)]
    assert {record.idempotency_key for record in attempts} == {key}


# (b) 5xx and 429 on a GET: retried, then given up ------------------------------------------


def test_a_get_answered_503_is_retried_max_retries_times_then_raises_server_error(
    mp_sleeps, faults, calls, sleeps
):
    pos = set_up_pos(mp_sleeps)
    faults(error_rate=1, error_statuses=[503], path_regex="^/pos/")

    with pytest.raises(ServerError) as error:
        mp_sleeps.get_pos(SELLER_TOKEN, pos.id)

    assert error.value.status == 503
    assert "service_unavailable" in error.value.codes
    attempts = attempts_at(calls, "GET", "/pos/")
    assert [record.attempt for record in attempts] == [1, 2, 3, 4]
    assert len(attempts) == 1 + MAX_RETRIES
    assert {record.status for record in attempts} == {503}
    # Exponential backoff with full jitter: each wait lies within its growing ceiling.
    assert len(sleeps) == MAX_RETRIES
    assert all(0 <= wait <= 0.5 * 2**n for n, wait in enumerate(sleeps))
    assert FaultSettings.current().request_count == 1 + MAX_RETRIES


def test_a_get_answered_503_then_200_succeeds(mp, faults, calls):
    pos = set_up_pos(mp)
    rates = {"error_rate": Decimal("0.5"), "error_statuses": [503]}
    faults(seed=seed_where([failed, failed, clean], **rates), path_regex="^/pos/", **rates)

    fetched = mp.get_pos(SELLER_TOKEN, pos.id)

    assert fetched.id == pos.id
    assert [record.status for record in attempts_at(calls, "GET", "/pos/")] == [503, 503, 200]


def test_a_429_waits_the_retry_after_it_was_given(mp_sleeps, faults, calls, sleeps):
    pos = set_up_pos(mp_sleeps)
    faults(error_rate=1, error_statuses=[429], retry_after_seconds=7, path_regex="^/pos/")

    with pytest.raises(RateLimited) as error:
        mp_sleeps.update_pos(SELLER_TOKEN, pos.id, PosUpdate(name="Renamed"))

    assert error.value.status == 429
    assert error.value.retry_after == 7
    assert sleeps == [7.0] * MAX_RETRIES
    assert [record.status for record in attempts_at(calls, "PUT", "/pos/")] == [429] * 4
    assert PointOfSale.objects.get(pk=pos.id).name == "Checkout"


# (c) 4xx are never retried -----------------------------------------------------------------


def test_a_4xx_is_never_retried(mp_sleeps, calls, sleeps):
    set_up_pos(mp_sleeps)

    with pytest.raises(NotFound) as error:
        mp_sleeps.create_order(
            SELLER_TOKEN, order_request("sale-1", "NOSUCHPOS"), idempotency_key=str(uuid.uuid4())
        )
    assert error.value.status == 404
    assert "pos_not_found" in error.value.codes
    assert len(attempts_at(calls, "POST", "/v1/orders")) == 1

    with pytest.raises(NotFound):
        mp_sleeps.get_pos(SELLER_TOKEN, 987654321)
    assert len(attempts_at(calls, "GET", "/pos/")) == 1
    assert sleeps == []


def test_an_injected_4xx_is_not_retried_either(mp, faults, calls):
    pos = set_up_pos(mp)
    faults(error_rate=1, error_statuses=[404], path_regex="^/pos/")

    with pytest.raises(NotFound):
        mp.get_pos(SELLER_TOKEN, pos.id)
    assert len(attempts_at(calls, "GET", "/pos/")) == 1
    assert FaultSettings.current().request_count == 1


# (d) A POST without an idempotency key is never retried ------------------------------------


def test_a_post_without_idempotency_key_is_not_retried_on_503(mp, faults, calls):
    latitude, longitude = (Decimal(str(value)) for value in COORDINATES["MLA"])
    store = mp.create_store(
        SELLER_TOKEN,
        SELLER_ID,
        StoreRequest(
            name="Main store",
            external_id="STORE1",
            location=Location("Main street", "123", "Capital", "Capital", latitude, longitude),
        ),
    )
    faults(error_rate=1, error_statuses=[503], path_regex="^/pos$")

    with pytest.raises(ServerError) as error:
        mp.create_pos(
            SELLER_TOKEN,
            PosCreate(
                name="Checkout", external_id="POS1", store_id=store.id, external_store_id="STORE1"
            ),
        )

    assert error.value.status == 503
    [attempt] = attempts_at(calls, "POST", "/pos")
    assert (attempt.attempt, attempt.status, attempt.idempotency_key) == (1, 503, None)
    assert not PointOfSale.objects.filter(external_id="POS1").exists()
