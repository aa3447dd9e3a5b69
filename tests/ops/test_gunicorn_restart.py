"""Restarts lose no request (issue 16, point 3), with the project's gunicorn.conf.py:

- SIGHUP under load, the documented in-place restart (docs/deploy.md, "Graceful restarts"):
  while client threads keep calling /healthz and the partner API on kept-alive connections, new
  workers start on the same listening socket and the old ones finish what they hold and leave.
  Every request is answered, none with a 5xx.
- SIGTERM while a request is in flight: that request is answered, and a busy worker gives up the
  listening socket at once, so a new connection is refused (a load balancer tries the next
  replica) instead of waiting in a backlog nobody serves, to be reset when the worker leaves.
"""

import signal
import socket
import threading
from collections import Counter
from urllib.parse import urlsplit

import httpx
import pytest

from sandbox.models import FaultSettings
from tests.api.conftest import issue_token
from tests.factories import make_connected_tenant
from tests.faults import set_faults
from tests.ops.gunicorn_process import gunicorn, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 4
PATHS = ("/healthz", "/api/v1/orders")


def test_restarts_lose_no_request(client, tmp_path):
    token = issue_token(make_connected_tenant("Parrilla", site="MLA"))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def load(path: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as session:
            while not stop.is_set():
                try:
                    status = session.get(path).status_code
                    outcome = "ok" if status == 200 else f"HTTP {status}"
                except httpx.HTTPError as error:
                    outcome = type(error).__name__
                with lock:
                    outcomes[outcome] += 1

    def answered() -> int:
        with lock:
            return outcomes.total()

    with gunicorn(tmp_path, WEB_CONCURRENCY="2", GUNICORN_THREADS="4") as server:
        old = server.workers()
        clients = [
            threading.Thread(target=load, args=(PATHS[n % len(PATHS)],)) for n in range(CLIENTS)
        ]
        for thread in clients:
            thread.start()
        try:
            wait_for(lambda: answered() >= 40, "the load runs")
            server.process.send_signal(signal.SIGHUP)
            wait_for(lambda: server.workers().isdisjoint(old), "every old worker has left")
            wait_for(lambda: len(server.workers()) == 2, "two new workers")
            after = answered()
            wait_for(lambda: answered() >= after + 40, "the new workers answer")
        finally:
            stop.set()
            for thread in clients:
                thread.join(60)

        # A request in flight (the sandbox takes 10 s to answer it) when gunicorn is stopped.
        set_faults(client, latency_ms=10_000)
        slow: list[int] = []
        in_flight = threading.Thread(
            target=lambda: slow.append(
                httpx.get(f"{server.url}/sandbox/v1/orders/1", timeout=60).status_code
            )
        )
        in_flight.start()
        wait_for(lambda: FaultSettings.current().request_count == 1, "the slow request runs")
        server.process.send_signal(signal.SIGTERM)
        address = (urlsplit(server.url).hostname, urlsplit(server.url).port)

        def refused() -> bool:
            """a new connection is refused"""
            try:
                socket.create_connection(address, timeout=5).close()
            except ConnectionRefusedError:
                return True
            return False

        wait_for(refused, "a new connection is refused")
        refused_while_busy = in_flight.is_alive()
        in_flight.join(60)

    assert set(outcomes) == {"ok"}, outcomes
    assert refused_while_busy  # not only once the busy worker had left
    assert slow == [401]  # answered (the sandbox wants a token), not reset
