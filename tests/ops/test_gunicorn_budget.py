"""One request's Mercado Pago calls end by its budget (``mpapi.session.deadline``, set per web
request from MERCADOPAGO_REQUEST_BUDGET), whatever the per-attempt timeout and retries would
allow: so a slow Mercado Pago never outlasts gunicorn's timeout (issue 16, point 2)."""

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from merchant_platform.server import check_timeouts
from mpapi import ClientConfig, ServerError, TransportFailure
from mpapi.session import DEADLINE_EXCEEDED, Call, Session, deadline

PATIENT = httpx.Timeout(30.0)  # per attempt: far beyond the deadlines below


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.fixture
def unavailable_url() -> Iterator[str]:
    """A server that answers every request 503 at once."""
    server = socket.create_server(("127.0.0.1", 0), backlog=16)
    answer = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_a_withheld_answer_ends_at_the_deadline_and_later_calls_fail_at_once(silent_url):
    session = Session(ClientConfig(base_url=silent_url, timeout=PATIENT, max_retries=3))
    with deadline(0.5):
        with pytest.raises(TransportFailure) as withheld:
            session.send(Call("GET", "/v1/orders/1"))
        with pytest.raises(TransportFailure) as late:
            session.send(Call("GET", "/v1/orders/2"))

    assert withheld.value.reason == "ReadTimeout"
    assert withheld.value.attempts == 1  # no retry once the deadline has passed
    assert (late.value.reason, late.value.attempts) == (DEADLINE_EXCEEDED, 0)


def test_no_retry_starts_when_its_wait_would_reach_the_deadline(unavailable_url):
    waits: list[float] = []
    config = ClientConfig(
        base_url=unavailable_url,
        timeout=PATIENT,
        max_retries=3,
        backoff_base=4.0,
        random=lambda: 1.0,  # waits 4 s, 8 s, 8 s
        sleep=waits.append,
    )
    session = Session(config)
    with deadline(5.0), pytest.raises(ServerError):
        session.send(Call("GET", "/v1/orders/1"))
    with pytest.raises(ServerError):  # no deadline: every retry
        session.send(Call("GET", "/v1/orders/1"))

    assert waits == [4.0, 4.0, 8.0, 8.0]  # one wait within the deadline, then the three


def test_gunicorn_refuses_a_timeout_within_the_longest_request():
    with pytest.raises(RuntimeError, match="gunicorn's timeout \\(30 s\\) must exceed"):
        check_timeouts(timeout=30, graceful_timeout=60, budget=25)
    [warning] = check_timeouts(timeout=90, graceful_timeout=3, budget=25)
    assert "graceful_timeout (3 s)" in warning
    assert check_timeouts(timeout=90, graceful_timeout=60, budget=25) == []
