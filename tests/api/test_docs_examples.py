"""docs/api.md's examples run against the server, in the order a partner meets them, and its
tables name what the server answers (tests/api/docs_examples.py reads the document)."""

import ast
import hashlib
import hmac
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from disputes.services import payload as dispute_payload
from partners import webhooks
from partners.models import WebhookDelivery
from partners.services import install_application
from tenants.scope import tenant_scope
from tests.api import docs_examples
from tests.api.authorization_code import REDIRECT_URI, authorize
from tests.api.conftest import ALL_SCOPES, api_client, issue_token
from tests.api.docs_examples import examples, json_of, named, run
from tests.factories import make_connected_tenant, make_dispute, make_member, make_payment
from tests.orders.conftest import synced_pos

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

ROOT = Path(__file__).resolve().parents[2]
DOC_TEXT = docs_examples.DOC.read_text()
# The labelled examples, in the order the flow test runs them.
FLOW = [
    "token-client-credentials",
    "tenant",
    "token-authorization-code",
    "token-refresh",
    "create-store-and-pos",
    "create-order",
    "search-orders",
    "sandbox-pay",
    "refund",
    "cancel-order",
    "export",
    "catch-up",
    "create-endpoint",
    "redeliver",
]
SHAPES = ["error", "event", "dispute", "verify"]


def answers(client: Client, name: str, variables: dict[str, str], status: int) -> list:
    """Run example ``name``; each of its commands must answer ``status``."""
    found = []
    for answer in run(client, named(name), variables):
        assert answer.status_code == status, (name, answer.content)
        found.append(answer)
    return found


def test_every_example_is_labelled_and_run_by_a_test():
    labelled = [example.name for example in examples() if example.name]
    unlabelled = [e.body[:60] for e in examples() if not e.name and "curl" in e.body]

    assert unlabelled == []
    assert len(labelled) == len(set(labelled))
    assert sorted(labelled) == sorted(FLOW + SHAPES)


def test_the_examples_take_a_partner_from_a_token_to_events(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # the redelivery goes to a local address
    seller = make_connected_tenant("Parrilla", site="MLA")
    owner = make_member(seller, role="owner")
    application, secret = install_application(
        tenant=seller, name="Back office", requested=ALL_SCOPES, user=None
    )
    client = Client()
    since = (timezone.now() - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    values = {"BASE": "http://testserver", "CLIENT_ID": application.client_id}
    values |= {"CLIENT_SECRET": secret, "SINCE": since}

    [issued] = answers(client, "token-client-credentials", values, 200)
    assert issued.json()["scope"] == "orders:read orders:write"
    every_scope = client.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        headers={"Authorization": issued.request["HTTP_AUTHORIZATION"]},
    )
    values["TOKEN"] = every_scope.json()["access_token"]  # for the rest of the guide
    [tenant] = answers(client, "tenant", values, 200)
    assert tenant.json()["slug"] == seller.slug

    authorized = authorize(seller, owner, scope="orders:read")
    values |= {"CODE": authorized.code, "VERIFIER": authorized.verifier}
    values |= {"REDIRECT_URI": REDIRECT_URI, "CLIENT_ID": authorized.application.client_id}
    [exchanged] = answers(client, "token-authorization-code", values, 200)
    values["REFRESH_TOKEN"] = exchanged.json()["refresh_token"]
    [refreshed] = answers(client, "token-refresh", values, 200)
    assert refreshed.json()["refresh_token"] != values["REFRESH_TOKEN"]

    created = run(client, named("create-store-and-pos"), values)
    store = next(created)
    assert store.status_code == 201, store.content
    values["STORE"] = str(store.json()["id"])
    pos = next(created)
    assert pos.status_code == 201, pos.content
    assert pos.json()["sync_state"] == "synced"

    values["POS"] = str(pos.json()["id"])
    [order] = answers(client, "create-order", values, 201)
    assert order.json()["metadata"] == {"table": "7", "waiter": "ana"}
    values["ORDER"] = order.json()["uid"]
    [found] = answers(client, "search-orders", values, 200)
    assert [row["uid"] for row in found.json()["results"]] == [values["ORDER"]]

    [paid] = answers(client, "sandbox-pay", values, 202)
    assert paid.json()["status"] == "processed"
    [refund] = answers(client, "refund", values, 201)
    assert (refund.json()["order"], refund.json()["amount"]) == (values["ORDER"], "40.00")

    second = {"pos": int(values["POS"]), "api": "v1", "mode": "dynamic", "title": "Table 8"}
    second |= {"external_reference": "sale-1043", "total_amount": "10.00"}
    open_order = api_client(values["TOKEN"]).post(
        "/api/v1/orders", second, content_type="application/json"
    )
    values["ORDER"] = open_order.json()["uid"]
    [canceled] = answers(client, "cancel-order", values, 200)
    assert canceled.json()["status"] == "canceled"
    [export] = answers(client, "export", values, 200)
    assert export["Content-Type"].startswith("text/csv")

    [events] = answers(client, "catch-up", values, 200)
    types = [event["type"] for event in events.json()["results"]]
    assert types[:3] == ["order.created", "order.processed", "refund.created"]
    assert "order.canceled" in types

    [endpoint] = answers(client, "create-endpoint", values, 201)
    [replayed] = answers(client, "create-endpoint", values, 201)
    assert replayed.json()["secret"] == endpoint.json()["secret"]
    assert replayed["Idempotent-Replayed"] == "true"

    with tenant_scope(seller):
        sent = WebhookDelivery.objects.filter(endpoint__application=application).first()
    values["DELIVERY"] = str(_a_delivery(seller, application).pk if sent is None else sent.pk)
    [redelivered] = answers(client, "redeliver", values, 202)
    assert redelivered.json()["status"] in ("pending", "delivered", "failed")


def _a_delivery(seller, application) -> WebhookDelivery:
    """A delivery of a test event to an endpoint of ``application``, settled so that it may be
    redelivered."""
    with tenant_scope(seller):
        endpoint = webhooks.subscribe(
            tenant=seller,
            url="http://127.0.0.1:9/hooks",
            events=["order.processed"],
            application=application,
        )
        delivery = webhooks.send_test_event(tenant=seller, endpoint=endpoint)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, next_attempt_at=None
        )
    return delivery


def test_the_error_example_has_the_shape_of_a_validation_error(tenant_a):
    shown = json_of(named("error"))
    pos = synced_pos(make_connected_tenant(site="MLA"))
    client = api_client(issue_token(pos.tenant))
    body = {"pos": pos.pk, "api": "v1", "mode": "dynamic", "external_reference": "x"}
    body |= {"title": "t", "items": [{"title": "a", "unit_price": "0"}]}

    answer = client.post("/api/v1/orders", body, content_type="application/json").json()

    assert set(answer) == set(shown)
    assert answer["code"] == shown["code"]
    assert set(answer["fields"]) == set(shown["fields"])
    assert re.fullmatch(r"[0-9a-f]{32}", shown["request_id"])


def test_the_event_example_has_the_shape_of_a_delivered_event():
    shown = json_of(named("event"))
    seller = make_connected_tenant(site="MLA")
    pos = synced_pos(seller)
    client = api_client(issue_token(seller))
    body = {"pos": pos.pk, "api": "v1", "mode": "dynamic", "external_reference": "e-1"}
    body |= {"title": "t", "total_amount": "10.00"}
    assert client.post("/api/v1/orders", body, content_type="application/json").status_code == 201

    [event] = client.get("/api/v1/events", {"type": "order.*"}).json()["results"]

    assert set(event) == set(shown)
    assert (event["object"], event["api_version"]) == (shown["object"], shown["api_version"])
    assert set(event["data"]) == set(shown["data"])
    for example in (shown["created"], event["created"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", example)


def test_the_dispute_example_has_the_keys_of_a_dispute_event(tenant_a):
    shown = json_of(named("dispute"))
    with tenant_scope(tenant_a):
        dispute = make_dispute(tenant_a, make_payment(tenant_a))

    assert set(dispute_payload(dispute)["dispute"]) == set(shown["dispute"])


def test_the_signature_example_verifies_what_the_platform_signs():
    namespace: dict = {}
    exec(compile(named("verify").body, "docs/api.md", "exec"), namespace)  # noqa: S102
    verify = namespace["verify"]
    body = b'{"id": "1", "type": "order.processed"}'
    now = int(time.time())

    assert verify("whsec_1", webhooks.sign("whsec_1", body, now), body)
    assert not verify("whsec_2", webhooks.sign("whsec_1", body, now), body)
    assert not verify("whsec_1", webhooks.sign("whsec_1", body, now), body + b" ")
    stale = hmac.new(b"whsec_1", f"{now - 600}.".encode() + body, hashlib.sha256).hexdigest()
    assert not verify("whsec_1", f"t={now - 600},v1={stale}", body)


def _documented_codes(status: str) -> set[str]:
    row = next(line for line in DOC_TEXT.splitlines() if line.startswith(f"| {status} |"))
    return set(re.findall(r"`([a-z_]+)`", row))


def _raised_codes(*exceptions: str) -> set[str]:
    """The ``code=`` string arguments of every call of ``exceptions`` in the platform's code."""
    codes = set()
    for package in ("orders", "partners", "pos", "tenants", "disputes"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    continue
                if node.func.id not in exceptions:
                    continue
                for keyword in node.keywords:
                    if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                        codes.add(keyword.value.value)
    return codes


def test_every_conflict_the_server_answers_is_in_the_errors_table():
    raised = _raised_codes("NotAllowed", "KeyConflict", "CannotRedeliver")

    assert raised - {"refund_changed"} <= _documented_codes("409")  # refund_changed: admin only
    assert "seller_not_connected" in _documented_codes("409")


def test_the_authentication_codes_of_the_table_are_the_servers(tenant_a):
    documented = _documented_codes("401")
    client = Client()
    missing = client.get("/api/v1/tenant").json()["code"]
    invalid = client.get("/api/v1/tenant", headers={"Authorization": "Bearer nope"})

    assert {missing, invalid.json()["code"]} <= documented
    assert documented == {
        "not_authenticated",
        "token_invalid",
        "token_expired",
        "token_revoked",
        "seller_suspended",
    }


def test_the_documented_retry_schedule_is_the_servers(settings):
    settings.WEBHOOKS_BACKOFF_BASE, settings.WEBHOOKS_BACKOFF_MAX = 30.0, 6 * 3600.0
    documented = re.search(r"\(30 s,\s+1 min,\s+2 min,\s+4 min\.\.\.\)", DOC_TEXT)

    assert documented is not None
    waits = [webhooks.backoff(attempts).total_seconds() for attempts in range(1, 5)]
    assert waits == [30, 60, 120, 240]
    assert webhooks.backoff(20).total_seconds() == 6 * 3600
