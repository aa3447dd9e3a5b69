"""A fake Mercado Pago behind ``httpx.MockTransport``: the network boundary, nothing more."""

import json
from collections import deque

import httpx
import pytest

from mpapi import ClientConfig, MercadoPagoClient

BASE_URL = "http://mp.test/sandbox"
SELLER_TOKEN = "APP_USR-8000000000000001-010203-0123456789abcdef-100000001"


class FakeMercadoPago:
    """Answers queued responses (or raises queued transport errors) in order; keeps requests."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._answers: deque = deque()

    def answer(self, status: int = 200, body: object = None, **kwargs) -> None:
        """Queue an answer: ``body`` as JSON, or ``text=``, ``headers=`` as httpx takes them."""
        if body is not None:
            kwargs["json"] = body
        self._answers.append(httpx.Response(status, **kwargs))

    def fail(self, error_class: type[httpx.TransportError]) -> None:
        """Queue a transport failure (timeout, connection error)."""
        self._answers.append(error_class)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self._answers.popleft()
        if isinstance(answer, type):
            raise answer("simulated", request=request)
        return answer

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def last_json(self) -> object:
        return json.loads(self.last.content)


@pytest.fixture
def server():
    return FakeMercadoPago()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def records():
    return []


@pytest.fixture
def make_client(server, sleeps, records):
    """Build a client on the fake server; keyword arguments override the configuration."""
    clients = []

    def make(**overrides) -> MercadoPagoClient:
        options = {
            "base_url": BASE_URL,
            "platform_id": "dev_platform",
            "integrator_id": "dev_integrator",
            "transport": httpx.MockTransport(server),
            "observer": records.append,
            "sleep": sleeps.append,
            "random": lambda: 0.5,
        }
        client = MercadoPagoClient(ClientConfig(**(options | overrides)))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client):
    return make_client()
