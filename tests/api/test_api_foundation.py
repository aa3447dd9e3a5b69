"""What every endpoint shares: throttling per token, the error format, session access."""

from django.test import Client, override_settings

from tests.api.conftest import api_client, issue_token
from tests.factories import make_member, make_user


@override_settings(API_THROTTLE_RATE="3/min")
def test_each_app_has_its_own_request_budget(tenant_a):
    first, second = api_client(issue_token(tenant_a)), api_client(issue_token(tenant_a))  # 2 apps

    statuses = [first.get("/api/v1/tenant").status_code for _ in range(4)]
    throttled = first.get("/api/v1/tenant")

    assert statuses == [200, 200, 200, 429]
    assert throttled.json()["code"] == "rate_limited"
    assert int(throttled.headers["Retry-After"]) > 0
    assert second.get("/api/v1/tenant").status_code == 200


def test_no_credentials_is_401_with_a_bearer_challenge(db):
    response = Client().get("/api/v1/tenant")

    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "message": "Authentication credentials were not provided.",
        "request_id": response["Request-Id"],
    }
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_is_401(db):
    response = api_client("no-such-token").get("/api/v1/tenant")

    assert response.status_code == 401
    assert set(response.json()) == {"code", "message", "request_id"}


def test_an_unsupported_method_answers_in_the_error_format(api_a):
    response = api_a.delete("/api/v1/tenant")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_a_signed_in_member_acts_for_the_session_tenant_in_the_browsable_api(tenant_a, tenant_b):
    browser = Client()
    browser.force_login(make_member(tenant_a, "viewer"))

    as_json = browser.get("/api/v1/tenant")
    as_page = browser.get("/api/v1/tenant", headers={"Accept": "text/html"})

    assert as_json.json()["slug"] == tenant_a.slug
    assert as_page.status_code == 200
    assert b"Seller A" in as_page.content
    assert b"Seller B" not in as_page.content


def test_platform_staff_must_choose_a_tenant_before_using_the_api(tenant_a):
    browser = Client()
    browser.force_login(make_user(is_staff=True, is_platform_staff=True))

    response = browser.get("/api/v1/tenant")

    assert response.status_code == 403
    assert response.json()["code"] == "tenant_required"


def test_a_path_no_route_matches_is_a_json_404(api_a):
    response = api_a.get("/api/v1/orders/not-a-uuid")

    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "Not found.",
        "request_id": response["Request-Id"],
    }
