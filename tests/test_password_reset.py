"""Password reset from the sign-in page: a link mailed in the account's language, working once,
and a form that never tells whether an address has an account nor floods a mailbox."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from tests.factories import make_member, make_tenant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

RESET = "/accounts/password-reset/"
SENT = "/accounts/password-reset/sent/"


@pytest.fixture
def person():
    return make_member(make_tenant(site="MLB"), "manager", "reset-person", language="pt-br")


def ask(client, capture, email: str, address: str = "127.0.0.1"):
    with capture(execute=True):
        return client.post(RESET, {"email": email}, REMOTE_ADDR=address)


def link_in(message) -> str:
    return re.search(r"http://\S+/accounts/password-reset/\S+/", message.body)[0]


def sign_in(client, username: str, password: str):
    return client.post(
        "/admin/login/", {"username": username, "password": password, "next": "/admin/"}
    )


def test_the_sign_in_page_links_to_the_reset(client):
    page = client.get("/admin/login/").content.decode()
    assert f'href="{RESET}" id="password-reset-link"' in page


def test_a_known_address_gets_a_link_in_the_accounts_language(
    client, person, django_capture_on_commit_callbacks
):
    response = ask(client, django_capture_on_commit_callbacks, "Reset-Person@example.com")

    assert response.status_code == 302
    assert response.url == SENT
    [message] = mail.outbox
    assert message.to == [person.email]
    url = link_in(message)
    assert "reset-person" in message.body  # the account's username
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert url in html
    assert '<html lang="pt-br">' in html  # Portuguese, as the person chose


def test_the_link_sets_a_new_password_once_and_the_person_signs_in(
    client, person, django_capture_on_commit_callbacks
):
    ask(client, django_capture_on_commit_callbacks, person.email)
    url = link_in(mail.outbox[0])

    form_page = client.get(url, follow=True)
    assert b'id="password-reset-confirm-form"' in form_page.content
    set_password_url = form_page.redirect_chain[-1][0]
    new = {"new_password1": "a-Brand-new-pass-42", "new_password2": "a-Brand-new-pass-42"}
    done = client.post(set_password_url, new)
    assert done.status_code == 302
    assert done.url == "/accounts/password-reset/done/"
    assert b'id="password-reset-complete"' in client.get(done.url).content

    assert sign_in(client, "reset-person", "a-Brand-new-pass-42").status_code == 302
    client.logout()
    again = client.get(url, follow=True)
    assert b'id="password-reset-invalid"' in again.content


def test_a_wrong_or_expired_link_does_not_work(client, person, django_capture_on_commit_callbacks):
    ask(client, django_capture_on_commit_callbacks, person.email)
    url = link_in(mail.outbox[0])

    wrong = client.get(url[:-3] + "xx/", follow=True)
    assert b'id="password-reset-invalid"' in wrong.content
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        expired = client.get(url, follow=True)
    assert b'id="password-reset-invalid"' in expired.content
    person.refresh_from_db()
    assert person.check_password("test-pass-123")


def test_an_unknown_address_reads_the_same_and_sends_nothing(
    client, person, django_capture_on_commit_callbacks
):
    known = ask(client, django_capture_on_commit_callbacks, person.email)
    unknown = ask(client, django_capture_on_commit_callbacks, "nobody@example.com")

    assert (unknown.status_code, unknown.url) == (known.status_code, known.url)
    assert len(mail.outbox) == 1  # the known address's only
    assert b'id="password-reset-sent"' in client.get(SENT).content


def test_an_inactive_account_gets_nothing(client, person, django_capture_on_commit_callbacks):
    person.is_active = False
    person.save(update_fields=["is_active"])

    response = ask(client, django_capture_on_commit_callbacks, person.email)

    assert response.url == SENT
    assert mail.outbox == []


@override_settings(PASSWORD_RESET_RATE="2/h")
def test_the_budget_per_address_and_per_client_stops_the_mails(
    client, person, django_capture_on_commit_callbacks
):
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):  # one mailbox, three clients
        assert ask(client, django_capture_on_commit_callbacks, person.email, address).url == SENT
    assert len(mail.outbox) == 2

    other = make_member(make_tenant(), "cashier", "reset-other")
    for _ in range(3):  # one client, whatever the addresses
        ask(client, django_capture_on_commit_callbacks, "nobody@example.com", "10.0.0.9")
    assert ask(client, django_capture_on_commit_callbacks, other.email, "10.0.0.9").url == SENT
    assert len(mail.outbox) == 2


@override_settings(LOGIN_FAILURE_LIMIT=3, AXES_FAILURE_LIMIT=3)
def test_a_reset_lifts_the_accounts_sign_in_lockout(
    client, person, django_capture_on_commit_callbacks
):
    for _ in range(3):
        sign_in(client, "reset-person", "wrong-password")
    assert sign_in(client, "reset-person", "test-pass-123").status_code == 429

    ask(client, django_capture_on_commit_callbacks, person.email)
    form_page = client.get(link_in(mail.outbox[0]), follow=True)
    new = {"new_password1": "a-Brand-new-pass-42", "new_password2": "a-Brand-new-pass-42"}
    client.post(form_page.redirect_chain[-1][0], new)

    assert sign_in(client, "reset-person", "a-Brand-new-pass-42").status_code == 302
