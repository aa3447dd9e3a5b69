"""Deterministic fault injection on the sandbox's API requests, and its control surface.

(Faults on notifications are proven where notifications are received: test_notifications.py.)
"""

import logging
from decimal import Decimal

import pytest

from sandbox.faults import notification_fate, request_fate
from sandbox.models import Application, FaultSettings, Token
from sandbox.seed import CLIENT_ID, CLIENT_SECRET
from tests.faults import set_faults

pytestmark = pytest.mark.django_db

ORDER_PATH = "/sandbox/v1/orders/ORD01JV3AW3NFSTSTB669F41NACDX"


def test_the_fault_middleware_is_installed_once_when_the_sandbox_is_enabled(settings):
    assert settings.MIDDLEWARE.count("sandbox.faults.FaultInjectionMiddleware") == 1
    assert settings.CELERY_BEAT_SCHEDULE["sandbox-deliver-due"]["task"] == "sandbox.deliver_due"


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """The sleeps of the middleware, recorded instead of slept."""
    calls = []
    monkeypatch.setattr("sandbox.faults.sleep", calls.append)
    return calls


def probe(client):
    """A request the OAuth token view answers 400 invalid_request, unless a fault answers first."""
    return client.post("/sandbox/oauth/token", {}, content_type="application/json")


def client_credentials(client):
    return client.post(
        "/sandbox/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
        content_type="application/json",
    )


def test_fates_are_a_pure_function_of_the_seed_and_the_request_number():
    def fates(seed):
        faults = FaultSettings(seed=seed, error_rate=Decimal("0.3"), timeout_rate=Decimal("0.3"))
        return [request_fate(faults, n) for n in range(64)]

    assert fates(7) == fates(7)
    assert fates(7) != fates(8)
    kinds = {(fate.error_status is not None, fate.timeout) for fate in fates(7)}
    assert kinds == {(True, False), (False, True), (False, False)}


def test_notification_fates_are_a_pure_function_of_the_seed_too():
    def fates(seed):
        faults = FaultSettings(
            seed=seed, webhook_drop_rate=Decimal("0.2"), webhook_duplicate_rate=Decimal("0.5")
        )
        return [notification_fate(faults, n) for n in range(32)]

    assert fates(3) == fates(3)
    assert fates(3) != fates(4)
    assert {fate.dropped for fate in fates(3)} == {True, False}


def test_a_seeded_run_of_requests_replays_identically(client):
    set_faults(client, seed=42, error_rate=0.5, error_statuses=[500, 502, 503, 429])
    first_run = [probe(client).status_code for _ in range(20)]
    set_faults(client, seed=42, error_rate=0.5, error_statuses=[500, 502, 503, 429])
    second_run = [probe(client).status_code for _ in range(20)]

    assert first_run == second_run
    faults = FaultSettings.current()
    assert first_run == [request_fate(faults, n).error_status or 400 for n in range(20)]
    assert 400 in first_run
    assert set(first_run) - {400}


def test_an_error_rate_of_zero_never_fails_and_of_one_always_does(client):
    set_faults(client, error_rate=0)
    assert {probe(client).status_code for _ in range(10)} == {400}

    set_faults(client, error_rate=1, error_statuses=[503])
    responses = [probe(client) for _ in range(10)]
    assert {response.status_code for response in responses} == {503}
    assert responses[0].json() == {
        "message": "Service Unavailable (injected by the sandbox)",
        "error": "service_unavailable",
        "status": 503,
        "cause": [],
    }


def test_errors_on_the_orders_api_come_in_its_envelope(client):
    set_faults(client, error_rate=1, error_statuses=[500])
    response = client.get(ORDER_PATH)
    assert response.status_code == 500
    [error] = response.json()["errors"]
    assert error["code"] == "internal_server_error"


def test_an_injected_500_on_the_in_store_api_is_in_store_order_creation_error(client):
    set_faults(client, error_rate=1, error_statuses=[500])
    response = client.get("/sandbox/instore/qr/seller/collectors/100000001/pos/POS1/orders")
    assert response.status_code == 500
    assert response.json()["error"] == "in_store_order_creation_error"
    assert probe(client).json()["error"] == "internal_server_error"  # elsewhere


def test_an_injected_429_says_when_to_retry(client):
    set_faults(client, error_rate=1, error_statuses=[429], retry_after_seconds=7)
    response = probe(client)
    assert response.status_code == 429
    assert response["Retry-After"] == "7"


def test_control_pages_the_oauth_page_and_the_wallet_are_never_affected(client):
    set_faults(client, error_rate=1, error_statuses=[503])
    assert client.get("/sandbox/_control/faults").status_code == 200
    assert client.get("/sandbox/_control/").status_code == 200
    page = client.get(
        f"/sandbox/authorization?client_id={CLIENT_ID}&response_type=code"
        "&redirect_uri=https://platform.example/cb"
    )
    assert page.status_code == 200
    assert client.get("/sandbox/wallet/").status_code != 503
    assert client.get("/healthz").status_code != 503
    assert FaultSettings.current().request_count == 0


def test_a_path_regex_limits_the_affected_requests(client):
    set_faults(client, error_rate=1, error_statuses=[503], path_regex="^/v1/orders")
    assert probe(client).status_code == 400
    assert client.get(ORDER_PATH).status_code == 503


def test_a_timeout_processes_the_request_then_withholds_the_response(client, monkeypatch):
    set_faults(client, timeout_rate=1, timeout_seconds=30)
    withheld = []

    def withhold(seconds):
        issued = Token.objects.filter(account__user_id=900000001, via_oauth=False).exclude(
            application=None
        )
        withheld.append((seconds, issued.count()))

    monkeypatch.setattr("sandbox.faults.sleep", withhold)
    response = client_credentials(client)
    assert withheld == [(30.0, 1)]  # the token existed while the client was kept waiting
    assert response.status_code == 200


def test_latency_is_added_before_the_request_is_processed(client, sleeps):
    set_faults(client, latency_ms=250)
    assert probe(client).status_code == 400
    assert sleeps == [0.25]


def test_injected_faults_are_logged(client, caplog, sleeps):
    set_faults(client, seed=1, error_rate=1, error_statuses=[502])
    with caplog.at_level(logging.WARNING, logger="sandbox.faults"):
        probe(client)
    assert "POST /oauth/token answered 502" in caplog.text


def test_the_fault_settings_api_validates_reads_and_resets(client):
    response = client.put(
        "/sandbox/_control/faults",
        {"error_rate": 2, "error_statuses": [200], "path_regex": "("},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert {cause["code"] for cause in response.json()["cause"]} == {
        "error_rate",
        "error_statuses",
        "path_regex",
    }

    set_faults(client, seed=5, error_rate=1, error_statuses=[500])
    probe(client)
    read = client.get("/sandbox/_control/faults").json()
    assert read["seed"] == 5
    assert read["error_rate"] == 1
    assert read["request_count"] == 1

    reset = client.delete("/sandbox/_control/faults").json()
    assert reset["error_rate"] == 0
    assert reset["request_count"] == 0
    assert probe(client).status_code == 400


def test_the_control_page_sets_faults_and_the_webhook_url(client):
    page = client.get("/sandbox/_control/")
    assert "Save faults" in page.content.decode()

    saved = client.post(
        "/sandbox/_control/",
        {"action": "faults", "seed": "9", "error_rate": "0.25", "error_statuses": "502, 429"},
    )
    assert saved.status_code == 302
    faults = FaultSettings.current()
    assert (faults.seed, faults.error_rate, faults.error_statuses) == (
        9,
        Decimal("0.25"),
        [502, 429],
    )

    client.post(
        "/sandbox/_control/", {"action": "webhook", "webhook_url": "https://platform.example/wh"}
    )
    assert Application.objects.get(client_id=CLIENT_ID).webhook_url == "https://platform.example/wh"

    client.post("/sandbox/_control/", {"action": "reset-faults"})
    assert FaultSettings.current().error_rate == 0
