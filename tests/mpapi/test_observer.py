"""Every attempt is observed, with tokens and secrets redacted."""

import httpx
import pytest

from mpapi import BadRequest, CallRecord, TransportFailure, Unauthorized
from mpapi.observe import MASK, redact
from mpapi.stores import PosCreate
from tests.mpapi.conftest import SELLER_TOKEN

ORDER_ID = "ORD01JQ4S4KY8HWQ6NA5PXB65B3D3"
CLIENT_SECRET = "client-secret-value"
CODE = "TG-65f0c1d2e3-100000001"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
NEW_ACCESS_TOKEN = "APP_USR-8000000000000001-051210-ffeeddccbbaa-100000001"
NEW_REFRESH_TOKEN = "TG-6650a1b2c3d4e5f6-100000001"
PUBLIC_KEY = "APP_USR-5e1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8"
SECRETS = [
    SELLER_TOKEN,
    CLIENT_SECRET,
    CODE,
    VERIFIER,
    NEW_ACCESS_TOKEN,
    NEW_REFRESH_TOKEN,
    PUBLIC_KEY,
]


def test_each_attempt_is_recorded(client, server, records):
    server.answer(503, text="unavailable")
    server.answer(200, {"id": ORDER_ID, "status": "created"})

    client.cancel_order(SELLER_TOKEN, ORDER_ID, idempotency_key="order-1-cancel")

    assert [(r.method, r.path, r.status, r.attempt) for r in records] == [
        ("POST", f"/v1/orders/{ORDER_ID}/cancel", 503, 1),
        ("POST", f"/v1/orders/{ORDER_ID}/cancel", 200, 2),
    ]
    assert all(isinstance(record, CallRecord) for record in records)
    assert {record.idempotency_key for record in records} == {"order-1-cancel"}
    assert records[0].response_body == "unavailable"
    assert records[1].response_body == {"id": ORDER_ID, "status": "created"}
    assert all(record.duration_ms >= 0 for record in records)


def test_a_transport_failure_is_recorded_without_status(client, server, records):
    server.fail(httpx.ConnectError)
    with pytest.raises(TransportFailure):
        client.create_pos(SELLER_TOKEN, _pos())

    (record,) = records
    assert (record.status, record.error, record.response_body) == (None, "ConnectError", None)
    assert record.request_body["external_id"] == "POS1"


def test_the_oauth_exchange_leaves_no_secret_in_the_records(client, server, records):
    server.answer(
        200,
        {
            "access_token": NEW_ACCESS_TOKEN,
            "token_type": "bearer",
            "expires_in": 15552000,
            "scope": "offline_access read write",
            "user_id": 100000001,
            "refresh_token": NEW_REFRESH_TOKEN,
            "public_key": PUBLIC_KEY,
            "live_mode": False,
        },
    )
    token = client.exchange_code(
        client_id="8000000000000001",
        client_secret=CLIENT_SECRET,
        code=CODE,
        redirect_uri="https://platform.test/oauth/callback",
        code_verifier=VERIFIER,
    )

    assert token.access_token == NEW_ACCESS_TOKEN
    (record,) = records
    assert record.request_body == {
        "grant_type": "authorization_code",
        "client_id": "8000000000000001",
        "client_secret": MASK,
        "code": MASK,
        "redirect_uri": "https://platform.test/oauth/callback",
        "code_verifier": MASK,
    }
    assert record.response_body["access_token"] == MASK
    assert record.response_body["refresh_token"] == MASK
    assert record.response_body["public_key"] == MASK
    assert record.response_body["user_id"] == 100000001
    _assert_no_secret(records)
    assert NEW_ACCESS_TOKEN not in repr(token)


def test_the_refresh_leaves_no_secret_in_the_records(client, server, records):
    server.answer(400, {"message": "invalid refresh", "error": "invalid_grant", "status": 400})
    with pytest.raises(BadRequest, match="invalid_grant"):
        client.refresh_access_token(
            client_id="8000000000000001",
            client_secret=CLIENT_SECRET,
            refresh_token=NEW_REFRESH_TOKEN,
        )
    assert records[0].request_body["refresh_token"] == MASK
    _assert_no_secret(records)


def test_a_token_echoed_by_the_server_is_redacted(client, server, records):
    server.answer(
        401,
        {
            "errors": [
                {"code": "unauthorized", "message": f"bad token {SELLER_TOKEN}", "details": []}
            ]
        },
    )
    with pytest.raises(Unauthorized):
        client.get_order(SELLER_TOKEN, ORDER_ID)

    _assert_no_secret(records)
    assert records[0].response_body["errors"][0]["code"] == "unauthorized"  # error codes stay


def test_redaction_is_recursive_and_keeps_nested_error_codes():
    body = {
        "code": "TG-top-level-authorization-code",
        "data": [{"access_token": "a", "nested": {"client_secret": "b", "Authorization": "c"}}],
        "cause": [{"code": "INVALID_NAME"}],
        "note": "called with opaque-secret",
        "missing": {"refresh_token": None},
    }
    assert redact(body, ["opaque-secret"]) == {
        "code": MASK,
        "data": [{"access_token": MASK, "nested": {"client_secret": MASK, "Authorization": MASK}}],
        "cause": [{"code": "INVALID_NAME"}],
        "note": f"called with {MASK}",
        "missing": {"refresh_token": None},
    }


def test_without_an_observer_calls_still_work(make_client, server):
    client = make_client(observer=None)
    server.answer(200, {"id": ORDER_ID})
    assert client.get_order(SELLER_TOKEN, ORDER_ID).id == ORDER_ID


def _assert_no_secret(records):
    for record in records:
        for secret in SECRETS:
            assert secret not in repr(record)


def _pos():
    return PosCreate(name="Caja 1", external_id="POS1", store_id=1, external_store_id="STORE1")
