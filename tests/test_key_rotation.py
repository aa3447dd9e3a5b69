"""Key rotation re-encrypts every encrypted field of every app, of every seller, in one command;
an order's events never depend on decrypting a partner's secret, and a secret that no key
decrypts is reported (command, readiness) and delays its deliveries without losing them.

Sellers are connected to the sandbox (one by OAuth, so a refresh token is stored too), partners'
endpoints are registered through the API and receive real HTTP deliveries (tests/http_receiver.py);
orders are created in the sandbox, which moves them pending -> created (``order.created``).
"""

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from partners import tasks
from partners.models import WebhookDelivery
from partners.webhooks import CANNOT_SIGN, SIGNATURE_HEADER, verify_signature
from tenants import crypto, services
from tenants.scope import cross_tenant_scope, tenant_scope
from tests.api.conftest import api_client, issue_token
from tests.factories import make_connected_tenant, make_oauth_tenant
from tests.orders.conftest import new_order, synced_pos

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
KEY = "Idempotency-Key"
ENCRYPTED = {
    "partners.IdempotentRequest.sealed_response_body",
    "partners.WebhookEndpoint.secret",
    "tenants.MercadoPagoCredential.access_token",
    "tenants.MercadoPagoCredential.refresh_token",
}


def keys(*listed: str):
    return override_settings(MERCADOPAGO_CREDENTIAL_KEYS=list(listed))


def register(tenant, url: str, partner=None, **headers: str) -> tuple:
    """A partner app of ``tenant`` registers ``url`` for ``order.created`` through the API: its
    client and the endpoint as created (with the secret, shown this once). With an
    ``Idempotency-Key`` its answer is kept, sealed (encrypted)."""
    partner = partner or api_client(
        issue_token(tenant, frozenset({"webhooks:write", "orders:read"}))
    )
    response = partner.post(
        "/api/v1/webhook-endpoints",
        json.dumps({"url": url, "events": ["order.created"]}),
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 201, response.content
    return partner, response.json()


def stored_values() -> dict[str, list[str]]:
    """Every non-empty stored ciphertext of every encrypted field, read with plain SQL."""
    values = {}
    with connection.cursor() as cursor:
        for model, field in crypto.encrypted_fields():
            table, column = model._meta.db_table, field.column
            cursor.execute(f"SELECT {column} FROM {table} WHERE {column} <> '' ORDER BY id")  # noqa: S608
            values[crypto.field_label(model, field)] = [row[0] for row in cursor.fetchall()]
    return values


@contextmanager
def logged(name: str, caplog) -> Iterator[None]:
    """``caplog`` records what logger ``name`` logs, once, whatever the logging configuration
    propagates to the root logger."""
    logger = logging.getLogger(name)
    reaches = logger
    while reaches is not None and caplog.handler not in reaches.handlers:
        reaches = reaches.parent if reaches.propagate else None
    if reaches is not None:  # propagated to caplog's handler already
        yield
        return
    logger.addHandler(caplog.handler)
    try:
        yield
    finally:
        logger.removeHandler(caplog.handler)


def assert_endpoints_api_answers(partner, endpoint: dict) -> None:
    listed = partner.get("/api/v1/webhook-endpoints")
    shown = partner.get(f"/api/v1/webhook-endpoints/{endpoint['id']}")
    assert (listed.status_code, shown.status_code) == (200, 200), listed.content
    assert [row["id"] for row in listed.json()["results"]] == [endpoint["id"]]
    assert "secret" not in shown.json()


def test_the_command_re_encrypts_every_encrypted_field_and_events_flow_under_the_new_key_alone(
    receiver, django_capture_on_commit_callbacks
):
    with keys(OLD):
        sellers = [make_connected_tenant(site="MLA"), make_oauth_tenant(site="MLB")]
        points = {seller.pk: synced_pos(seller) for seller in sellers}
        partners = {
            seller.pk: register(seller, f"{receiver.url}/{seller.pk}", **{KEY: "hook"})
            for seller in sellers
        }
        tokens = {seller.pk: services.seller_access_token(seller) for seller in sellers}
    before = stored_values()
    assert set(before) == ENCRYPTED
    assert [len(before[label]) for label in sorted(ENCRYPTED)] == [2, 2, 2, 1]
    assert all(Fernet(OLD).decrypt(value.encode()) for found in before.values() for value in found)

    with keys(NEW, OLD):
        output = StringIO()
        call_command("rotate_credential_keys", "--batch-size", "1", stdout=output)
    lines = output.getvalue().splitlines()
    assert "partners.IdempotentRequest.sealed_response_body: re-encrypted 2 value(s)" in lines
    assert "partners.WebhookEndpoint.secret: re-encrypted 2 value(s)" in lines
    assert "tenants.MercadoPagoCredential.access_token: re-encrypted 2 value(s)" in lines
    assert "tenants.MercadoPagoCredential.refresh_token: re-encrypted 1 value(s)" in lines
    after = stored_values()
    for label in ENCRYPTED:
        assert len(after[label]) == len(before[label])
        for value in after[label]:
            Fernet(NEW).decrypt(value.encode())  # raises InvalidToken if not under NEW
            with pytest.raises(InvalidToken):
                Fernet(OLD).decrypt(value.encode())

    with keys(NEW):
        assert crypto.undecryptable_secrets() == {}
        for model, _field in crypto.encrypted_fields():
            with cross_tenant_scope():
                assert list(model._base_manager.all())  # every row loads, every field decrypts
        for seller in sellers:
            assert services.seller_access_token(seller) == tokens[seller.pk]
            with django_capture_on_commit_callbacks(execute=True):
                order = new_order(seller, points[seller.pk], reference=f"rotated-{seller.pk}")
            assert order.status == "created"
            partner, endpoint = partners[seller.pk]
            request = receiver.requests[-1]
            assert request.path == f"/{seller.pk}"
            assert request.json["type"] == "order.created"
            assert request.json["data"]["order"]["uid"] == str(order.uid)
            assert verify_signature(
                endpoint["secret"], request.headers[SIGNATURE_HEADER], request.body
            )
            assert_endpoints_api_answers(partner, endpoint)
            # The kept answer of the registration is read under the new key: a retry with its
            # Idempotency-Key gets the same endpoint and secret.
            _, replayed = register(seller, f"{receiver.url}/{seller.pk}", partner, **{KEY: "hook"})
            assert replayed == endpoint
    assert len(receiver.requests) == 2


def test_an_undecryptable_secret_never_loses_the_event_and_delivers_once_its_key_is_back(
    receiver, django_capture_on_commit_callbacks, caplog
):
    with keys(NEW):
        seller = make_connected_tenant(site="MLA")
        pos = synced_pos(seller)
    with keys(OLD):
        partner, endpoint = register(seller, f"{receiver.url}/orders")

    with keys(NEW), logged("partners.webhooks", caplog):
        with django_capture_on_commit_callbacks(execute=True):
            order = new_order(seller, pos)
        assert order.status == "created"  # the transition committed, with its event
        with tenant_scope(seller):
            [delivery] = WebhookDelivery.objects.all()
            attempts = list(delivery.attempts.values_list("status_code", "error"))
        assert (delivery.event_type, delivery.status) == ("order.created", "pending")
        assert delivery.payload["data"]["order"]["uid"] == str(order.uid)
        assert attempts == [(None, CANNOT_SIGN)]
        assert receiver.requests == []
        [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert f"endpoint {endpoint['id']}" in record.getMessage()
        assert endpoint["secret"] not in caplog.text
        assert_endpoints_api_answers(partner, endpoint)
        assert crypto.undecryptable_secrets() == {"partners.WebhookEndpoint.secret": 1}

    with keys(NEW, OLD):
        assert tasks.deliver_due_webhooks() == 1
    [request] = receiver.requests
    assert request.json["id"] == str(delivery.event_uid)
    assert verify_signature(endpoint["secret"], request.headers[SIGNATURE_HEADER], request.body)
    with tenant_scope(seller):
        delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("delivered", 2)


def test_the_command_fails_naming_each_value_no_key_decrypts_and_re_encrypts_the_rest(receiver):
    with keys(NEW):
        seller = make_connected_tenant(site="MLA")
    with keys(OLD):
        _, lost = register(seller, f"{receiver.url}/lost")
    with keys(NEW):
        _, kept = register(seller, f"{receiver.url}/kept")
    before = stored_values()["partners.WebhookEndpoint.secret"]

    output = StringIO()
    with keys(NEW), pytest.raises(CommandError) as failure:
        call_command("rotate_credential_keys", stdout=output)

    message = str(failure.value)
    assert f"partners.WebhookEndpoint.secret: 1 row(s), pk {lost['id']}." in message
    assert lost["secret"] not in message + output.getvalue()
    assert "MercadoPagoCredential" not in message
    lines = output.getvalue().splitlines()
    assert "partners.WebhookEndpoint.secret: re-encrypted 1 value(s)" in lines
    assert "tenants.MercadoPagoCredential.access_token: re-encrypted 1 value(s)" in lines
    after = stored_values()["partners.WebhookEndpoint.secret"]
    assert after[0] == before[0]  # left as it was, for the key that can still read it
    assert Fernet(OLD).decrypt(after[0].encode()).decode() == lost["secret"]
    assert Fernet(NEW).decrypt(after[1].encode()).decode() == kept["secret"]


@pytest.mark.django_db(transaction=True)  # the probe's checks read on connections of their own
def test_readiness_reports_secrets_that_no_configured_key_decrypts(client, receiver):
    with keys(OLD):
        seller = make_connected_tenant(site="MLA")
        register(seller, f"{receiver.url}/orders")

    with keys(OLD, NEW):
        assert client.get("/readyz").json()["checks"]["secrets"] == "ok"
    with keys(NEW):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["checks"]["secrets"] != "ok"
    assert response.json()["undecryptable"] == {
        "partners.WebhookEndpoint.secret": 1,
        "tenants.MercadoPagoCredential.access_token": 1,
    }
