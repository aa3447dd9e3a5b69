"""Mercado Pago's ``mp-connect`` notification: a seller unlinked the integrator's application.

The sandbox plays Mercado Pago: a seller unlinks the application there, which revokes its grants
and sends the signed webhook to the platform. The platform treats it as a doorbell: it believes
the unlink only once Mercado Pago refuses the seller's stored token.
"""

import json
import time
import uuid
from urllib.parse import urlencode

import httpx
import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from merchant_platform.mercadopago import get_client, get_config
from mpapi import BadRequest, Unauthorized
from orders.models import Notification
from sandbox import signing
from sandbox.models import Event
from sandbox.seed import WEBHOOK_SECRET, seller_access_token
from tenants import oauth
from tenants.models import MercadoPagoCredential
from tenants.scope import tenant_scope
from tests.factories import SANDBOX_SELLERS, make_connected_tenant, make_member, make_oauth_tenant

pytestmark = pytest.mark.usefixtures("eager_celery")

WEBHOOK = reverse("orders:mercadopago-webhook")
UNLINK = "/sandbox/_control/oauth/unlink"
S = Notification.Status


def _credential(tenant) -> MercadoPagoCredential:
    with tenant_scope(tenant):
        return MercadoPagoCredential.objects.get()


def _mp_connect(user_id: int, action: str = "application.deauthorized") -> tuple[dict, dict]:
    """The query and body of an ``mp-connect`` webhook for ``user_id`` (docs/orders.md)."""
    query = {"data.id": str(user_id), "type": "mp-connect"}
    body = {
        "type": "mp-connect",
        "action": action,
        "user_id": user_id,
        "application_id": get_config().client_id,
        "data": {"id": str(user_id)},
        "date_created": "2026-12-06T10:00:00.000Z",
        "live_mode": False,
    }
    return query, body


def _signed_headers(data_id: str, secret: str = WEBHOOK_SECRET) -> dict:
    request_id = str(uuid.uuid4())
    return {
        "X-Signature": signing.signature(secret, data_id, request_id, round(time.time() * 1000)),
        "X-Request-Id": request_id,
    }


def _post(client, query: dict, body: dict, **headers):
    return client.post(
        f"{WEBHOOK}?{urlencode(query)}",
        json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


@pytest.mark.django_db(transaction=True)
def test_a_seller_unlinks_in_mercado_pago_and_its_owners_are_told_to_connect_again(
    live_server, client
):
    seller = make_oauth_tenant(site="MLA")
    english = make_member(seller, "owner", "owner-en", language="en")
    spanish = make_member(seller, "owner", "owner-es")  # the seller's language: Spanish
    make_member(seller, "manager", "manager", language="en")
    old_token = _credential(seller).access_token
    answer = client.put(
        "/sandbox/_control/application",
        {"webhook_url": f"{live_server.url}{WEBHOOK}"},
        content_type="application/json",
    )
    assert answer.status_code == 200

    # The seller unlinks the application in "Mercado Pago", over a socket: the sandbox revokes
    # the grant and delivers its signed webhook to the platform's live server, which stores it,
    # checks its signature and processes it (tasks run at once).
    unlinked = httpx.post(f"{live_server.url}{UNLINK}", json={"user_id": SANDBOX_SELLERS["MLA"]})
    assert unlinked.status_code == 200, unlinked.text

    event = Event.objects.get(pk=unlinked.json()["event_id"])
    [delivery] = event.deliveries.all()
    assert delivery.status == "delivered"
    [row] = Notification.objects.filter(topic="mp-connect")
    assert (row.kind, row.status) == ("webhook", S.PROCESSED)
    assert row.action == "application.deauthorized"
    assert row.resource_id == str(SANDBOX_SELLERS["MLA"])
    assert row.tenant == seller
    assert row.detail == "the seller unlinked the application: owners told"

    credential = _credential(seller)
    assert credential.status == MercadoPagoCredential.Status.NEEDS_RECONNECT
    assert credential.reconnect_reason == "unlinked"
    assert credential.owners_told_at is not None
    with get_client() as mp, pytest.raises(Unauthorized):
        mp.get_me(old_token)  # Mercado Pago refuses it: the platform did not just believe it

    # Each owner, and only the owners, got one e-mail, in their own language.
    assert sorted(message.to[0] for message in mail.outbox) == [
        english.email,
        spanish.email,
    ]
    by_owner = {message.to[0]: message for message in mail.outbox}
    in_english = by_owner[english.email]
    assert "connect Mercado Pago again to keep taking payments" in in_english.subject
    assert "unlinked from this platform's application" in in_english.body
    connection_url = f"{settings.SITE_URL}{reverse('tenants:mercadopago')}"
    assert f"Connect again: {connection_url}" in in_english.body
    [(html, mimetype)] = in_english.alternatives
    assert mimetype == "text/html"
    assert '<html lang="en">' in html
    assert f'href="{connection_url}"' in html
    assert "unlinked from this platform's application" in html
    in_spanish = by_owner[spanish.email]
    [(html_es, _)] = in_spanish.alternatives
    assert '<html lang="es' in html_es
    assert "Volver a conectar" in in_spanish.body
    assert "Volver a conectar" in html_es

    # The owner sees the banner on every admin page, and the way to connect again.
    client.force_login(english)
    page = client.get(reverse("admin:index")).text
    assert 'id="reconnect-notice"' in page
    assert "Payments stopped: connect Mercado Pago again" in page
    assert f'href="{reverse("tenants:mercadopago")}" class="button" id="reconnect-notice-link"' in (
        page
    )


@pytest.mark.django_db
def test_the_sandbox_unlink_revokes_the_grant_and_only_the_integrators(client):
    seller = make_oauth_tenant(site="MLB")
    credential = _credential(seller)
    own_application_token = seller_access_token("MLB")

    answer = client.post(
        UNLINK, {"user_id": SANDBOX_SELLERS["MLB"]}, content_type="application/json"
    )
    assert answer.status_code == 200
    event = Event.objects.get(pk=answer.json()["event_id"])
    assert (event.kind, event.topic, event.action) == (
        "webhook",
        "mp-connect",
        "application.deauthorized",
    )
    assert event.query == {"data.id": str(SANDBOX_SELLERS["MLB"]), "type": "mp-connect"}
    assert event.body["user_id"] == SANDBOX_SELLERS["MLB"]
    assert event.body["data"] == {"id": str(SANDBOX_SELLERS["MLB"])}
    assert event.body["application_id"] == get_config().client_id

    config = get_config()
    with get_client() as mp:
        with pytest.raises(Unauthorized):
            mp.get_me(credential.access_token)
        with pytest.raises(BadRequest) as refused:
            mp.refresh_access_token(
                client_id=config.client_id,
                client_secret=config.client_secret,
                refresh_token=credential.refresh_token,
            )
        assert "invalid_grant" in refused.value.codes
        assert mp.get_me(own_application_token).id == SANDBOX_SELLERS["MLB"]  # not its own app's

    again = client.post(
        UNLINK, {"user_id": SANDBOX_SELLERS["MLB"]}, content_type="application/json"
    )
    assert again.status_code == 400  # nothing left to unlink


@pytest.mark.django_db
def test_the_sandbox_control_page_unlinks_a_seller(client):
    make_oauth_tenant(site="MLM")
    page = client.get("/sandbox/_control/")
    assert f'id="unlink-{SANDBOX_SELLERS["MLM"]}"' in page.text
    client.post("/sandbox/_control/", {"action": "unlink", "user_id": SANDBOX_SELLERS["MLM"]})
    assert Event.objects.filter(topic="mp-connect", resource_id=SANDBOX_SELLERS["MLM"]).exists()
    assert f'id="unlink-{SANDBOX_SELLERS["MLM"]}"' not in client.get("/sandbox/_control/").text


@pytest.mark.django_db
@pytest.mark.parametrize("forgery", ["unsigned", "wrong secret"])
def test_a_forged_mp_connect_is_rejected_and_changes_nothing(
    client, django_capture_on_commit_callbacks, forgery
):
    seller = make_oauth_tenant(site="MLA")
    make_member(seller, "owner", language="en")
    query, body = _mp_connect(SANDBOX_SELLERS["MLA"])
    headers = {} if forgery == "unsigned" else _signed_headers(query["data.id"], "not-the-secret")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, query, body, **headers)
    assert response.status_code == 401
    row = Notification.objects.get()
    assert (row.status, row.tenant) == (S.REJECTED, None)
    assert _credential(seller).status == MercadoPagoCredential.Status.CONNECTED
    assert _credential(seller).reconnect_reason == ""
    assert mail.outbox == []


@pytest.mark.django_db
def test_an_unlink_notification_for_a_grant_that_still_works_changes_nothing(
    client, django_capture_on_commit_callbacks
):
    seller = make_oauth_tenant(site="MLA")
    make_member(seller, "owner", language="en")
    query, body = _mp_connect(SANDBOX_SELLERS["MLA"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, query, body, **_signed_headers(query["data.id"]))
    assert response.status_code == 200
    row = Notification.objects.get()
    assert (row.status, row.tenant) == (S.IGNORED, seller)
    assert row.detail == "Mercado Pago still accepts the seller's token: not unlinked"
    credential = _credential(seller)
    assert credential.status == MercadoPagoCredential.Status.CONNECTED
    assert credential.reconnect_reason == ""
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_manual_connection_is_not_unlinked_by_the_integrators_application(
    client, django_capture_on_commit_callbacks
):
    seller = make_connected_tenant(site="MLA")  # the seller's own application's token
    query, body = _mp_connect(SANDBOX_SELLERS["MLA"])
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, query, body, **_signed_headers(query["data.id"]))
    assert Notification.objects.get().status == S.IGNORED
    assert _credential(seller).status == MercadoPagoCredential.Status.CONNECTED


@pytest.mark.django_db
def test_a_link_notification_and_an_unknown_seller_are_ignored_with_the_reason(
    client, django_capture_on_commit_callbacks
):
    seller = make_oauth_tenant(site="MLA")
    linked_query, linked = _mp_connect(SANDBOX_SELLERS["MLA"], "application.authorized")
    stranger_query, stranger = _mp_connect(123456789)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, linked_query, linked, **_signed_headers(linked_query["data.id"]))
        _post(client, stranger_query, stranger, **_signed_headers(stranger_query["data.id"]))
    rows = {row.resource_id: row for row in Notification.objects.all()}
    authorized = rows[str(SANDBOX_SELLERS["MLA"])]
    assert (authorized.status, authorized.tenant) == (S.IGNORED, seller)
    assert authorized.detail == "action 'application.authorized' not handled"
    unknown = rows["123456789"]
    assert (unknown.status, unknown.tenant) == (S.IGNORED, None)
    assert unknown.detail == "no seller has this Mercado Pago account"
    assert _credential(seller).status == MercadoPagoCredential.Status.CONNECTED


@pytest.mark.django_db
def test_the_body_cannot_name_another_seller_than_the_signed_data_id(
    client, django_capture_on_commit_callbacks
):
    victim = make_oauth_tenant(site="MLA")
    other = make_oauth_tenant(site="MLB")
    query, body = _mp_connect(SANDBOX_SELLERS["MLB"])
    body |= {"user_id": SANDBOX_SELLERS["MLA"], "data": {"id": str(SANDBOX_SELLERS["MLA"])}}
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, query, body, **_signed_headers(query["data.id"]))
    assert Notification.objects.get().tenant == other
    assert _credential(victim).status == MercadoPagoCredential.Status.CONNECTED


@pytest.mark.django_db
def test_an_unlink_already_known_is_not_told_twice(client, django_capture_on_commit_callbacks):
    seller = make_oauth_tenant(site="MLA")
    make_member(seller, "owner", language="en")
    client.post(UNLINK, {"user_id": SANDBOX_SELLERS["MLA"]}, content_type="application/json")
    query, body = _mp_connect(SANDBOX_SELLERS["MLA"])
    for _ in range(2):  # Mercado Pago retries; a second delivery of its own
        with django_capture_on_commit_callbacks(execute=True):
            _post(client, query, body, **_signed_headers(query["data.id"]))
    first, second = Notification.objects.order_by("pk")
    assert (first.status, second.status) == (S.PROCESSED, S.IGNORED)
    assert second.detail == "the connection already needs reconnect"
    assert len(mail.outbox) == 1
    with pytest.raises(oauth.NotConnected):
        oauth.refresh_credential(tenant=seller)
