"""A real gunicorn started with the project's gunicorn.conf.py, serving the platform and its sandbox
on the test's PostgreSQL database and Redis (the soak's process settings), for tests/ops."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still not true after {seconds} s: {what}"
        time.sleep(0.05)


@dataclass
class Gunicorn:
    process: subprocess.Popen
    url: str
    log: Path

    def workers(self) -> set[int]:
        """The pids of the master's worker processes."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()}

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def ready(self) -> bool:
        assert self.process.poll() is None, self.output()[-3000:]
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


@contextmanager
def gunicorn(tmp_path: Path, **env: str) -> Iterator[Gunicorn]:
    """gunicorn -c gunicorn.conf.py on this test's database, stopped (SIGTERM) at the end."""
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("a gunicorn of its own shares the test's database and Redis: set DATABASE_URL")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    queue = f"ops-{uuid.uuid4().hex[:8]}"  # tasks it queues are left there, unconsumed
    variables = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")} | {
        "DJANGO_SETTINGS_MODULE": "tests.soak.process_settings",
        "SOAK_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        "SOAK_SITE_URL": url,
        "SOAK_CLIENT_TIMEOUT": "60",
        "SOAK_QUEUE": queue,
        "SOAK_BROKER_PREFIX": f"{queue}:",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "PORT": str(port),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (the project's own server)
            [str(GUNICORN), "-c", "gunicorn.conf.py", "merchant_platform.wsgi:application"],
            cwd=ROOT,
            env=variables,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Gunicorn(process, url, log)
    try:
        wait_for(server.ready, "gunicorn answers /healthz")
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        connection.close()
