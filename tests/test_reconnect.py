"""A connection that must be made again: refused refreshes and tokens nearing expiry tell the
owners (one e-mail per event, a banner in the admin) until the owner connects again."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from sandbox.seed import seller_access_token
from tenants import connection_health, oauth, services
from tenants.models import MercadoPagoCredential
from tenants.scope import cross_tenant_scope, tenant_scope
from tenants.tasks import notify_expiring_credentials
from tests.factories import make_member, make_oauth_tenant, make_tenant
from tests.test_connect_oauth import _answer_consent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

INDEX = reverse("admin:index")
CONNECTION = reverse("tenants:mercadopago")
CREDENTIALS = reverse("admin:tenants_mercadopagocredential_changelist")


def _credential(tenant) -> MercadoPagoCredential:
    with tenant_scope(tenant):
        return MercadoPagoCredential.objects.get()


def _set(tenant, **fields) -> None:
    with tenant_scope(tenant):
        MercadoPagoCredential.objects.update(**fields)


def _refuse_next_refresh(tenant) -> None:
    """As if a refresh had been lost: the stored refresh token is one already used."""
    spent = _credential(tenant).refresh_token
    oauth.refresh_credential(tenant=tenant)
    _set(tenant, refresh_token=spent)


def _banner(client) -> str:
    page = client.get(INDEX).text
    if 'id="reconnect-notice"' not in page:
        return ""
    return page.split('id="reconnect-notice"', 1)[1].split("</section>", 1)[0]


def test_invalid_grant_on_refresh_marks_the_connection_and_tells_each_owner_once(
    client, django_capture_on_commit_callbacks
):
    seller = make_oauth_tenant(site="MLA")
    owner = make_member(seller, "owner", "owner-en", language="en")
    other_owner = make_member(seller, "owner", "owner-pt", language="pt-br")
    manager = make_member(seller, "manager", "manager-en", language="en")
    _refuse_next_refresh(seller)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.NotConnected):
        oauth.refresh_credential(tenant=seller)
    credential = _credential(seller)
    assert credential.status == MercadoPagoCredential.Status.NEEDS_RECONNECT
    assert credential.reconnect_reason == "refresh_refused"
    assert credential.owners_told_at is not None
    assert sorted(message.to[0] for message in mail.outbox) == [owner.email, other_owner.email]
    by_owner = {message.to[0]: message for message in mail.outbox}
    english = by_owner[owner.email]
    assert "no longer accepts the authorization of" in english.body
    assert f"{reverse('tenants:mercadopago')}" in english.body
    [(html, _)] = english.alternatives
    assert '<html lang="en">' in html
    assert "no longer accepts the authorization of" in html
    [(html_pt, _)] = by_owner[other_owner.email].alternatives
    assert '<html lang="pt-br">' in html_pt

    client.force_login(owner)
    banner = _banner(client)
    assert "Payments stopped: connect Mercado Pago again" in banner
    assert "no longer accepts this seller's authorization" in banner
    assert f'href="{CONNECTION}"' in banner
    client.force_login(manager)
    assert _banner(client) == ""  # the connection is not theirs to manage

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the next run refuses again
        connection_health.mark_needs_reconnect(tenant=seller, reason="refresh_refused")
        connection_health.mark_needs_reconnect(tenant=seller, reason="unlinked")
    assert mail.outbox == []  # the same event: told once


def test_connecting_again_clears_the_banner_and_the_reason(
    client, tenant_a, owner_a, django_capture_on_commit_callbacks
):
    client.force_login(owner_a)
    client.get(_answer_consent(client))  # connected through OAuth
    _refuse_next_refresh(tenant_a)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.NotConnected):
        oauth.refresh_credential(tenant=tenant_a)
    assert "Payments stopped" in _banner(client)
    assert ">Connect again</a>" in client.get(CREDENTIALS).text

    client.get(_answer_consent(client))  # the owner connects again
    assert _banner(client) == ""
    credential = _credential(tenant_a)
    assert credential.status == MercadoPagoCredential.Status.CONNECTED
    assert credential.current_reconnect_reason == ""
    assert ">Connect Mercado Pago</a>" in client.get(CREDENTIALS).text
    with cross_tenant_scope():
        assert not connection_health.needing_reconnect().exists()


def test_a_token_nearing_expiry_unrenewed_tells_the_owners_once_per_expiry(
    client, django_capture_on_commit_callbacks
):
    seller = make_oauth_tenant(site="MLA")
    owner = make_member(seller, "owner", "owner-en", language="en")
    fresh = make_oauth_tenant(site="MLB")  # expires in 180 days: nothing to tell
    make_member(fresh, "owner", language="en")
    expiry = timezone.now() + timedelta(days=5)
    _set(seller, expires_at=expiry)

    with django_capture_on_commit_callbacks(execute=True):
        assert notify_expiring_credentials.delay().get() == 1
    [message] = mail.outbox
    assert message.to == [owner.email]
    assert "before it expires" in message.subject
    assert "could not be renewed" in message.body
    credential = _credential(seller)
    assert credential.reconnect_reason == "expiring"
    assert credential.status == MercadoPagoCredential.Status.CONNECTED
    assert services.seller_access_token(seller) == credential.access_token  # still works

    client.force_login(owner)
    banner = _banner(client)
    assert "Connect Mercado Pago again soon" in banner
    assert "could not be renewed" in banner

    tomorrow = time_machine.travel(timezone.now() + timedelta(days=1))  # the next day's run
    with tomorrow, django_capture_on_commit_callbacks(execute=True):
        assert notify_expiring_credentials.delay().get() == 0
    assert len(mail.outbox) == 1

    # Then the grant is refused: a new event, told again, and payments stop.
    _refuse_next_refresh(seller)
    _set(seller, expires_at=expiry)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.NotConnected):
        oauth.refresh_credential(tenant=seller)
    assert len(mail.outbox) == 2
    assert "Payments stopped" in _banner(client)


def test_a_renewed_token_leaves_the_expiry_notice_behind_and_a_later_expiry_is_told_again(
    client, django_capture_on_commit_callbacks
):
    seller = make_oauth_tenant(site="MLA")
    owner = make_member(seller, "owner", language="en")
    _set(seller, expires_at=timezone.now() + timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        notify_expiring_credentials.delay().get()
    assert len(mail.outbox) == 1

    oauth.refresh_credential(tenant=seller)  # renewed after all
    assert _credential(seller).current_reconnect_reason == ""
    client.force_login(owner)
    assert _banner(client) == ""

    _set(seller, expires_at=timezone.now() + timedelta(days=2))  # and again unrenewed
    with django_capture_on_commit_callbacks(execute=True):
        assert notify_expiring_credentials.delay().get() == 1
    assert len(mail.outbox) == 2


def test_a_typed_in_token_with_an_expiry_is_told_too(django_capture_on_commit_callbacks):
    seller = make_tenant(site="MLA")
    owner = make_member(seller, "owner", language="en")
    services.connect_with_access_token(tenant=seller, access_token=seller_access_token("MLA"))
    with django_capture_on_commit_callbacks(execute=True):
        assert notify_expiring_credentials.delay().get() == 0  # no expiry: nothing to tell
        _set(seller, expires_at=timezone.now() + timedelta(days=6))
        assert notify_expiring_credentials.delay().get() == 1
    [message] = mail.outbox
    assert message.to == [owner.email]


def test_the_admin_menu_offers_connect_mercado_pago_to_those_who_manage_it(client, tenant_a):
    owner = make_member(tenant_a, "owner", language="en")
    manager = make_member(tenant_a, "manager", language="en")
    client.force_login(owner)
    page = client.get(INDEX).text
    assert f'<a href="{CONNECTION}" id="mercadopago-link">Connect Mercado Pago</a>' in page
    assert (
        f'href="{CONNECTION}" class="addlink" id="connect-mercadopago"'
        in client.get(CREDENTIALS).text
    )
    client.force_login(manager)
    assert 'id="mercadopago-link"' not in client.get(INDEX).text
