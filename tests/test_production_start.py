"""Production processes refuse to start without their secrets (merchant_platform/startup.py).

gunicorn, the ASGI application, Celery workers and beat run here as real processes, as a
deployment starts them, with DEBUG off and the environment each test gives.
"""

import os
import runpy
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from merchant_platform.mercadopago import SANDBOX_WEBHOOK_SECRET
from tests.test_settings_checks import PRODUCTION_ENV

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRETS = (
    "client-secret-value",
    "webhook-secret-value",
    "mail-password-value",
    PRODUCTION_ENV["SECRET_KEY"],
)
# A production environment that the startup refusal accepts. The broker is in memory (no worker
# here needs another process) and the cache a Redis server that nobody connects to at start.
STARTS = {
    **PRODUCTION_ENV,
    "ALLOWED_HOSTS": "127.0.0.1",
    "CELERY_BROKER_URL": "memory://",
    "CACHE_URL": "redis://127.0.0.1:6379/15",
}


def _env(**changes: str | None) -> dict[str, str]:
    """This process's environment without the project's variables, plus ``STARTS`` changed."""
    own = set(PRODUCTION_ENV) | {"CACHE_URL", "SANDBOX_ENABLED", "DATABASE_URL"}
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in own and key != "DJANGO_SETTINGS_MODULE" and not key.startswith("PYTEST")
    }
    wanted = {**STARTS, **changes}
    return base | {key: value for key, value in wanted.items() if value is not None}


def _run(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as output:
        return subprocess.Popen(  # noqa: S603 (the project's own commands)
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, shell=False
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _gunicorn(port: int) -> list[str]:
    return [
        str(BIN / "gunicorn"),
        "merchant_platform.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        "--workers=1",
    ]


def _celery(*args: str) -> list[str]:
    return [str(BIN / "celery"), "-A", "merchant_platform", *args]


def _wait_for(condition, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Poll ``condition()`` until it holds; fail if ``process`` ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}: {log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"not started after {timeout} s: {log.read_text()[-3000:]}")
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _refused(command: list[str], env: dict[str, str], log: Path) -> str:
    """Run ``command`` to its end; its output, after checking that it failed."""
    process = _run(command, env, log)
    try:
        returncode = process.wait(120)
    finally:
        _stop(process)
    output = log.read_text()
    assert returncode != 0, output
    assert not any(secret in output for secret in SECRETS)
    return output


def test_gunicorn_refuses_to_start_without_a_secret_and_starts_with_every_setting(tmp_path):
    port = _free_port()
    env = _env(MERCADOPAGO_WEBHOOK_SECRET=None)
    output = _refused(_gunicorn(port), env, tmp_path / "refused.log")
    assert "Refusing to start the web process (WSGI)" in output
    assert "MERCADOPAGO_WEBHOOK_SECRET is not set; it is required when DEBUG is off" in output
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)

    # With every setting given it serves, and the sandbox stays off (nobody asked for it).
    log = tmp_path / "gunicorn.log"
    process = _run(_gunicorn(port), _env(), log)
    try:
        _wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), process, log)
        https = {"X-Forwarded-Proto": "https"}  # as the TLS proxy says (no HTTPS redirect)
        for path in ("/sandbox/_control/", "/sandbox/oauth/token", "/sandbox/users/me"):
            response = httpx.get(f"http://127.0.0.1:{port}{path}", headers=https, timeout=5)
            assert response.status_code == 404, path
    finally:
        _stop(process)


def test_the_asgi_application_refuses_the_development_secret_key(tmp_path):
    command = [sys.executable, "-c", "import merchant_platform.asgi"]
    output = _refused(command, _env(SECRET_KEY=None), tmp_path / "asgi.log")
    assert "Refusing to start the web process (ASGI)" in output
    assert "merchant_platform.E001: SECRET_KEY is the public development key" in output
    started = subprocess.run(  # noqa: S603
        command, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120, check=False
    )
    assert started.returncode == 0, started.stderr


def test_a_celery_worker_refuses_a_per_process_cache_and_starts_with_a_shared_one(tmp_path):
    worker = _celery("worker", "--pool=solo", "--loglevel=INFO", "--without-mingle")
    output = _refused(worker, _env(CACHE_URL=None), tmp_path / "refused.log")
    assert "Refusing to start a Celery worker" in output
    assert "merchant_platform.E010: The default cache is kept per process" in output

    log = tmp_path / "worker.log"
    process = _run(worker, _env(), log)
    try:
        _wait_for(lambda: " ready." in log.read_text(), process, log)
    finally:
        _stop(process)


def test_celery_beat_refuses_the_sandboxs_public_webhook_secret(tmp_path):
    beat = _celery("beat", f"--schedule={tmp_path / 'schedule'}")
    env = _env(MERCADOPAGO_WEBHOOK_SECRET=SANDBOX_WEBHOOK_SECRET)
    output = _refused(beat, env, tmp_path / "beat.log")
    assert "Refusing to start Celery beat" in output
    assert "merchant_platform.E011: MERCADOPAGO_WEBHOOK_SECRET is the sandbox's public" in output


# What the settings choose by default -----------------------------------------------------------


def _settings(monkeypatch, **environment: str) -> dict:
    """The settings module run afresh in an environment with only ``environment`` of its own."""
    for name in (
        "DEBUG",
        "SANDBOX_ENABLED",
        "MERCADOPAGO_API_BASE_URL",
        "CACHE_URL",
        "CELERY_BROKER_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "merchant_platform" / "settings.py"))


FAULTS = "sandbox.faults.FaultInjectionMiddleware"


def test_the_sandbox_is_on_in_production_only_when_asked_for_by_name(monkeypatch):
    production = _settings(monkeypatch, DEBUG="false")
    assert not production["SANDBOX_ENABLED"]
    assert FAULTS not in production["MIDDLEWARE"]
    assert "sandbox-deliver-due" not in production["CELERY_BEAT_SCHEDULE"]

    asked = _settings(monkeypatch, DEBUG="false", SANDBOX_ENABLED="true")
    assert asked["SANDBOX_ENABLED"]
    assert FAULTS in asked["MIDDLEWARE"]

    assert _settings(monkeypatch, DEBUG="true")["SANDBOX_ENABLED"]  # make run's embedded default
    real = _settings(monkeypatch, DEBUG="true", MERCADOPAGO_API_BASE_URL="https://mp.example")
    assert not real["SANDBOX_ENABLED"]


def test_the_default_cache_is_the_brokers_redis_under_its_own_prefix(monkeypatch):
    broker = "redis://:pw@redis.internal:6379/3"
    caches = _settings(monkeypatch, CELERY_BROKER_URL=broker)["CACHES"]
    assert caches["default"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": broker,
        "KEY_PREFIX": "cache",
        "OPTIONS": {"socket_connect_timeout": 3, "socket_timeout": 3},  # a hung Redis fails fast
    }
    chosen = _settings(monkeypatch, CELERY_BROKER_URL=broker, CACHE_URL="redis://cache:6379/1")
    assert chosen["CACHES"]["default"]["LOCATION"] == "redis://cache:6379/1"
    assert chosen["CACHES"]["default"]["OPTIONS"]["socket_timeout"] == 3
    rabbit = _settings(monkeypatch, CELERY_BROKER_URL="amqp://mq:5672//")["CACHES"]["default"]
    assert rabbit["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"  # E010 refuses it
