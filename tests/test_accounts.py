"""Sign-in lockout (django-axes) on the admin's sign-in and the OAuth2 token endpoint, and the
second factor (TOTP, django-otp) of platform staff: enrolment, sign-in, the requirement."""

import base64

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from partners import scopes
from partners.services import install_application
from tests.factories import make_member, make_tenant, make_user

pytestmark = pytest.mark.django_db

PASSWORD = "test-pass-123"  # tests.factories.make_user's
LOGIN = "/admin/login/?next=/admin/"


def sign_in(client: Client, username: str, password: str, address: str, code: str = ""):
    return client.post(
        LOGIN,
        {"username": username, "password": password, "otp_token": code},
        REMOTE_ADDR=address,
    )


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def code_of(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


# Lockout of the admin's sign-in ------------------------------------------------------------------


def test_an_account_is_locked_after_five_wrong_passwords_even_for_the_right_one(settings):
    owner = make_member(make_tenant(), "owner")
    client = Client()
    answers = [
        sign_in(client, owner.username, f"guess-{n}", f"203.0.113.{n}").status_code
        for n in range(1, 7)
    ]
    # Four wrong passwords show the form again; the fifth locks, from any address.
    assert answers == [200, 200, 200, 200, 429, 429]

    right = sign_in(client, owner.username, PASSWORD, "198.51.100.9")

    assert right.status_code == 429
    assert not signed_in(client)
    assert "Too many failed sign-ins" in right.text  # a page for people, not a stack trace
    assert right["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    stored = AccessAttempt.objects.values_list("post_data", flat=True)
    assert not any("guess-" in data for data in stored)  # passwords are never stored


def test_the_lock_ends_after_the_cool_off(settings):
    owner = make_member(make_tenant(), "owner")
    client = Client()
    with time_machine.travel("2026-03-01 12:00:00Z", tick=False) as clock:
        for n in range(5):
            sign_in(client, owner.username, f"guess-{n}", "203.0.113.1")
        assert sign_in(client, owner.username, PASSWORD, "203.0.113.1").status_code == 429
        clock.shift(settings.AXES_COOLOFF_TIME.total_seconds() + 1)  # after the last attempt
        assert sign_in(client, owner.username, PASSWORD, "203.0.113.1").status_code == 302
        assert signed_in(client)


def test_an_address_is_locked_across_accounts_as_the_trusted_proxy_saw_it(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    tenant = make_tenant()
    victim, other = make_member(tenant, "owner"), make_member(tenant, "cashier")
    proxy = "10.0.0.2"
    client = Client(REMOTE_ADDR=proxy)
    for n in range(5):  # one wrong password each for five accounts, from one address
        client.post(
            LOGIN,
            {"username": f"someone-{n}", "password": "guess"},
            HTTP_X_FORWARDED_FOR="203.0.113.7",
        )

    attacker = Client(REMOTE_ADDR=proxy)
    refused = attacker.post(
        LOGIN,
        {"username": victim.username, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="203.0.113.7",
    )
    # A forged X-Forwarded-For entry to the left of the proxy's changes nothing.
    forged = attacker.post(
        LOGIN,
        {"username": victim.username, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="192.0.2.55, 203.0.113.7",
    )
    elsewhere = Client(REMOTE_ADDR=proxy)
    accepted = elsewhere.post(
        LOGIN,
        {"username": other.username, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )

    assert (refused.status_code, forged.status_code) == (429, 429)
    assert not signed_in(attacker)
    assert accepted.status_code == 302  # the same proxy, another client: not locked
    assert signed_in(elsewhere)


@pytest.mark.parametrize("page", ["/cashier/", "/o/authorize/?client_id=x&response_type=code"])
def test_the_cashier_and_consent_pages_send_people_to_the_locked_sign_in(client, page):
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login") + "?next=")


# Lockout of the token endpoint -------------------------------------------------------------------


def _app(tenant) -> tuple[str, str]:
    application, secret = install_application(
        tenant=tenant, name="POS app", requested=frozenset({"orders:read"}), user=None
    )
    return application.client_id, secret


def token(client_id: str, secret: str, address: str, *, basic: bool = True):
    fields = {"grant_type": "client_credentials", "scope": scopes.join({"orders:read"})}
    headers = {}
    if basic:
        pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        headers["Authorization"] = f"Basic {pair}"
    else:
        fields |= {"client_id": client_id, "client_secret": secret}
    return Client().post("/o/token/", fields, headers=headers, REMOTE_ADDR=address)


def test_a_client_id_is_locked_after_five_wrong_secrets_even_for_the_right_one():
    client_id, secret = _app(make_tenant())
    answers = [
        token(client_id, f"guess-{n}", f"203.0.113.{n}", basic=n % 2 == 0).status_code
        for n in range(1, 7)
    ]
    assert answers == [401, 401, 401, 401, 429, 429]

    right = token(client_id, secret, "198.51.100.9")

    assert right.status_code == 429
    assert right.json()["error"] == "too_many_attempts"
    assert "access_token" not in right.json()
    stored = " ".join(AccessAttempt.objects.values_list("post_data", flat=True))
    assert "guess-" not in stored  # secrets sent in the body are masked


def test_an_address_is_locked_on_the_token_endpoint_across_clients():
    tenant = make_tenant()
    for n in range(5):
        token(f"no-such-client-{n}", "guess", "203.0.113.7")
    client_id, secret = _app(tenant)

    assert token(client_id, secret, "203.0.113.7").status_code == 429
    assert token(client_id, secret, "198.51.100.1").status_code == 200


# Second factor -----------------------------------------------------------------------------------


@pytest.fixture
def staff():
    return make_user(is_staff=True, is_superuser=True)


def test_staff_enrol_an_authenticator_app_with_a_qr_and_a_code(staff):
    client = Client()
    client.force_login(staff)

    page = client.get("/accounts/two-factor/")
    assert page.status_code == 200
    assert 'id="two-factor-qr" src="data:image/svg+xml;base64,' in page.text
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    shown = page.context["secret"]
    assert shown.replace(" ", "") == secret
    assert client.get("/accounts/two-factor/").context["secret"] == shown  # the same until done

    with time_machine.travel("2026-03-01 12:00:00Z", tick=False) as clock:
        client.force_login(staff)
        wrong = client.post("/accounts/two-factor/", {"otp_token": "000000", "next": "/admin/"})
        assert wrong.status_code == 200
        assert "That code is not right" in wrong.text
        assert not TOTPDevice.objects.filter(user=staff, confirmed=True).exists()

        clock.shift(60)  # django-otp slows down the next try after a wrong code
        done = client.post(
            "/accounts/two-factor/", {"otp_token": code_of(device), "next": "/admin/"}
        )

        assert done.status_code == 302
        assert done["Location"] == "/admin/"
        assert TOTPDevice.objects.get(user=staff).confirmed
        assert client.get("/admin/").status_code == 200  # this session is verified


def test_a_member_of_a_seller_cannot_enrol(client):
    client.force_login(make_member(make_tenant(), "owner"))
    assert client.get("/accounts/two-factor/").status_code == 403


def test_with_an_app_signing_in_needs_its_code(staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    with time_machine.travel("2026-03-01 12:00:00Z", tick=False) as clock:
        without = Client()
        no_code = sign_in(without, staff.username, PASSWORD, "198.51.100.1")
        wrong_code = sign_in(without, staff.username, PASSWORD, "198.51.100.1", "123456")
        assert (no_code.status_code, wrong_code.status_code) == (200, 200)
        assert "and the code of your authenticator app" in wrong_code.text
        assert not signed_in(without)

        clock.shift(60)  # the throttle of wrong codes has passed
        client = Client()
        accepted = sign_in(client, staff.username, PASSWORD, "198.51.100.2", code_of(device))
        assert accepted.status_code == 302
        assert client.get("/admin/").status_code == 200
        replayed = sign_in(Client(), staff.username, PASSWORD, "198.51.100.3", code_of(device))
        assert replayed.status_code == 200  # a code signs in once


def test_wrong_codes_count_towards_the_lockout(staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    client = Client()
    answers = [
        sign_in(client, staff.username, PASSWORD, f"203.0.113.{n}", "123456").status_code
        for n in range(5)
    ]
    assert answers == [200, 200, 200, 200, 429]
    right = sign_in(client, staff.username, PASSWORD, "198.51.100.4", code_of(device))
    assert right.status_code == 429
    assert not signed_in(client)


def test_a_session_without_the_code_ends_once_the_user_has_an_app(staff):
    client = Client()
    client.force_login(staff)  # as a session begun before the app was enrolled
    TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not signed_in(client)


def test_the_requirement_sends_staff_without_an_app_to_enrolment_first(settings, staff):
    settings.STAFF_REQUIRE_2FA = True
    client = Client()
    client.force_login(staff)
    cashier = Client()
    cashier.force_login(make_member(make_tenant(), "cashier"))

    response = client.get("/admin/orders/order/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/two-factor/?next=%2Fadmin%2Forders%2Forder%2F"
    assert client.get("/accounts/two-factor/").status_code == 200
    assert cashier.get("/admin/").status_code == 200  # sellers' people are not asked
    settings.STAFF_REQUIRE_2FA = False
    assert client.get("/admin/orders/order/").status_code == 200


def test_the_revocation_endpoint_cannot_serve_to_guess_a_client_secret():
    client_id, secret = _app(make_tenant())

    def revoke(guess: str):
        fields = {"token": "whatever", "client_id": client_id, "client_secret": guess}
        return Client().post("/o/revoke_token/", fields, REMOTE_ADDR="203.0.113.50")

    answers = [revoke(f"guess-{n}").status_code for n in range(6)]

    assert answers[-1] == 429
    assert revoke(secret).status_code == 429


def test_the_introspection_endpoint_cannot_serve_to_guess_a_client_secret():
    client_id, secret = _app(make_tenant())

    def introspect(guess: str):
        fields = {"token": "whatever", "client_id": client_id, "client_secret": guess}
        return Client().post("/o/introspect/", fields, REMOTE_ADDR="203.0.113.51")

    answers = [introspect(f"guess-{n}").status_code for n in range(6)]

    assert answers[:4] == [403] * 4
    assert answers[-1] == 429
    assert introspect(secret).status_code == 429


def test_the_admin_leads_staff_and_only_staff_to_enrolment(staff):
    owner = make_member(make_tenant(), "owner", "owner-enrol")
    staff_client, owner_client = Client(), Client()
    staff_client.force_login(staff)
    owner_client.force_login(owner)

    link = '<a href="/accounts/two-factor/" id="two-factor-link">'
    assert link in staff_client.get("/admin/").text
    assert "two-factor-link" not in owner_client.get("/admin/").text
