"""/readyz under each dependency's failure: a server that accepts connections and never answers,
and a closed port. Every case answers 503 in JSON naming the dependency; a hung check is cut by
READINESS_TIMEOUT, so the test ends whatever the dependency does."""

import socket
from collections.abc import Iterator

import pytest
from django.db import connection, connections
from django.test import override_settings

pytestmark = pytest.mark.django_db

PROBE_TIMEOUT = 2  # seconds: long enough for the healthy checks on a busy machine


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose server completes the TCP handshake and then never sends a byte."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: connections are refused."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        return server.getsockname()[1]


def _database_at(monkeypatch, port: int) -> None:
    """New connections (each readiness probe opens its own) go to 127.0.0.1:port."""
    if connection.vendor != "postgresql":
        pytest.skip("points PostgreSQL's connection at another server: needs DATABASE_URL")
    settings_dict = {**connections.settings["default"], "HOST": "127.0.0.1", "PORT": str(port)}
    monkeypatch.setitem(connections.settings, "default", settings_dict)


def _cache_at(port: int) -> override_settings:
    return override_settings(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{port}/0",
                "OPTIONS": {"socket_connect_timeout": 3, "socket_timeout": 3},
            }
        }
    )


def _broker_at(port: int) -> override_settings:
    return override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0")


def _unavailable(client, dependency: str) -> dict[str, str]:
    """The probe's 503 JSON; the checks that failed, but for the secrets check (it reads the
    database and the cache, so it fails with them)."""
    with override_settings(READINESS_TIMEOUT=PROBE_TIMEOUT):
        response = client.get("/readyz")
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "unavailable"
    failed = {name: state for name, state in body["checks"].items() if state != "ok"}
    failed.pop("secrets", None)
    assert dependency in failed
    return failed


@pytest.mark.parametrize("dependency", ["database", "cache", "broker"])
def test_a_dependency_that_never_answers_is_cut_by_the_timeout(
    client, monkeypatch, silent_port, dependency
):
    if dependency == "database":
        _database_at(monkeypatch, silent_port)
        failed = _unavailable(client, dependency)
    else:
        with (_cache_at if dependency == "cache" else _broker_at)(silent_port):
            failed = _unavailable(client, dependency)
    assert failed == {dependency: "timeout"}


@pytest.mark.parametrize("dependency", ["database", "cache", "broker"])
def test_a_dependency_that_refuses_connections_is_an_error(
    client, monkeypatch, closed_port, dependency
):
    if dependency == "database":
        _database_at(monkeypatch, closed_port)
        failed = _unavailable(client, dependency)
    else:
        with (_cache_at if dependency == "cache" else _broker_at)(closed_port):
            failed = _unavailable(client, dependency)
    assert failed == {dependency: "error"}
