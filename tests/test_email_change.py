"""Changing one's e-mail address: a link to the new address (and a notice to the old one) that
works for the account that asked, for a day, while the address is still the one it replaces."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from tests.factories import make_member, make_tenant, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

PAGE = "/accounts/email/"


@pytest.fixture
def person():
    return make_member(make_tenant(), "owner", "change-person", language="en")


def ask(client, capture, new_email: str, password: str = "test-pass-123"):  # noqa: S107
    with capture(execute=True):
        return client.post(PAGE, {"new_email": new_email, "password": password})


def confirmation_link() -> str:
    [message] = [m for m in mail.outbox if m.to == ["new@example.com"]]
    return re.search(r"http://\S+(/accounts/email/confirm/\S+/)", message.body)[1]


def test_the_language_page_links_here(client, person):
    client.force_login(person)
    assert (
        f'href="{PAGE}" id="email-change-link"'
        in client.get("/accounts/language/").content.decode()
    )


def test_the_new_address_confirms_and_the_old_one_is_told(
    client, person, django_capture_on_commit_callbacks
):
    client.force_login(person)
    response = ask(client, django_capture_on_commit_callbacks, "New@Example.com")

    assert b'id="email-change-sent"' in response.content
    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {"new@example.com", "change-person@example.com"}
    confirm, notice = by_address["new@example.com"], by_address["change-person@example.com"]
    link = confirmation_link()
    assert link in confirm.body
    assert link in confirm.alternatives[0][0]
    assert "/accounts/email/confirm/" not in notice.body + notice.alternatives[0][0]
    assert "new@example.com" in notice.body
    person.refresh_from_db()
    assert person.email == "change-person@example.com"  # nothing changes before the link

    done = client.get(link)
    assert done.status_code == 200
    assert b'id="email-change-done"' in done.content
    person.refresh_from_db()
    assert (person.email, person.username) == ("new@example.com", "change-person")


def test_a_username_that_was_the_address_follows_it(client, django_capture_on_commit_callbacks):
    person = make_user("me@example.com")
    person.email = "me@example.com"
    person.save()
    client.force_login(person)
    ask(client, django_capture_on_commit_callbacks, "new@example.com")

    client.get(confirmation_link())

    person.refresh_from_db()
    assert (person.email, person.username) == ("new@example.com", "new@example.com")


def test_a_wrong_password_changes_nothing_and_sends_nothing(
    client, person, django_capture_on_commit_callbacks
):
    client.force_login(person)
    response = ask(client, django_capture_on_commit_callbacks, "new@example.com", "wrong")

    assert response.status_code == 200
    assert "Your password is not right." in response.content.decode()
    assert mail.outbox == []


@override_settings(EMAIL_CHANGE_RATE="2/h")
def test_guessing_the_password_is_limited(client, person, django_capture_on_commit_callbacks):
    client.force_login(person)
    for _ in range(2):
        ask(client, django_capture_on_commit_callbacks, "new@example.com", "wrong")
    response = ask(client, django_capture_on_commit_callbacks, "new@example.com")
    assert response.status_code == 429
    assert mail.outbox == []


def test_an_expired_link_does_not_work(client, person, django_capture_on_commit_callbacks):
    client.force_login(person)
    ask(client, django_capture_on_commit_callbacks, "new@example.com")

    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        response = client.get(confirmation_link())

    assert response.status_code == 400
    assert b'id="email-change-invalid"' in response.content
    person.refresh_from_db()
    assert person.email == "change-person@example.com"


def test_the_link_dies_once_the_address_changed(client, person, django_capture_on_commit_callbacks):
    client.force_login(person)
    ask(client, django_capture_on_commit_callbacks, "new@example.com")
    link = confirmation_link()
    person.email = "meanwhile@example.com"
    person.save(update_fields=["email"])

    response = client.get(link)

    assert response.status_code == 400
    assert b'id="email-change-invalid"' in response.content
    person.refresh_from_db()
    assert person.email == "meanwhile@example.com"


def test_the_link_works_once(client, person, django_capture_on_commit_callbacks):
    client.force_login(person)
    ask(client, django_capture_on_commit_callbacks, "new@example.com")
    link = confirmation_link()
    assert client.get(link).status_code == 200

    assert b'id="email-change-invalid"' in client.get(link).content


def test_an_address_of_another_account_cannot_be_used(
    client, person, django_capture_on_commit_callbacks
):
    other = make_user("someone-else")
    client.force_login(person)
    ask(client, django_capture_on_commit_callbacks, "new@example.com")  # the page says nothing
    other.email = "NEW@example.com"
    other.save(update_fields=["email"])

    response = client.get(confirmation_link())

    assert response.status_code == 400
    assert b'id="email-change-taken"' in response.content
    person.refresh_from_db()
    assert person.email == "change-person@example.com"


def test_the_link_asks_to_sign_in_and_serves_only_its_account(
    client, person, django_capture_on_commit_callbacks
):
    client.force_login(person)
    ask(client, django_capture_on_commit_callbacks, "new@example.com")
    link = confirmation_link()
    client.logout()

    signed_out = client.get(link)
    assert signed_out.status_code == 302
    assert signed_out.url.startswith("/admin/login/?next=")
    client.force_login(make_member(make_tenant(), "owner", "intruder", language="en"))
    response = client.get(link)
    assert response.status_code == 400
    assert b'id="email-change-other"' in response.content
    person.refresh_from_db()
    assert person.email == "change-person@example.com"
