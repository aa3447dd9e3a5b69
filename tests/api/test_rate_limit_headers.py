"""Rate limits (issue 20, "Missing"): the budget is per grant (an app acting for one seller), so
minting another token does not reset it, and per signed-in user; every answer counted against it
carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``, and a 429 is the
error format with code ``rate_limited`` and ``Retry-After``."""

import base64
import uuid

import pytest
import time_machine
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client

from partners.services import install_application
from tests.api.conftest import ALL_SCOPES, api_client
from tests.factories import make_member

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("three_a_minute")]


@pytest.fixture
def three_a_minute(settings):
    """3 requests a minute, counted from nothing: budgets of earlier tests (whose grants had the
    same ids) are forgotten. Only this process's memory is cleared: clearing a shared Redis
    would empty other processes' data."""
    settings.API_THROTTLE_RATE = "3/min"
    cache = caches["default"]
    assert isinstance(cache, LocMemCache)
    cache.clear()
    with time_machine.travel("2026-12-06 12:00:10Z", tick=False):  # one window: 12:00-12:01
        yield


def client_credentials(tenant):
    """An installed app; a function that mints a new token of it each call."""
    application, secret = install_application(
        tenant=tenant, name="ERP", requested=ALL_SCOPES, user=None
    )
    basic = base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()

    def mint() -> Client:
        issued = Client().post(
            "/o/token/",
            {"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert issued.status_code == 200, issued.content
        return api_client(issued.json()["access_token"])

    return mint


def limits(answer) -> tuple[str, str, str]:
    return answer["RateLimit-Limit"], answer["RateLimit-Remaining"], answer["RateLimit-Reset"]


def test_every_counted_answer_says_where_the_budget_stands(tenant_a):
    api = client_credentials(tenant_a)()

    answers = [api.get("/api/v1/tenant") for _ in range(2)]
    missing = api.get(f"/api/v1/orders/{uuid.uuid4()}")  # an error counts too

    assert [limits(answer) for answer in [*answers, missing]] == [
        ("3", "2", "50"),
        ("3", "1", "50"),
        ("3", "0", "50"),  # 50 seconds until 12:01
    ]
    assert missing.status_code == 404


def test_a_spent_budget_is_a_429_in_the_error_format(tenant_a):
    api = client_credentials(tenant_a)()
    for _ in range(3):
        api.get("/api/v1/tenant")

    answer = api.get("/api/v1/tenant")

    assert answer.status_code == 429
    assert answer.json() == {
        "code": "rate_limited",
        "message": "Too many requests. Expected available in 50 seconds.",
        "request_id": answer["Request-Id"],
    }
    assert limits(answer) == ("3", "0", "50")
    assert int(answer["Retry-After"]) >= 50


def test_minting_a_new_token_does_not_reset_the_budget(tenant_a):
    mint = client_credentials(tenant_a)
    first = mint()
    assert [first.get("/api/v1/tenant").status_code for _ in range(4)] == [200, 200, 200, 429]

    second = mint()

    assert second.get("/api/v1/tenant").status_code == 429


def test_each_grant_and_each_signed_in_user_has_its_own_budget(tenant_a, tenant_b):
    spent = client_credentials(tenant_a)()
    for _ in range(4):
        spent.get("/api/v1/tenant")
    other_app = client_credentials(tenant_a)()
    other_seller = client_credentials(tenant_b)()
    browser = Client()
    browser.force_login(make_member(tenant_a, "viewer"))

    for client in (other_app, other_seller, browser):
        answer = client.get("/api/v1/tenant")
        assert (answer.status_code, answer["RateLimit-Remaining"]) == (200, "2")
