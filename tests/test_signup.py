"""Self-signup of sellers (SELF_SIGNUP, off by default): an inactive account, a verification link
that activates it, creates the seller with the account as owner and signs the person in."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from tenants.models import Membership, Tenant, User
from tenants.scope import cross_tenant_scope
from tests.factories import make_member, make_tenant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

PAGE = "/accounts/signup/"
FORM = {
    "business_name": "Panadería Sol",
    "site": "MLA",
    "email": "Owner@Example.com",
    "password": "a-Good-signup-pass-7",
}


def sign_up(client, capture, **changes):
    with capture(execute=True):
        return client.post(PAGE, FORM | changes)


def verification_link() -> str:
    [message] = mail.outbox
    return re.search(r"http://\S+(/accounts/signup/verify/\S+/)", message.body)[1]


def test_off_by_default_the_page_is_missing_and_not_linked(client):
    assert client.get(PAGE).status_code == 404
    assert client.get("/accounts/signup/sent/").status_code == 404
    assert b"signup-link" not in client.get("/admin/login/").content


@override_settings(SELF_SIGNUP=True)
def test_the_sign_in_page_links_to_the_signup_when_on(client):
    assert f'href="{PAGE}" id="signup-link"' in client.get("/admin/login/").content.decode()
    assert b'id="signup-form"' in client.get(PAGE).content


@override_settings(SELF_SIGNUP=True)
def test_signing_up_makes_an_inactive_account_and_mails_a_link(
    client, django_capture_on_commit_callbacks
):
    response = sign_up(client, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response.url == "/accounts/signup/sent/"
    account = User.objects.get(email="owner@example.com")
    assert (account.username, account.is_active) == ("owner@example.com", False)
    assert account.check_password(FORM["password"])
    [message] = mail.outbox
    assert message.to == ["owner@example.com"]
    assert "Panadería Sol" in message.body
    assert verification_link() in message.alternatives[0][0]
    assert not Tenant.objects.filter(name="Panadería Sol").exists()


@override_settings(SELF_SIGNUP=True)
def test_the_link_activates_creates_the_seller_and_signs_in(
    client, django_capture_on_commit_callbacks
):
    sign_up(client, django_capture_on_commit_callbacks)
    link = verification_link()

    # Opening the link (as a mail scanner does) only asks to confirm: nothing starts.
    asked = client.get(link)
    assert b'id="signup-confirm-form"' in asked.content
    assert "Panader\u00eda Sol" in asked.content.decode()
    assert not User.objects.get(email="owner@example.com").is_active
    assert not Tenant.objects.filter(name="Panader\u00eda Sol").exists()
    assert "_auth_user_id" not in client.session

    response = client.post(link)

    assert response.status_code == 302
    assert response.url == "/"
    account = User.objects.get(email="owner@example.com")
    assert account.is_active
    seller = Tenant.objects.get(name="Panadería Sol")
    assert seller.site == "MLA"
    with cross_tenant_scope():
        assert Membership.objects.get(tenant=seller).user == account
        assert Membership.objects.get(tenant=seller).role == "owner"
    assert client.get("/admin/").status_code == 200  # signed in, as the seller's owner


@override_settings(SELF_SIGNUP=True)
def test_a_used_link_creates_no_second_seller(client, django_capture_on_commit_callbacks):
    sign_up(client, django_capture_on_commit_callbacks)
    link = verification_link()
    client.post(link)
    client.logout()

    again = client.post(link)

    assert again.status_code == 400
    assert b'id="signup-used"' in again.content
    assert Tenant.objects.filter(name="Panadería Sol").count() == 1
    assert "_auth_user_id" not in client.session


@override_settings(SELF_SIGNUP=True)
def test_an_expired_or_replaced_link_does_not_work(client, django_capture_on_commit_callbacks):
    sign_up(client, django_capture_on_commit_callbacks)
    first = verification_link()
    with time_machine.travel(timezone.now() + timedelta(days=2, minutes=1)):
        assert b'id="signup-invalid"' in client.post(first).content

    mail.outbox.clear()
    sign_up(client, django_capture_on_commit_callbacks, password="another-Good-pass-8")
    assert User.objects.filter(email="owner@example.com").count() == 1  # the same account
    assert b'id="signup-invalid"' in client.get(first).content  # the later sign-up replaced it
    assert client.post(verification_link()).status_code == 302
    assert User.objects.get(email="owner@example.com").check_password("another-Good-pass-8")


@override_settings(SELF_SIGNUP=True)
def test_an_address_with_an_account_reads_the_same_and_is_told_to_reset(
    client, django_capture_on_commit_callbacks
):
    existing = make_member(make_tenant(), "owner", "owner@example.com", language="en")
    existing.email = "owner@example.com"
    existing.save(update_fields=["email"])

    response = sign_up(client, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response.url == "/accounts/signup/sent/"
    [message] = mail.outbox
    assert message.to == ["owner@example.com"]
    assert "http://127.0.0.1:8000/accounts/password-reset/" in message.body
    assert "/accounts/signup/verify/" not in message.body
    existing.refresh_from_db()
    assert existing.check_password("test-pass-123")  # nothing changed
    assert not Tenant.objects.filter(name="Panadería Sol").exists()


@override_settings(SELF_SIGNUP=True)
def test_weak_passwords_are_refused(client, django_capture_on_commit_callbacks):
    response = sign_up(client, django_capture_on_commit_callbacks, password="12345678")

    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert not User.objects.filter(email="owner@example.com").exists()


@override_settings(SELF_SIGNUP=True, SIGNUP_RATE="2/h")
def test_signups_per_client_are_limited(client, django_capture_on_commit_callbacks):
    for number in range(3):
        response = sign_up(client, django_capture_on_commit_callbacks, email=f"s{number}@x.com")
        assert response.url == "/accounts/signup/sent/"
    assert len(mail.outbox) == 2
    assert not User.objects.filter(email="s2@x.com").exists()
