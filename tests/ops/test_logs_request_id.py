"""Logs trace an order (issue 16, point 5): every line a request logs carries its id (answered in
``Request-Id`` and in the API's error bodies), the tenant and the order or partner it concerns,
and the lines of a Celery task carry the id of the request that published it, run by a real
worker (a consumer thread on the configured broker: Redis in CI, in memory otherwise)."""

import json
import logging
import re
from collections.abc import Iterator

import pytest
from django.test import Client
from oauth2_provider.models import Application

from merchant_platform import request_context
from merchant_platform.logging import OneLineJSONFormatter
from tests.api.conftest import api_client, issue_token
from tests.factories import make_connected_tenant, make_webhook_endpoint
from tests.orders.conftest import synced_pos

GENERATED = re.compile(r"[0-9a-f]{32}")
ORDER = {
    "api": "v1",
    "mode": "dynamic",
    "external_reference": "mesa-7",
    "title": "Mesa 7",
    "items": [{"title": "Bife de chorizo", "unit_price": "60.00", "quantity": 2}],
}


class Lines:
    """Every line the platform's handlers write (each is formatted by ``OneLineJSONFormatter``,
    whichever handler ``LOGGING`` gives, however often Django configures logging again)."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def about(self, request_id: str) -> list[dict]:
        events = map(json.loads, self.written)
        return [event for event in events if event.get("request_id") == request_id]


@pytest.fixture
def lines(monkeypatch) -> Iterator[Lines]:
    seen, format_line = Lines(), OneLineJSONFormatter.format

    def written(formatter: OneLineJSONFormatter, record: logging.LogRecord) -> str:
        line = format_line(formatter, record)
        seen.written.append(line)
        return line

    monkeypatch.setattr(OneLineJSONFormatter, "format", written)
    return seen


def test_an_order_is_followed_from_the_partner_request_to_the_task_it_caused(
    real_worker, receiver, settings, lines
):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # the partner's endpoint is this test's server
    seller = make_connected_tenant("Parrilla", site="MLA")
    pos = synced_pos(seller)
    make_webhook_endpoint(seller, url=f"{receiver.url}/hooks", events=["order.created"])
    partner = api_client(issue_token(seller))

    response = partner.post(
        "/api/v1/orders", json.dumps(ORDER | {"pos": pos.pk}), content_type="application/json"
    )

    assert response.status_code == 201, response.content
    request_id, uid = response["Request-Id"], response.json()["uid"]
    assert GENERATED.fullmatch(request_id)

    def delivery_ended() -> bool:
        """the worker logged the end of the order.created webhook's delivery"""
        return any("deliver_webhook" in line and "succeeded" in line for line in lines.written)

    real_worker.wait_until(delivery_ended)
    [delivered] = receiver.requests
    assert delivered.json["data"]["order"]["uid"] == uid
    lines_of_the_request = lines.about(request_id)
    in_request = [event for event in lines_of_the_request if "task_id" not in event]
    in_task = [event for event in lines_of_the_request if "task_id" in event]
    assert any(
        event.get("order") == uid
        and event.get("tenant") == seller.slug
        and event.get("tenant_id") == seller.pk
        and event.get("partner") == Application.objects.get().client_id
        for event in in_request
    ), lines_of_the_request
    # The delivery task ran in the worker's thread: its lines (its own and Celery's
    # "succeeded") carry the request's id, the order and the task.
    assert in_task, lines.written[-20:]
    assert {event["task"] for event in in_task} == {"partners.deliver_webhook"}
    assert all(event["order"] == uid and event["tenant_id"] == seller.pk for event in in_task)
    assert any("succeeded" in event["message"] for event in in_task)


@pytest.mark.django_db
def test_a_safe_request_id_is_kept_and_quoted_by_an_error(lines):
    response = Client().get("/api/v1/orders", headers={"X-Request-Id": "pos-42.retry_1"})

    assert response.status_code == 401
    assert response["Request-Id"] == "pos-42.retry_1"
    assert response.json()["request_id"] == "pos-42.retry_1"
    assert any(event["logger"] == "django.request" for event in lines.about("pos-42.retry_1"))


@pytest.mark.parametrize(
    "hostile",
    [
        "abc\ndef",  # a forged second line
        "a" * 500,
        'x", "level": "CRITICAL',  # JSON injection
        "",
    ],
)
@pytest.mark.django_db
def test_an_unsafe_request_id_is_replaced(hostile, lines):
    response = Client().get("/api/v1/nothing-here", headers={"X-Request-Id": hostile})

    assert response.status_code == 404
    request_id = response["Request-Id"]
    assert GENERATED.fullmatch(request_id)
    assert response.json()["request_id"] == request_id
    assert lines.about(request_id)
    assert not any(hostile and hostile in line for line in lines.written)


@pytest.mark.django_db
def test_every_response_has_a_request_id(client):
    """Pages and redirects too, not only the API's answers."""
    for path in ("/healthz", "/admin/", "/no-such-page/"):
        assert GENERATED.fullmatch(client.get(path)["Request-Id"]), path


def test_the_fields_of_a_line_are_masked_like_its_message(lines):
    """A client's id that looks like a Mercado Pago token is safe, but never logged as is."""
    token = "TEST-1234567890123456-112233-0123456789abcdef"
    started = request_context.start(request_id=token)
    try:
        logging.getLogger("orders").warning("partner asked")
    finally:
        request_context.end(started)

    assert json.loads(lines.written[-1])["request_id"] == "[redacted]"
