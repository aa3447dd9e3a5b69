"""The sandbox's OAuth server: the authorization page, the JSON shortcut and POST /oauth/token."""

import re
from datetime import timedelta
from unittest import mock
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import RequestFactory
from django.utils import timezone

from sandbox.http import request_token
from sandbox.models import Account, Application, AuthorizationCode, Token
from sandbox.seed import ACCOUNT_PASSWORD, CLIENT_ID, CLIENT_SECRET

pytestmark = pytest.mark.django_db

REDIRECT_URI = "https://platform.example/mercadopago/callback"
SELLER_ID = 100000001  # TESTSELLERMLA
# RFC 7636, appendix B.
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
S256_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def authorization_page_url(**overrides) -> str:
    query = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "platform_id": "mp",
        "state": "st-123",
        "redirect_uri": REDIRECT_URI,
    } | overrides
    return f"/sandbox/authorization?{urlencode(query)}"


def callback_params(response) -> dict[str, str]:
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def authorize(client, **overrides) -> str:
    """A code from the JSON shortcut (the page's consent without the page)."""
    body = {"client_id": CLIENT_ID, "user_id": SELLER_ID, "redirect_uri": REDIRECT_URI} | overrides
    response = client.post(
        "/sandbox/_control/oauth/authorize", body, content_type="application/json"
    )
    assert response.status_code == 200, response.json()
    return response.json()["code"]


def token_request(client, **fields):
    body = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET} | fields
    return client.post("/sandbox/oauth/token", body, content_type="application/json")


def exchange(client, code: str, **fields):
    return token_request(
        client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI, **fields
    )


def assert_oauth_error(response, error: str) -> None:
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == error
    assert body["status"] == 400
    assert body["message"]
    assert body["cause"] == []


def live_token(access_token: str) -> Token | None:
    return request_token(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {access_token}"))


def test_a_seller_signs_in_on_the_page_and_the_code_buys_a_working_token(client):
    page = client.get(authorization_page_url())
    assert page.status_code == 200
    assert "TESTSELLERMLA" in page.content.decode()
    assert "100000007" in page.content.decode()  # every test seller is listed

    allowed = client.post(
        authorization_page_url(),
        {"nickname": "TESTSELLERMLA", "password": ACCOUNT_PASSWORD, "decision": "allow"},
    )
    params = callback_params(allowed)
    assert params["state"] == "st-123"
    assert params["code"].startswith("TG-")

    response = exchange(client, params["code"])
    assert response.status_code == 200
    body = response.json()
    assert re.fullmatch(
        rf"APP_USR-{CLIENT_ID}-\d{{6}}-[0-9a-f]{{32}}-{SELLER_ID}", body["access_token"]
    )
    assert body["refresh_token"].startswith("TG-")
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15552000
    assert body["scope"] == "read write offline_access"
    assert body["user_id"] == SELLER_ID
    assert body["public_key"].startswith("APP_USR-")
    assert body["live_mode"] is False
    token = live_token(body["access_token"])
    assert token.account.user_id == SELLER_ID
    assert token.via_oauth is True
    assert token.application.client_id == CLIENT_ID


def test_deny_redirects_with_access_denied_and_issues_no_code(client):
    denied = client.post(authorization_page_url(), {"decision": "deny"})
    assert callback_params(denied) == {"error": "access_denied", "state": "st-123"}
    assert not AuthorizationCode.objects.exists()


def test_a_wrong_password_shows_the_page_again(client):
    response = client.post(
        authorization_page_url(),
        {"nickname": "TESTSELLERMLA", "password": "wrong", "decision": "allow"},
    )
    assert response.status_code == 401
    assert "Wrong nickname or password" in response.content.decode()
    assert not AuthorizationCode.objects.exists()


def test_the_page_refuses_unknown_clients_and_unregistered_redirect_uris_without_redirecting(
    client,
):
    assert client.get(authorization_page_url(client_id="123")).status_code == 400
    Application.objects.filter(client_id=CLIENT_ID).update(redirect_uris=[REDIRECT_URI])
    assert client.get(authorization_page_url()).status_code == 200
    assert (
        client.get(authorization_page_url(redirect_uri="https://evil.example/")).status_code == 400
    )


def test_the_page_sends_other_request_errors_to_the_redirect_uri(client):
    Application.objects.filter(client_id=CLIENT_ID).update(pkce_required=True)
    params = callback_params(client.get(authorization_page_url()))
    assert params["error"] == "invalid_request"
    assert params["state"] == "st-123"
    assert callback_params(client.get(authorization_page_url(response_type="token")))["error"] == (
        "unsupported_response_type"
    )


def test_the_json_shortcut_answers_the_code_and_where_the_browser_would_go(client):
    response = client.post(
        "/sandbox/_control/oauth/authorize",
        {"client_id": CLIENT_ID, "user_id": SELLER_ID, "redirect_uri": REDIRECT_URI, "state": "x"},
        content_type="application/json",
    )
    body = response.json()
    assert body["redirect_to"] == f"{REDIRECT_URI}?code={body['code']}&state=x"


def test_the_token_endpoint_also_accepts_a_form_encoded_body(client):
    code = authorize(client)
    response = client.post(
        "/sandbox/oauth/token",
        {
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "code": code,
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert response.status_code == 200
    assert response.json()["user_id"] == SELLER_ID


def test_pkce_s256_accepts_the_right_verifier_only(client):
    code = authorize(client, code_challenge=S256_CHALLENGE, code_challenge_method="S256")
    assert_oauth_error(exchange(client, code), "invalid_request")  # no verifier
    assert_oauth_error(exchange(client, code, code_verifier=VERIFIER[::-1]), "invalid_grant")
    assert exchange(client, code, code_verifier=VERIFIER).status_code == 200


def test_pkce_plain_compares_the_verifier_itself(client):
    code = authorize(client, code_challenge=VERIFIER, code_challenge_method="plain")
    assert_oauth_error(exchange(client, code, code_verifier=S256_CHALLENGE), "invalid_grant")
    assert exchange(client, code, code_verifier=VERIFIER).status_code == 200


def test_an_application_that_requires_pkce_gets_no_code_without_a_challenge(client):
    Application.objects.filter(client_id=CLIENT_ID).update(pkce_required=True)
    response = client.post(
        "/sandbox/_control/oauth/authorize",
        {"client_id": CLIENT_ID, "user_id": SELLER_ID, "redirect_uri": REDIRECT_URI},
        content_type="application/json",
    )
    assert_oauth_error(response, "invalid_request")
    assert_oauth_error(
        client.post(
            "/sandbox/_control/oauth/authorize",
            {
                "client_id": CLIENT_ID,
                "user_id": SELLER_ID,
                "redirect_uri": REDIRECT_URI,
                "code_challenge": S256_CHALLENGE,
                "code_challenge_method": "S512",
            },
            content_type="application/json",
        ),
        "invalid_request",
    )


def test_a_code_is_single_use(client):
    code = authorize(client)
    assert exchange(client, code).status_code == 200
    assert_oauth_error(exchange(client, code), "invalid_grant")
    assert Token.objects.filter(via_oauth=True).count() == 1


def test_a_code_lives_ten_minutes(client):
    issued_at = timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=issued_at):
        fresh, stale = authorize(client), authorize(client)
    with mock.patch(
        "django.utils.timezone.now", return_value=issued_at + timedelta(minutes=9, seconds=59)
    ):
        assert exchange(client, fresh).status_code == 200
    with mock.patch("django.utils.timezone.now", return_value=issued_at + timedelta(minutes=10)):
        assert_oauth_error(exchange(client, stale), "invalid_grant")


def test_a_code_is_bound_to_its_redirect_uri_and_its_client(client):
    code = authorize(client)
    assert_oauth_error(
        token_request(
            client,
            grant_type="authorization_code",
            code=code,
            redirect_uri="https://platform.example/other",
        ),
        "invalid_grant",
    )
    Application.objects.create(
        client_id="8000000000000002",
        client_secret="other-secret",
        owner=Account.objects.get(user_id=900000001),
        name="Another application",
        webhook_secret="other",
    )
    other_client = exchange(
        client, code, client_id="8000000000000002", client_secret="other-secret"
    )
    assert_oauth_error(other_client, "invalid_grant")
    assert exchange(client, code).status_code == 200  # the failures did not spend it


def test_a_refresh_rotates_both_tokens_and_the_old_pair_is_dead(client):
    first = exchange(client, authorize(client)).json()

    response = token_request(
        client, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert response.status_code == 200
    second = response.json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["user_id"] == SELLER_ID
    assert live_token(second["access_token"]).via_oauth is True
    assert live_token(first["access_token"]) is None

    reused = token_request(client, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert_oauth_error(reused, "invalid_grant")
    assert live_token(second["access_token"]) is not None


def test_a_refresh_may_narrow_the_scope_but_never_widen_it(client):
    refresh_token = exchange(client, authorize(client, scope="read offline_access")).json()[
        "refresh_token"
    ]
    widened = token_request(
        client, grant_type="refresh_token", refresh_token=refresh_token, scope="read write"
    )
    assert_oauth_error(widened, "invalid_scope")
    narrowed = token_request(
        client, grant_type="refresh_token", refresh_token=refresh_token, scope="read"
    )
    assert narrowed.json()["scope"] == "read"
    assert "refresh_token" not in narrowed.json()  # no offline_access, no refresh token


def test_client_credentials_give_the_integrator_its_own_token(client):
    response = token_request(client, grant_type="client_credentials")
    body = response.json()
    assert body["user_id"] == 900000001
    assert "refresh_token" not in body
    assert live_token(body["access_token"]).via_oauth is False


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"client_secret": "wrong"}, "invalid_client"),
        ({"client_id": "999"}, "invalid_client"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": ""}, "invalid_request"),
        ({"grant_type": "authorization_code", "redirect_uri": REDIRECT_URI}, "invalid_request"),
        (
            {"grant_type": "authorization_code", "code": "TG-nope", "redirect_uri": REDIRECT_URI},
            "invalid_grant",
        ),
        ({"grant_type": "refresh_token", "refresh_token": "TG-nope"}, "invalid_grant"),
        ({"grant_type": "client_credentials", "scope": "admin"}, "invalid_scope"),
    ],
)
def test_token_endpoint_errors(client, fields, error):
    assert_oauth_error(
        token_request(client, **{"grant_type": "client_credentials"} | fields), error
    )


def test_a_body_that_is_not_json_is_an_invalid_request(client):
    response = client.post("/sandbox/oauth/token", "{", content_type="application/json")
    assert_oauth_error(response, "invalid_request")
