"""Contract: OAuth (api.md §5) through ``mpapi`` against the sandbox's authorization page and
``POST /oauth/token``: PKCE ``S256``, code exchange, refresh-token rotation, and no secret in
what the observer sees."""

import dataclasses
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest

from mpapi import BadRequest, Unauthorized
from mpapi.oauth import OAuthToken, code_challenge, new_code_verifier
from sandbox.seed import ACCOUNT_PASSWORD
from tests.contract.conftest import CLIENT_ID, CLIENT_SECRET, SELLER_ID

REDIRECT_URI = "https://platform.example/oauth/callback"
SELLER_NICKNAME = "TESTSELLERMLA"


@dataclasses.dataclass
class Consent:
    code: str
    state: str
    verifier: str


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def consent(mp, client) -> Consent:
    """Send the seller through the authorization page as a browser would; the callback's code."""
    verifier, state = new_code_verifier(), secrets.token_urlsafe(16)
    url = mp.authorization_url(
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT_URI,
        state=state,
        code_challenge=code_challenge(verifier),
    )
    query = query_of(url)
    assert query["code_challenge_method"] == "S256"
    assert query["response_type"] == "code"

    page = client.get(url)
    assert page.status_code == 200
    assert b'name="nickname"' in page.content
    assert b'name="password"' in page.content
    assert b'value="allow"' in page.content

    answer = client.post(
        url,
        {"nickname": SELLER_NICKNAME, "password": ACCOUNT_PASSWORD, "decision": "allow"},
    )
    assert answer.status_code == 302
    callback = answer["Location"]
    assert callback.startswith(f"{REDIRECT_URI}?")
    params = query_of(callback)
    assert params["state"] == state
    assert params["code"].startswith("TG-")
    return Consent(code=params["code"], state=state, verifier=verifier)


def exchange(mp, given: Consent, **overrides) -> OAuthToken:
    arguments = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "code": given.code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": given.verifier,
    }
    return mp.exchange_code(**(arguments | overrides))


def refresh(mp, refresh_token: str) -> OAuthToken:
    return mp.refresh_access_token(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=refresh_token
    )


def assert_no_secret_in(calls: list, *values: str) -> None:
    assert calls
    seen = repr([dataclasses.asdict(record) for record in calls])
    for value in values:
        assert value
        assert value not in seen


def test_the_authorization_page_refuses_a_wrong_password(mp, client):
    url = mp.authorization_url(
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT_URI,
        state="s1",
        code_challenge=code_challenge(new_code_verifier()),
    )
    answer = client.post(
        url, {"nickname": SELLER_NICKNAME, "password": "wrong", "decision": "allow"}
    )
    assert answer.status_code == 401


def test_the_authorization_page_redirects_a_denial_with_access_denied(mp, client):
    url = mp.authorization_url(client_id=CLIENT_ID, redirect_uri=REDIRECT_URI, state="s2")
    answer = client.post(url, {"decision": "deny"})
    assert answer.status_code == 302
    assert query_of(answer["Location"]) == {"error": "access_denied", "state": "s2"}


def test_exchange_code_with_the_right_verifier_answers_a_typed_token(mp, client, calls):
    given = consent(mp, client)

    token = exchange(mp, given)

    assert isinstance(token, OAuthToken)
    assert token.user_id == SELLER_ID
    assert token.access_token.startswith(f"APP_USR-{CLIENT_ID}-")
    assert token.access_token.endswith(f"-{SELLER_ID}")
    assert token.refresh_token
    assert token.refresh_token.startswith("TG-")
    assert token.expires_in == 15552000
    assert token.token_type == "bearer"
    assert set(token.scope.split()) == {"read", "write", "offline_access"}
    assert token.live_mode is False
    assert token.access_token not in repr(token)
    # The token works on the API, for the seller who consented.
    assert mp.search_stores(token.access_token, token.user_id).total == 0
    assert_no_secret_in(
        calls,
        CLIENT_SECRET,
        given.code,
        given.verifier,
        token.access_token,
        token.refresh_token,
        token.public_key,
    )


def test_a_wrong_verifier_is_an_invalid_grant(mp, client, calls):
    given = consent(mp, client)
    wrong = new_code_verifier()

    with pytest.raises(BadRequest) as error:
        exchange(mp, given, code_verifier=wrong)
    assert error.value.status == 400
    assert "invalid_grant" in error.value.codes
    assert_no_secret_in(calls, CLIENT_SECRET, given.code, wrong)
    assert given.code not in str(error.value)


def test_a_code_is_exchanged_once(mp, client, calls):
    given = consent(mp, client)
    first = exchange(mp, given)

    with pytest.raises(BadRequest) as error:
        exchange(mp, given)
    assert error.value.status == 400
    assert "invalid_grant" in error.value.codes
    assert_no_secret_in(calls, CLIENT_SECRET, given.code, given.verifier, first.access_token)


def test_a_wrong_client_secret_is_an_invalid_client(mp, client, calls):
    given = consent(mp, client)
    wrong_secret = "not-the-client-secret"

    with pytest.raises(BadRequest) as error:
        exchange(mp, given, client_secret=wrong_secret)
    assert error.value.status == 400
    assert "invalid_client" in error.value.codes
    assert_no_secret_in(calls, wrong_secret, given.code, given.verifier)
    # The code was not spent by the failed attempt.
    assert exchange(mp, given).user_id == SELLER_ID


def test_refresh_rotates_the_pair_and_revokes_the_old_one(mp, client, calls):
    first = exchange(mp, consent(mp, client))

    second = refresh(mp, first.refresh_token)

    assert second.user_id == SELLER_ID
    assert second.access_token != first.access_token
    assert second.refresh_token
    assert second.refresh_token != first.refresh_token
    assert second.expires_in == 15552000
    # The old refresh token is single-use.
    with pytest.raises(BadRequest) as error:
        refresh(mp, first.refresh_token)
    assert "invalid_grant" in error.value.codes
    # The old access token no longer works on the API; the new one does.
    with pytest.raises(Unauthorized) as error:
        mp.search_stores(first.access_token, SELLER_ID)
    assert error.value.status == 401
    assert mp.search_stores(second.access_token, SELLER_ID).total == 0
    # And the new refresh token rotates in turn.
    third = refresh(mp, second.refresh_token)
    assert third.access_token not in (first.access_token, second.access_token)
    assert_no_secret_in(
        calls,
        CLIENT_SECRET,
        first.access_token,
        first.refresh_token,
        second.access_token,
        second.refresh_token,
        third.access_token,
        third.refresh_token,
    )


def test_refresh_with_a_wrong_client_secret_is_an_invalid_client(mp, client):
    token = exchange(mp, consent(mp, client))

    with pytest.raises(BadRequest) as error:
        mp.refresh_access_token(
            client_id=CLIENT_ID, client_secret="wrong", refresh_token=token.refresh_token
        )
    assert "invalid_client" in error.value.codes
    assert refresh(mp, token.refresh_token).user_id == SELLER_ID
