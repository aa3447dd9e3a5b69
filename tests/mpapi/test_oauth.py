"""OAuth: the consent URL, PKCE, and the token exchange and refresh."""

from urllib.parse import parse_qs, urlsplit

import pytest

from mpapi.oauth import code_challenge, new_code_verifier

# RFC 7636 appendix B: the base64url of its 32 example octets, and that value's S256 challenge.
RFC7636_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC7636_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
TOKEN_ANSWER = {
    "access_token": "APP_USR-8000000000000001-051210-ffeeddccbbaa-100000001",
    "token_type": "bearer",
    "expires_in": 15552000,
    "scope": "offline_access read write",
    "user_id": 100000001,
    "refresh_token": "TG-6650a1b2c3d4e5f6-100000001",
    "public_key": "APP_USR-5e1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8",
    "live_mode": False,
}


def test_s256_challenge_of_the_rfc_7636_example():
    assert code_challenge(RFC7636_VERIFIER) == RFC7636_CHALLENGE


def test_new_verifiers_are_long_random_and_url_safe():
    first, second = new_code_verifier(), new_code_verifier()
    assert first != second
    assert 43 <= len(first) <= 128
    assert set(first) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(code_challenge(first)) == 43


@pytest.mark.parametrize("verifier", ["x" * 42, "x" * 129])
def test_verifiers_outside_43_to_128_characters_are_refused(verifier):
    with pytest.raises(ValueError, match="43 to 128"):
        code_challenge(verifier)


def test_authorization_url_on_production(make_client):
    client = make_client(base_url="https://api.mercadopago.com")
    url = client.authorization_url(
        client_id="8000000000000001",
        redirect_uri="https://platform.test/oauth/callback?x=1",
        state="st4te",
    )
    parts = urlsplit(url)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}"
        == "https://auth.mercadopago.com/authorization"
    )
    assert parse_qs(parts.query) == {
        "client_id": ["8000000000000001"],
        "response_type": ["code"],
        "platform_id": ["mp"],
        "state": ["st4te"],
        "redirect_uri": ["https://platform.test/oauth/callback?x=1"],
    }


def test_authorization_url_with_pkce_on_the_sandbox(make_client):
    client = make_client(auth_url="http://testserver/sandbox/authorization")
    url = client.authorization_url(
        client_id="8000000000000001",
        redirect_uri="https://platform.test/cb",
        state="st4te",
        code_challenge=RFC7636_CHALLENGE,
    )
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("testserver", "/sandbox/authorization")
    query = parse_qs(parts.query)
    assert query["code_challenge"] == [RFC7636_CHALLENGE]
    assert query["code_challenge_method"] == ["S256"]


def test_exchange_code_posts_the_grant_without_a_bearer(client, server):
    server.answer(200, TOKEN_ANSWER)
    token = client.exchange_code(
        client_id="8000000000000001",
        client_secret="sandbox-client-secret",
        code="TG-abc",
        redirect_uri="https://platform.test/cb",
        code_verifier=RFC7636_VERIFIER,
    )

    assert (server.last.method, server.last.url.path) == ("POST", "/sandbox/oauth/token")
    assert "Authorization" not in server.last.headers
    assert server.last_json() == {
        "grant_type": "authorization_code",
        "client_id": "8000000000000001",
        "client_secret": "sandbox-client-secret",
        "code": "TG-abc",
        "redirect_uri": "https://platform.test/cb",
        "code_verifier": RFC7636_VERIFIER,
    }
    assert (token.user_id, token.expires_in, token.live_mode) == (100000001, 15552000, False)
    assert token.refresh_token == "TG-6650a1b2c3d4e5f6-100000001"
    assert "TG-6650a1b2c3d4e5f6" not in repr(token)


def test_refresh_posts_the_refresh_grant(client, server):
    server.answer(200, TOKEN_ANSWER)
    token = client.refresh_access_token(
        client_id="8000000000000001",
        client_secret="sandbox-client-secret",
        refresh_token="TG-old",
    )
    assert server.last_json() == {
        "grant_type": "refresh_token",
        "client_id": "8000000000000001",
        "client_secret": "sandbox-client-secret",
        "refresh_token": "TG-old",
    }
    assert token.access_token == TOKEN_ANSWER["access_token"]
