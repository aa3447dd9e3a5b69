"""Liveness and readiness probes."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("probe", ["/healthz", "/readyz"])
def test_probes_answer_head_as_load_balancers_send_it(client, probe):
    assert client.head(probe).status_code == 200
    assert client.post(probe).status_code == 405


def test_readyz_checks_every_dependency(client):
    """With CELERY_BROKER_URL set (CI: Redis) this connects to it; unset, tasks run in-process."""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok", "secrets": "ok"},
    }


def test_readyz_is_unavailable_when_the_broker_does_not_answer(client):
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "cache": "ok", "broker": "error", "secrets": "ok"},
    }
