"""The sandbox alone as a WSGI application (sandbox/wsgi.py), which the platform reaches in-process
through ``merchant_platform.mercadopago.in_process_transport``: the sandbox's routes and the
middleware it relies on, none of the project's."""

import httpx
import pytest
from django.conf import settings
from django.urls import reverse

from merchant_platform.mercadopago import in_process_transport
from sandbox.seed import CLIENT_ID, seller_access_token
from tests.faults import set_faults

SELLER = {"Authorization": f"Bearer {seller_access_token('MLA')}"}
AUTHORIZATION = (
    f"/sandbox/authorization?client_id={CLIENT_ID}&response_type=code"
    "&redirect_uri=http://127.0.0.1:8000/connect/callback"
)


@pytest.fixture
def sandbox(db):
    with httpx.Client(transport=in_process_transport(), base_url=settings.SITE_URL) as http:
        yield http


def test_it_serves_the_sandbox_under_its_prefix_and_nothing_of_the_platform(sandbox):
    assert sandbox.get("/sandbox/users/me", headers=SELLER).json()["id"] == 100000001
    assert sandbox.get("/healthz").status_code == 404
    assert sandbox.get("/api/v1/orders").status_code == 404


def test_its_api_calls_meet_the_faults_set_on_the_control_api(sandbox, client):
    set_faults(client, error_rate="1", error_statuses=[503])

    answer = sandbox.get("/sandbox/users/me", headers=SELLER)

    assert answer.status_code == 503
    assert answer.json()["error"] == "service_unavailable"


def test_the_caller_reverses_its_own_urls_while_an_answer_is_open(sandbox):
    with sandbox.stream("GET", "/sandbox/users/me", headers=SELLER) as answer:
        assert reverse("healthz") == "/healthz"
        assert answer.status_code == 200


def test_its_pages_render_and_the_sign_in_form_keeps_its_csrf_protection(sandbox):
    page = sandbox.get(AUTHORIZATION)
    assert page.status_code == 200
    assert "csrftoken" in page.cookies
    assert sandbox.get("/sandbox/_control/").status_code == 200

    without_token = sandbox.post(AUTHORIZATION, data={"decision": "allow"})
    assert without_token.status_code == 403
