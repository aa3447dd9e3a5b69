"""Metrics across processes: two web processes' counters add up in one scrape, the Celery queue's
length is read from the Redis broker, and Sentry (only with ``SENTRY_DSN``) gets no secret."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sentry_sdk
from django.conf import settings as django_settings

from merchant_platform.celery import app as celery_app
from merchant_platform.error_reporting import scrub_event
from tests.ops.test_metrics_endpoint import TOKEN, scrape, value

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
SECRET_TOKEN = "APP_USR-1234567890123456-010203-abcdefabcdefabcdefabcdefabcdef-123456"

# A web process of the test settings answering /healthz ``n`` times (through the whole
# middleware stack, as gunicorn's workers do), with the environment's PROMETHEUS_MULTIPROC_DIR.
REQUESTS = """
import sys, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="localhost")
for _ in range(int(sys.argv[1])):
    assert client.get("/healthz").status_code == 200
"""

# A process with SENTRY_DSN: what it would send, captured instead of sent (no network).
REPORTS = """
import json, django
django.setup()
import sentry_sdk
from sentry_sdk.transport import Transport
client = sentry_sdk.get_client()
sent = []
class Capture(Transport):
    def capture_envelope(self, envelope):
        sent.append(envelope)
client.transport = Capture(client.options)
try:
    raise RuntimeError("refresh refused for Bearer " + %r)
except RuntimeError:
    sentry_sdk.capture_exception()
sentry_sdk.flush()
print(json.dumps({
    "integrations": sorted(client.integrations),
    "send_default_pii": client.options["send_default_pii"],
    "events": [i.payload.json for e in sent for i in e.items if i.type == "event"],
}))
"""


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **extra}


@pytest.fixture
def metrics(settings) -> None:
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_ADDRESSES = []


def test_two_processes_counters_add_up_in_one_scrape(client, metrics, settings, tmp_path):
    env = _env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    processes = [
        subprocess.Popen(  # noqa: S603 (the project's own code)
            [sys.executable, "-c", REQUESTS, str(count)], cwd=ROOT, env=env
        )
        for count in (3, 4)
    ]
    assert [process.wait(timeout=120) for process in processes] == [0, 0]
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)

    samples = scrape(client)

    assert {path.name for path in tmp_path.glob("counter_*.db")} == {
        f"counter_{process.pid}.db" for process in processes
    }
    assert value(samples, "http_requests_total", method="GET", route="healthz", status="2xx") == 7
    count = "http_request_duration_seconds_count"
    assert value(samples, count, method="GET", route="healthz") == 7


def test_the_queue_length_is_read_from_the_redis_broker(client, metrics):
    if not django_settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs a Redis broker (CELERY_BROKER_URL=redis://...)")
    queue = celery_app.conf.task_default_queue
    with celery_app.connection_for_write() as connection:
        connection.default_channel.queue_purge(queue)
        try:
            empty = scrape(client)
            for priority in (None, None, 9):  # a prioritised message sits in a list of its own
                celery_app.send_task(
                    "tests.never-run", queue=queue, priority=priority, connection=connection
                )
            waiting = scrape(client)
        finally:
            connection.default_channel.queue_purge(queue)

    assert value(empty, "celery_queue_length", queue=queue) == 0
    assert value(waiting, "celery_queue_length", queue=queue) == 3
    assert value(waiting, "metrics_source_up", source="broker") == 1


def test_before_send_masks_tokens_and_secret_values_in_an_event():
    event = {
        "exception": {"values": [{"type": "TokenError", "value": f"refresh of {SECRET_TOKEN}"}]},
        "request": {
            "headers": {"Authorization": "Bearer partner-token-value", "Accept": "*/*"},
            "query_string": [["access_token", "query-token-value"], ["page", "2"]],
        },
        "breadcrumbs": {"values": [{"message": "POST /oauth/token client_secret=s3cr3t-value"}]},
        "extra": {"refresh_token": "TG-refresh-token-value", "order": "ORD01"},
    }

    scrubbed = json.dumps(scrub_event(event, {}))

    for secret in (
        SECRET_TOKEN,
        "partner-token-value",
        "query-token-value",
        "s3cr3t-value",
        "TG-refresh-token-value",
    ):
        assert secret not in scrubbed
    assert '"page", "2"' in scrubbed
    assert "ORD01" in scrubbed
    assert "*/*" in scrubbed


def test_errors_are_reported_only_with_a_dsn_and_without_secrets():
    assert not sentry_sdk.get_client().is_active()  # these settings have no SENTRY_DSN

    reported = subprocess.run(  # noqa: S603 (the project's own code)
        [sys.executable, "-c", REPORTS % SECRET_TOKEN],
        cwd=ROOT,
        env=_env(SENTRY_DSN="https://public@sentry.invalid/1"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    result = json.loads(reported.stdout.strip().splitlines()[-1])
    assert {"django", "celery"} <= set(result["integrations"])
    assert result["send_default_pii"] is False
    [event] = result["events"]
    assert event["exception"]["values"][0]["type"] == "RuntimeError"
    assert SECRET_TOKEN not in json.dumps(event)
    assert "[redacted]" in event["exception"]["values"][0]["value"]
