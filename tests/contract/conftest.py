"""Contract tests: every ``mpapi`` method against the sandbox, over HTTP.

``mp`` talks to the sandbox in-process through ``httpx.WSGITransport`` (the sandbox's own WSGI
application, sandbox/wsgi.py, its middleware included, without a socket); ``mp_socket`` talks to
it over a real socket (the live server), which timeouts need. ``calls`` collects the observer's
records of ``mp``.
"""

import httpx
import pytest

from merchant_platform.mercadopago import in_process_transport
from mpapi import ClientConfig, MercadoPagoClient
from sandbox.seed import CLIENT_ID, CLIENT_SECRET, seller_access_token

SELLER_TOKEN = seller_access_token("MLA")
SELLER_ID = 100000001
BR_SELLER_TOKEN = seller_access_token("MLB")
BR_SELLER_ID = 100000002
__all__ = ["BR_SELLER_ID", "BR_SELLER_TOKEN", "CLIENT_ID", "CLIENT_SECRET", "SELLER_ID"]


@pytest.fixture
def calls() -> list:
    return []


@pytest.fixture
def sandbox_transport(db) -> httpx.WSGITransport:
    return in_process_transport()


@pytest.fixture
def mp(sandbox_transport, calls):
    config = ClientConfig(
        base_url="http://testserver/sandbox",
        auth_url="http://testserver/sandbox/authorization",
        transport=sandbox_transport,
        observer=calls.append,
        sleep=lambda seconds: None,
    )
    with MercadoPagoClient(config) as client:
        yield client


@pytest.fixture
def mp_socket(live_server, calls):
    """A client on a real socket, with a short read timeout so injected timeouts bite."""
    config = ClientConfig(
        base_url=f"{live_server.url}/sandbox",
        timeout=httpx.Timeout(1.0, connect=2.0),
        observer=calls.append,
        sleep=lambda seconds: None,
    )
    with MercadoPagoClient(config) as client:
        yield client


@pytest.fixture
def seller_token(db) -> str:
    return SELLER_TOKEN
