"""Every line a real ``celery worker`` and ``celery beat`` print is JSON (issue 16, point 5): the
startup, Celery's own "received" and "succeeded", the warm shutdown and Python's warnings; and the
lines of a task carry the id of the request that published it across processes.

The worker (prefork, as in production) and beat run as processes of their own on this test's
database and a broker queue of this test's own (``tests/ops/logs_process_settings.py``); they
need a broker that processes share (``CELERY_BROKER_URL=redis://…``, which CI sets), and are
skipped without one.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from merchant_platform import request_context
from merchant_platform.celery import app as celery_app

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
APP = (str(Path(sys.executable).parent / "celery"), "-A", "merchant_platform")
NO_CHATTER = ("--without-gossip", "--without-mingle", "--without-heartbeat")


class Process:
    def __init__(self, command: list[str], env: dict[str, str], logs: Path) -> None:
        self.stdout, self.stderr = logs.with_suffix(".out"), logs.with_suffix(".err")
        self.popen = subprocess.Popen(  # noqa: S603 (the project's own command)
            command,
            cwd=ROOT,
            env=env,
            stdout=self.stdout.open("wb"),
            stderr=self.stderr.open("wb"),
            start_new_session=True,
        )

    def lines(self) -> list[str]:
        text = self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")
        return [line for line in text.splitlines() if line.strip()]

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines()):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no line with {text!r}: {self.lines()[-20:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it: a warm shutdown."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)


@pytest.fixture
def celery_processes(
    transactional_db, settings, tmp_path
) -> Iterator[tuple[Process, Process, str]]:
    """A worker and beat, and the queue of this test's own that they use."""
    broker_url = settings.CELERY_BROKER_URL
    if not broker_url.startswith(("redis://", "rediss://")):
        pytest.skip(
            "a Celery worker process needs a shared broker: set CELERY_BROKER_URL=redis://…"
        )
    queue = f"logs-{uuid.uuid4().hex[:8]}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")} | {
        "DJANGO_SETTINGS_MODULE": "tests.ops.logs_process_settings",
        "LOGS_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        "LOGS_TEST_QUEUE": queue,
        "CELERY_BROKER_URL": broker_url,
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    options = ("--queues", queue, "--hostname", queue, "--concurrency", "1", *NO_CHATTER)
    worker = Process([*APP, "worker", *options], env, tmp_path / "worker")
    beat = Process(
        [*APP, "beat", "--schedule", str(tmp_path / "schedule")],
        env,
        tmp_path / "beat",
    )
    try:
        yield worker, beat, queue
    finally:
        beat.stop()
        worker.stop()
        with celery_app.connection_for_write() as broker:
            broker.default_channel.client.delete(queue)
        connection.close()


def test_worker_and_beat_print_only_json_and_tasks_carry_the_request_id(celery_processes):
    worker, beat, queue = celery_processes
    worker.wait_for(" ready.")
    token = request_context.start(request_id="caller-7f3a")  # as during a web request
    try:
        task_id = celery_app.send_task("orders.sweep_notifications", queue=queue).id
    finally:
        request_context.end(token)
    worker.wait_for(f"{task_id}] succeeded")
    beat.wait_for("beat: Starting")
    beat.stop()
    worker.stop()

    events = {}
    for process, name in ((worker, "worker"), (beat, "beat")):
        lines = process.lines()
        assert lines, name
        for line in lines:
            try:
                events.setdefault(name, []).append(json.loads(line))
            except ValueError:
                pytest.fail(f"a line of {name} is not JSON: {line!r}")
    messages = [event["message"] for event in events["worker"]]
    assert any(message.startswith("celery worker starting") for message in messages)
    assert any("Warm shutdown" in message for message in messages)
    [succeeded] = [
        event for event in events["worker"] if f"{task_id}] succeeded" in event["message"]
    ]
    assert succeeded["request_id"] == "caller-7f3a"
    assert (succeeded["task_id"], succeeded["task"]) == (task_id, "orders.sweep_notifications")
    assert any(event["message"].startswith("celery beat starting") for event in events["beat"])
