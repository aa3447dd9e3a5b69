"""An invited owner on a phone (Debian's headless Chromium): the e-mail's link, a password, and
the admin of their seller, signed in."""

import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail

from accounts import invitations
from tenants.models import Membership
from tenants.roles import Role
from tenants.scope import tenant_scope
from tests.browser import (
    chromium,  # noqa: F401 (fixture)
    fits_its_width,
    serious_violations,
)
from tests.factories import make_member, make_tenant, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_celery"),
]

SHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or Path(tempfile.gettempdir(), "shots", "inv"))


def test_an_invited_owner_sets_a_password_on_a_phone_and_lands_signed_in(
    chromium,  # noqa: F811
    live_server,
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    seller = make_tenant("Parrilla Don Julio", site="MLA")
    staff = make_user("ops", is_staff=True, is_platform_staff=True)
    invitations.invite(tenant=seller, email="julio@example.com", role=Role.OWNER, invited_by=staff)
    [message] = mail.outbox
    link = re.search(r"https?://\S+/accounts/invitations/[^/\s]+/", message.body).group()

    context = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(urlsplit(link).path)
    assert page.locator("html").get_attribute("lang") == "es-ar"  # the e-mail's language
    assert "Parrilla Don Julio" in page.inner_text("#content-main")
    assert serious_violations(page) == []
    assert fits_its_width(page)
    page.screenshot(path=SHOTS / "invitation-password.png", full_page=True)

    page.fill("#id_new_password1", "short")
    page.fill("#id_new_password2", "short")
    page.click("#invitation-password input[type=submit]")
    assert page.locator(".errorlist").count() >= 1  # Django's password validators
    assert serious_violations(page) == []
    assert fits_its_width(page)
    page.screenshot(path=SHOTS / "invitation-password-error.png", full_page=True)

    page.fill("#id_new_password1", "asado-de-tira-2026")
    page.fill("#id_new_password2", "asado-de-tira-2026")
    page.click("#invitation-password input[type=submit]")
    page.wait_for_url("**/admin/")
    assert "Parrilla Don Julio" in page.inner_text("#tenant-switcher")  # signed in, acting for it
    assert page.locator(".messagelist .success").count() == 1
    assert serious_violations(page) == []
    page.screenshot(path=SHOTS / "invitation-joined.png", full_page=True)
    with tenant_scope(seller):
        assert Membership.objects.get().user.email == "julio@example.com"
        assert Membership.objects.get().role == Role.OWNER
    context.close()


def test_an_account_signs_in_from_the_invitation_and_accepts(
    chromium,  # noqa: F811
    live_server,
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    seller, other = make_tenant("Heladería Sur", site="MLU"), make_tenant("Kiosco", site="MLU")
    owner = make_member(seller, Role.OWNER, "owner-sur")
    maria = make_member(other, Role.CASHIER, "maria")
    invitations.invite(tenant=seller, email=maria.email, role=Role.MANAGER, invited_by=owner)
    link = re.search(r"https?://\S+/accounts/invitations/[^/\s]+/", mail.outbox[-1].body).group()

    context = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(urlsplit(link).path)
    assert serious_violations(page) == []
    assert fits_its_width(page)
    page.screenshot(path=SHOTS / "invitation-sign-in.png", full_page=True)
    page.click("#invitation-sign-in")
    page.fill("#id_username", "maria")
    page.fill("#id_password", "test-pass-123")
    page.click("#login-form input[type=submit]")
    page.wait_for_url(f"**{urlsplit(link).path}")
    assert serious_violations(page) == []
    assert fits_its_width(page)
    page.screenshot(path=SHOTS / "invitation-accept.png", full_page=True)
    page.click("#invitation-accept input[type=submit]")
    page.wait_for_url("**/admin/")  # she acts for the seller she joined, as its manager
    assert "Heladería Sur" in page.inner_text("#tenant-switcher")
    assert serious_violations(page) == []
    with tenant_scope(seller):
        assert Membership.objects.get(user=maria).role == Role.MANAGER
    context.close()
