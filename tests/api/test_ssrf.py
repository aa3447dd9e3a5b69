"""Partner webhook URLs reach only globally routable addresses (issue 15, point 9): refused when an
endpoint is registered or changed, and when a delivery resolves the host (every address it
resolves to, IPv4 carried in IPv6 included), with no redirect followed; and what a delivery
records of a failure cannot map hosts and ports.

DNS is the one fake here: ``socket.getaddrinfo`` answers what the test says."""

import ipaddress
import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from partners import webhooks
from partners.models import WebhookDelivery, WebhookEndpoint
from tenants.scope import tenant_scope
from tests.factories import make_member, make_webhook_delivery, make_webhook_endpoint

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/v1/webhook-endpoints"
# Seen accepted before the fix: shared address space (RFC 6598) and a cloud metadata address in
# it, an IETF protocol assignment, and 6to4 of 127.0.0.1.
SEEN = ["100.64.0.1", "100.100.100.200", "192.0.0.8", "2002:7f00:1::"]
NOT_PUBLIC = [
    *SEEN,
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:100.64.0.1",
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::808:808",  # local-use NAT64
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "::127.0.0.1",  # IPv4-compatible
    "fec0::1",  # site-local
    "ff0e::1",  # multicast, global scope
    "224.0.0.1",
    "192.88.99.1",
]
PUBLIC = ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::", "64:ff9b::808:808"]


def literal_url(address: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}/hooks"


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_addresses_that_are_not_global_or_carry_one_that_is_not_are_not_public(address):
    assert not webhooks.is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_global_addresses_are_public(address):
    assert webhooks.is_public_address(ipaddress.ip_address(address))


@override_settings(WEBHOOKS_ALLOW_PRIVATE_URLS=False)
@pytest.mark.parametrize("address", SEEN)
def test_the_seen_addresses_are_refused_when_an_endpoint_is_registered_or_changed(
    tenant_a, api_a, address
):
    def register(url: str):
        return api_a.post(
            ENDPOINTS,
            json.dumps({"url": url, "events": ["order.created"]}),
            content_type="application/json",
        )

    created = register(literal_url(address))
    endpoint = register("https://partner.example.com/hooks").json()
    changed = api_a.patch(
        f"{ENDPOINTS}/{endpoint['id']}",
        json.dumps({"url": literal_url(address)}),
        content_type="application/json",
    )

    for answer in (created, changed):
        assert answer.status_code == 400
        assert [error["code"] for error in answer.json()["fields"]["url"]] == ["url_not_allowed"]
    with tenant_scope(tenant_a):
        assert list(WebhookEndpoint.objects.values_list("url", flat=True)) == [endpoint["url"]]


@pytest.fixture
def dns(monkeypatch) -> dict[str, list[str]]:
    """Host name -> the addresses ``socket.getaddrinfo`` answers for it (none: no such host)."""
    answers: dict[str, list[str]] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port),
            )
            for address in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def deliver_once(tenant, url: str):
    """One attempt of a delivery to ``url``: the attempt recorded."""
    endpoint = make_webhook_endpoint(tenant, url=url)
    delivery = make_webhook_delivery(tenant, endpoint)
    with tenant_scope(tenant):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    webhooks.deliver(tenant=tenant, delivery_id=delivery.pk)
    with tenant_scope(tenant):
        [attempt] = delivery.attempts.all()
    return attempt


@override_settings(WEBHOOKS_ALLOW_PRIVATE_URLS=False)
@pytest.mark.parametrize("addresses", [[address] for address in SEEN] + [["8.8.8.8", "100.64.0.1"]])
def test_a_host_resolving_to_an_address_that_is_not_public_is_refused_at_delivery(
    tenant_a, dns, caplog, addresses
):
    dns["hooks.partner.example"] = addresses
    caplog.set_level(logging.INFO, logger="partners.webhooks")

    attempt = deliver_once(tenant_a, "https://hooks.partner.example/in")

    assert (attempt.status_code, attempt.error) == (None, webhooks.UNREACHABLE)
    assert f"resolves to {addresses[-1]}, which is not a public address" in caplog.text


@override_settings(WEBHOOKS_ALLOW_PRIVATE_URLS=False)
def test_no_dns_answer_and_a_private_address_record_the_same_generic_error(tenant_a, dns):
    dns["internal.partner.example"] = ["10.0.0.7"]

    unknown = deliver_once(tenant_a, "https://unknown.partner.example/in")
    private = deliver_once(tenant_a, "https://internal.partner.example/in")

    assert unknown.error == private.error == webhooks.UNREACHABLE


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_socket_errors_are_never_shown_and_a_timeout_once_connected_is_told_apart(
    tenant_a, settings, silent_port
):
    settings.WEBHOOKS_TIMEOUT = 0.2
    refused = deliver_once(tenant_a, f"http://127.0.0.1:{closed_port()}/in")
    unroutable = deliver_once(tenant_a, "http://[100::1]:9/in")  # the discard-only prefix
    silent = deliver_once(tenant_a, f"http://127.0.0.1:{silent_port}/in")

    assert refused.error == unroutable.error == webhooks.UNREACHABLE
    assert silent.error == webhooks.NO_ANSWER_IN_TIME
    owner = Client()
    owner.force_login(make_member(tenant_a, "owner"))
    shown = owner.get(f"{ENDPOINTS}/{refused.delivery.endpoint_id}/deliveries").json()
    assert [attempt["error"] for attempt in shown["results"][0]["attempts"]] == [
        webhooks.UNREACHABLE
    ]


@pytest.fixture
def redirector(receiver) -> Iterator[str]:
    """The URL of a server that redirects every POST to ``receiver``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(307)
            self.send_header("Location", f"{receiver.url}/redirected")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/in"
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_redirect_is_not_followed(tenant_a, receiver, redirector):
    attempt = deliver_once(tenant_a, redirector)

    assert attempt.status_code == 307
    assert receiver.requests == []
