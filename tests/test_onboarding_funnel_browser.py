"""Issue 18's funnel in a real browser (Debian's headless Chromium), from the integrator's
invitation to a live seller, with nobody's help: platform staff add a seller with its owner's
e-mail → the owner opens the e-mail's link and sets a password → connects Mercado Pago through
the sandbox's OAuth page → creates a store and a POS in the admin → opens the sticker → takes a
test payment on the cashier page → the console shows the seller live with its volume. Every page
on the way passes the axe-core check and fits a phone's width.

With ``SCREENSHOTS_DIR`` set, each step is saved there (docs/onboarding.md's screenshots).
"""

import os
import re
from pathlib import Path

import pytest
from django.core import mail

from orders.models import Order, Status
from tenants.models import Membership, Tenant
from tenants.scope import tenant_scope
from tests.browser import (
    chromium,  # noqa: F401 (fixture)
    fits_its_width,
    serious_violations,
)
from tests.factories import make_user
from tests.orders.conftest import pay
from tests.sandbox.api_helpers import COORDINATES

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_celery"),  # e-mails, webhooks and syncs run as they are sent
]

SHOTS = os.environ.get("SCREENSHOTS_DIR")
OWNER = "duena@cafe-norte.example"
PASSWORD = "Norte-cafe-2026"


def looks_right(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=Path(SHOTS, f"onboarding-{name}.png"), full_page=True)
    assert serious_violations(page) == [], name
    assert fits_its_width(page), name


def invitation_link() -> str:
    [message] = [message for message in mail.outbox if message.to == [OWNER]]
    return re.search(r"https?://[^/\s]+(/accounts/invitations/\S+/)", message.body)[1]


def test_an_invited_owner_goes_from_the_email_to_a_live_seller(
    chromium,  # noqa: F811
    live_server,
    client,
    settings,
):
    settings.SITE_URL = live_server.url  # the OAuth callback and the e-mail's links
    answer = client.put(
        "/sandbox/_control/application",
        {"webhook_url": f"{live_server.url}/webhooks/mercadopago/"},
        content_type="application/json",
    )
    assert answer.status_code == 200
    make_user("integrator", is_superuser=True, is_staff=True, language="en")

    # The integrator adds the seller with its owner's e-mail: an invitation, nobody attached.
    staff = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    desk = staff.new_page()
    desk.goto("/admin/login/")
    desk.fill("#id_username", "integrator")
    desk.fill("#id_password", "test-pass-123")
    desk.click("input[type=submit]")
    desk.goto("/admin/tenants/tenant/add/")
    desk.fill("#id_name", "Café Norte")
    desk.select_option("#id_site", "MLA")
    desk.fill("#id_fee_percent", "2")
    desk.fill("#id_owner_email", OWNER)
    desk.click("input[name=_save]")
    assert OWNER in desk.inner_text("ul.messagelist")
    seller = Tenant.objects.get(slug="cafe-norte")  # the admin made it of the name
    with tenant_scope(seller):
        assert not Membership.objects.exists()

    # The owner opens the e-mail's link on a phone and sets a password: signed in, an owner.
    owner = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    phone = owner.new_page()
    phone.goto(invitation_link())
    looks_right(phone, "1-set-password")
    phone.fill("#id_new_password1", PASSWORD)
    phone.fill("#id_new_password2", PASSWORD)
    phone.click("#invitation-password [type=submit]")
    phone.locator("#setup-checklist").wait_for()
    with tenant_scope(seller):
        assert Membership.objects.get().role == "owner"
    assert phone.locator("#setup-step-connect").get_attribute("aria-current") == "step"
    looks_right(phone, "2-checklist")

    # Connect Mercado Pago: the checklist's link, the sandbox's consent page, back connected.
    phone.click("#setup-step-connect a")
    phone.click("a.button[href$='/mercadopago/connect/']")
    phone.wait_for_url("**/sandbox/authorization?**")
    phone.fill("#nickname", "TESTSELLERMLA")
    phone.fill("#password", "sandbox")
    phone.click("button[value=allow]")
    phone.wait_for_url("**/tenants/mercadopago/")
    seller.refresh_from_db()
    assert seller.mp_user_id is not None

    # A store and a POS, from the checklist's links, synced with Mercado Pago as they are saved.
    phone.goto("/admin/")
    assert "done" in phone.locator("#setup-step-connect").get_attribute("class")
    phone.click("#setup-step-store a")
    latitude, longitude = COORDINATES["MLA"]
    for field, value in {
        "name": "Centro",
        "external_id": "CENTRO1",
        "street_name": "Av. Corrientes",
        "street_number": "1234",
        "city": "CABA",
        "state": "Buenos Aires",
        "latitude": str(latitude),
        "longitude": str(longitude),
    }.items():
        phone.fill(f"#id_{field}", value)
    phone.click("input[name=_save]")
    phone.wait_for_url("**/admin/pos/store/")
    phone.goto("/admin/")
    phone.click("#setup-step-pos a")
    phone.select_option("#id_store", label="Centro")
    phone.fill("#id_name", "Caja 1")
    phone.fill("#id_external_id", "CAJA1")
    phone.click("input[name=_save]")
    phone.wait_for_url("**/admin/pos/pointofsale/")

    # The sticker, then a test payment at the cashier page.
    phone.goto("/admin/")
    phone.click("#setup-step-sticker a")
    phone.wait_for_url("**/sticker/")
    phone.goto("/admin/")
    assert phone.locator("#setup-step-payment").get_attribute("aria-current") == "step"
    looks_right(phone, "3-checklist-four-done")
    phone.click("#setup-step-payment a")
    phone.wait_for_url("**/cashier/")
    phone.fill("#id_amount", "1.500,50")
    phone.fill("#id_description", "Prueba")
    phone.click("#cashier-form input[type=submit]")
    phone.wait_for_url("**/cashier/?order=*")
    with tenant_scope(seller):
        order = Order.objects.get()
    pay(client, order)  # the buyer's wallet; Mercado Pago's webhook reaches the live server
    phone.locator("#order-final[data-state=paid]").wait_for(state="visible", timeout=15_000)
    with tenant_scope(seller):
        assert Order.objects.get().status == Status.PROCESSED
    phone.goto("/admin/")
    assert "setup-complete" in phone.locator("#setup-checklist").get_attribute("class")
    owner.close()

    # The integrator's console shows the seller live, with today's payment and volume.
    desk.goto("/console/")
    row = desk.locator("#seller-cafe-norte")
    assert row.locator(".console-stage").get_attribute("data-stage") == "live"
    assert OWNER in row.inner_text()
    assert "1 · ARS\xa01,500.50" in row.inner_text()  # today, and over 7 days
    assert "ARS\xa030.01" in row.inner_text()  # the 2 % marketplace fee earned
    looks_right(desk, "4-console")
    staff.close()
