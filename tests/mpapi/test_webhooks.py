"""The x-signature of Mercado Pago webhooks (api.md §6.1)."""

import hashlib
import hmac
from datetime import timedelta

import pytest

from mpapi.webhooks import InvalidSignature, manifest, parse_signature, sign, verify

SECRET = "sandbox-webhook-secret"
DATA_ID = "ORD01JQ4S4KY8HWQ6NA5PXB65B3D3"
REQUEST_ID = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e"
TS_MS = "1742505638683"
NOW = 1742505638.683


def test_the_manifest_lower_cases_alphanumeric_ids_and_drops_absent_pairs():
    assert manifest(data_id=DATA_ID, request_id=REQUEST_ID, ts=TS_MS) == (
        f"id:{DATA_ID.lower()};request-id:{REQUEST_ID};ts:{TS_MS};"
    )
    assert manifest(data_id="92937960454", request_id=None, ts="1704908010") == (
        "id:92937960454;ts:1704908010;"
    )
    assert manifest(data_id="Not-Alnum_ID", request_id="", ts="1") == "id:Not-Alnum_ID;ts:1;"


def test_a_signature_made_independently_verifies():
    text = f"id:{DATA_ID.lower()};request-id:{REQUEST_ID};ts:{TS_MS};"
    v1 = hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()
    header = f"ts={TS_MS},v1={v1}"

    signature = verify(SECRET, header=header, data_id=DATA_ID, request_id=REQUEST_ID)
    assert (signature.ts, signature.v1) == (TS_MS, v1)
    assert sign(SECRET, data_id=DATA_ID, request_id=REQUEST_ID, ts=TS_MS) == header


def test_tampered_data_id_is_refused():
    header = sign(SECRET, data_id=DATA_ID, request_id=REQUEST_ID, ts=TS_MS)
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(
            SECRET, header=header, data_id="ORD01JQ4S4KY8HWQ6NA5PXB65B3D4", request_id=REQUEST_ID
        )


def test_tampered_request_id_or_ts_is_refused():
    header = sign(SECRET, data_id=DATA_ID, request_id=REQUEST_ID, ts=TS_MS)
    with pytest.raises(InvalidSignature):
        verify(SECRET, header=header, data_id=DATA_ID, request_id="another-request")
    with pytest.raises(InvalidSignature):
        verify(
            SECRET,
            header=header.replace(f"ts={TS_MS}", "ts=1742505638684"),
            data_id=DATA_ID,
            request_id=REQUEST_ID,
        )


def test_wrong_secret_is_refused():
    header = sign("another-secret", data_id=DATA_ID, request_id=REQUEST_ID, ts=TS_MS)
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(SECRET, header=header, data_id=DATA_ID, request_id=REQUEST_ID)


@pytest.mark.parametrize(
    "header",
    ["", "garbage", "ts=,v1=abc", "ts=123", "v1=abcdef", "ts=abc,v1=abcdef", "ts=123,v1=xyz"],
)
def test_malformed_headers_are_refused(header):
    with pytest.raises(InvalidSignature, match="malformed"):
        parse_signature(header)
    with pytest.raises(InvalidSignature, match="malformed"):
        verify(SECRET, header=header, data_id=DATA_ID, request_id=REQUEST_ID)


def test_parts_may_come_in_any_order_with_spaces():
    header = sign(SECRET, data_id=DATA_ID, request_id=REQUEST_ID, ts=TS_MS)
    ts_part, v1_part = header.split(",")
    verify(SECRET, header=f" {v1_part} , {ts_part} ", data_id=DATA_ID, request_id=REQUEST_ID)


@pytest.mark.parametrize("ts", [TS_MS, "1742505638"])
def test_tolerance_accepts_milliseconds_or_seconds(ts):
    header = sign(SECRET, data_id=DATA_ID, request_id=REQUEST_ID, ts=ts)
    verify(
        SECRET,
        header=header,
        data_id=DATA_ID,
        request_id=REQUEST_ID,
        tolerance=timedelta(minutes=5),
        now=NOW + 299,
    )


@pytest.mark.parametrize("ts", [TS_MS, "1742505638"])
def test_a_stale_timestamp_is_refused(ts):
    header = sign(SECRET, data_id=DATA_ID, request_id=REQUEST_ID, ts=ts)
    with pytest.raises(InvalidSignature, match="away from now"):
        verify(
            SECRET,
            header=header,
            data_id=DATA_ID,
            request_id=REQUEST_ID,
            tolerance=timedelta(minutes=5),
            now=NOW + 301,
        )


def test_sign_defaults_to_a_millisecond_timestamp():
    header = sign(SECRET, data_id=DATA_ID, request_id=REQUEST_ID)
    signature = verify(
        SECRET,
        header=header,
        data_id=DATA_ID,
        request_id=REQUEST_ID,
        tolerance=timedelta(minutes=1),
    )
    assert len(signature.ts) == 13
