"""Production logging: one line of JSON per event, secrets masked."""

import json
import logging

import pytest

from merchant_platform.logging import OneLineJSONFormatter, redact
from tenants.scope import tenant_scope
from tests.factories import make_tenant

TOKEN = "APP_USR-1234567890123456-112233-0123456789abcdef0123456789abcdef-987654321"


def _format(message, *args, exc_info=None):
    record = logging.LogRecord("merchant", logging.ERROR, __file__, 1, message, args, exc_info)
    return OneLineJSONFormatter().format(record)


def test_an_event_with_a_traceback_is_one_line_of_json():
    try:
        raise ValueError(f"Mercado Pago refused token {TOKEN}\nsecond line")
    except ValueError:
        import sys

        line = _format("call failed for %s", "seller 7", exc_info=sys.exc_info())
    assert "\n" not in line
    event = json.loads(line)
    assert event["level"] == "ERROR"
    assert event["message"] == "call failed for seller 7"
    assert "Traceback" in event["exception"]
    assert "ValueError" in event["exception"]
    assert TOKEN not in line


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Bearer {TOKEN}",
        f"token {TOKEN} expired",
        "refresh_token=TG-abcdef0123456789-99&grant_type=refresh_token",
        '{"client_secret": "s3cr3t-value", "client_id": "123"}',
        "Issuing token {'access_token': 's3cr3t-value', 'token_type': 'Bearer'}",  # a dict's repr
        "password=hunter2-long",
        "code_verifier: Zm9vYmFyYmF6cXV4cXV1eA",
    ],
)
def test_secrets_are_masked(text):
    masked = redact(text)
    for secret in (TOKEN, "TG-abcdef0123456789-99", "s3cr3t-value", "hunter2-long", "Zm9vYmF"):
        assert secret not in masked
    assert "[redacted]" in masked


def test_ordinary_text_is_kept():
    assert redact("order ORD01JYHP5MGKC5PMPZBHSW42LLPA processed for 12.50") == (
        "order ORD01JYHP5MGKC5PMPZBHSW42LLPA processed for 12.50"
    )
    assert redact('{"client_id": "123"}') == '{"client_id": "123"}'


@pytest.mark.django_db
def test_events_name_the_tenant_in_scope():
    tenant = make_tenant()
    with tenant_scope(tenant):
        assert json.loads(_format("hello"))["tenant_id"] == tenant.pk
    assert "tenant_id" not in json.loads(_format("hello"))


def test_the_configured_root_handler_uses_the_one_line_formatter():
    handlers = logging.getLogger().handlers
    assert any(isinstance(handler.formatter, OneLineJSONFormatter) for handler in handlers)


def test_every_record_is_masked_as_it_is_made_whatever_handler_reads_it(caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("oauthlib.example").debug(
        "Issuing token to client id %r, %r.", "app", {"access_token": "s3cr3t-value"}
    )
    assert "s3cr3t-value" not in caplog.records[-1].getMessage()
    assert "[redacted]" in caplog.text
