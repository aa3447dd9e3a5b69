"""The account pages in a real browser (Debian's headless Chromium) on a phone's width: password
reset from the sign-in page's link to signing in with the new password, and a seller's sign-up
from the form to its first page. axe-core finds no serious violation on any of them."""

import os
import re
from pathlib import Path

import pytest
from django.core import mail

from tenants.models import Tenant
from tests.browser import (
    chromium,  # noqa: F401 (fixture)
    fits_its_width,
    serious_violations,
)
from tests.factories import make_member, make_tenant

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_celery"),
]

SHOTS = os.environ.get("SCREENSHOTS_DIR")  # set it to look at the pages


def phone(chromium, live_server):  # noqa: F811
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    return context, context.new_page()


def looks_right(page, name: str) -> None:
    """No serious axe violation and no side scrolling (and a screenshot, with SCREENSHOTS_DIR)."""
    if SHOTS:
        page.screenshot(path=Path(SHOTS, f"{name}.png"), full_page=True)
    assert serious_violations(page) == [], name
    assert fits_its_width(page), name


def link_in_mail(pattern: str) -> str:
    """The path of the newest e-mail's link that ``pattern`` finds."""
    found = [re.search(pattern, message.body) for message in reversed(mail.outbox)]
    return next(match[1] for match in found if match)


def test_a_forgotten_password_is_reset_from_the_sign_in_page(chromium, live_server):  # noqa: F811
    make_member(make_tenant(site="MLM"), "manager", "forgetful", language="en")
    context, page = phone(chromium, live_server)

    page.goto("/admin/login/")
    looks_right(page, "login")
    page.click("#password-reset-link")
    page.wait_for_url("**/accounts/password-reset/")
    looks_right(page, "password-reset-form")
    page.fill("#id_email", "forgetful@example.com")
    page.click("#password-reset-form input[type=submit]")
    page.wait_for_url("**/accounts/password-reset/sent/")
    looks_right(page, "password-reset-sent")

    page.goto(link_in_mail(r"http://[^/\s]+(/accounts/password-reset/\S+/)"))
    page.wait_for_url("**/set-password/")
    looks_right(page, "password-reset-confirm")
    page.fill("#id_new_password1", "short")
    page.fill("#id_new_password2", "short")
    page.click("#password-reset-confirm-form input[type=submit]")
    assert "too short" in page.inner_text("#password-reset-confirm-form")
    looks_right(page, "password-reset-confirm-errors")
    page.fill("#id_new_password1", "a-Brand-new-pass-42")
    page.fill("#id_new_password2", "a-Brand-new-pass-42")
    page.click("#password-reset-confirm-form input[type=submit]")
    page.wait_for_url("**/accounts/password-reset/done/")
    looks_right(page, "password-reset-complete")

    page.click("#sign-in-link")
    page.fill("#id_username", "forgetful")
    page.fill("#id_password", "a-Brand-new-pass-42")
    page.click("#login-form input[type=submit]")
    page.wait_for_url(lambda url: "/admin/login/" not in url)
    assert page.locator("#logout-form").count() == 1
    context.close()


def test_a_seller_signs_up_and_lands_signed_in(chromium, live_server, settings):  # noqa: F811
    settings.SELF_SIGNUP = True
    context, page = phone(chromium, live_server)

    page.goto("/admin/login/")
    page.click("#signup-link")
    page.wait_for_url("**/accounts/signup/")
    looks_right(page, "signup-form")
    page.fill("#id_business_name", "Café Aurora")
    page.select_option("#id_site", "MLB")
    page.fill("#id_email", "aurora@example.com")
    page.fill("#id_password", "12345678")
    page.click("#signup-form input[type=submit]")
    assert "This password is too common." in page.inner_text("#signup-form")
    looks_right(page, "signup-form-errors")
    page.fill("#id_password", "a-Good-signup-pass-7")
    page.click("#signup-form input[type=submit]")
    page.wait_for_url("**/accounts/signup/sent/")
    looks_right(page, "signup-sent")

    page.goto(link_in_mail(r"http://[^/\s]+(/accounts/signup/verify/\S+/)"))
    looks_right(page, "signup-confirm")
    page.click("#signup-confirm-form input[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/" not in page.url
    assert "/admin/login/" not in page.url
    assert Tenant.objects.get(name="Café Aurora").site == "MLB"
    if SHOTS:
        page.screenshot(path=Path(SHOTS, "signup-landed.png"), full_page=True)
    context.close()


def test_a_person_changes_their_e_mail_address(chromium, live_server):  # noqa: F811
    make_member(make_tenant(site="MLA"), "owner", "mover", language="en")
    context, page = phone(chromium, live_server)
    page.goto("/admin/login/?next=/accounts/language/")
    page.fill("#id_username", "mover")
    page.fill("#id_password", "test-pass-123")
    page.click("#login-form input[type=submit]")
    page.wait_for_url("**/accounts/language/")

    page.click("#email-change-link")
    page.wait_for_url("**/accounts/email/")
    looks_right(page, "email-change-form")
    page.fill("#id_new_email", "moved@example.com")
    page.fill("#id_password", "wrong-password")
    page.click("#email-change-form input[type=submit]")
    assert "Your password is not right." in page.inner_text("#email-change-form")
    looks_right(page, "email-change-form-errors")
    page.fill("#id_password", "test-pass-123")
    page.click("#email-change-form input[type=submit]")
    page.wait_for_selector("#email-change-sent")
    looks_right(page, "email-change-sent")

    page.goto(link_in_mail(r"http://[^/\s]+(/accounts/email/confirm/\S+/)"))
    assert "moved@example.com" in page.inner_text("#email-change-done")
    looks_right(page, "email-change-done")
    context.close()
