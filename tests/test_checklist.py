"""The owner's first steps on the admin's index: "Get ready to take payments"."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from pos.models import PointOfSale
from sandbox.seed import seller_access_token
from tenants import services
from tenants.checklist import setup_checklist
from tenants.models import MercadoPagoCredential
from tenants.roles import Role
from tenants.scope import tenant_scope
from tests.factories import make_member, make_order, make_pos, make_store, make_tenant, make_user

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


def _state(tenant) -> dict[str, bool]:
    return {step.key: step.done for step in setup_checklist(tenant).steps}


def test_the_steps_tick_themselves_one_by_one_and_link_where_they_are_done():
    tenant = make_tenant(site="MLA")
    checklist = setup_checklist(tenant)
    assert [step.key for step in checklist.steps] == [
        "connect",
        "store",
        "pos",
        "sticker",
        "payment",
    ]
    assert not any(step.done for step in checklist.steps)
    assert (checklist.done_count, checklist.total, checklist.complete) == (0, 5, False)
    assert checklist.next_step.key == "connect"
    links = {step.key: step.url for step in checklist.steps}
    assert links == {
        "connect": reverse("tenants:mercadopago"),
        "store": reverse("admin:pos_store_add"),
        "pos": reverse("admin:pos_pointofsale_add"),
        "sticker": "",  # no point of sale yet
        "payment": reverse("cashier:page"),
    }

    services.connect_with_access_token(tenant=tenant, access_token=seller_access_token("MLA"))
    assert _state(tenant) == dict.fromkeys(["connect"], True) | dict.fromkeys(
        ["store", "pos", "sticker", "payment"], False
    )
    assert setup_checklist(tenant).next_step.key == "store"

    store = make_store(tenant)
    assert _state(tenant)["store"]
    assert setup_checklist(tenant).next_step.key == "pos"

    pos = make_pos(tenant, store)  # not synced yet: it has no QR, so no sticker to print
    checklist = setup_checklist(tenant)
    sticker = checklist.steps[3]
    assert checklist.steps[2].done
    assert not sticker.done
    assert sticker.url == ""
    assert "synced with Mercado Pago" in str(sticker.hint)

    with tenant_scope(tenant):
        PointOfSale.objects.filter(pk=pos.pk).update(qr_code="000201-test")
    sticker = setup_checklist(tenant).steps[3]
    assert sticker.url == reverse("pos:sticker", args=[pos.pk])
    assert not sticker.done
    with tenant_scope(tenant):
        PointOfSale.objects.filter(pk=pos.pk).update(sticker_printed_at=timezone.now())
    assert _state(tenant)["sticker"]
    assert setup_checklist(tenant).next_step.key == "payment"

    make_order(tenant, pos, status="canceled")  # an order that was not paid does not count
    assert not _state(tenant)["payment"]
    make_order(tenant, pos, status="processed")
    checklist = setup_checklist(tenant)
    assert checklist.complete
    assert checklist.next_step is None
    assert checklist.done_count == 5


def test_a_connection_that_must_be_made_again_or_expired_is_not_done():
    tenant = make_tenant(site="MLA")
    services.connect_with_access_token(tenant=tenant, access_token=seller_access_token("MLA"))
    with tenant_scope(tenant):
        MercadoPagoCredential.objects.update(status=MercadoPagoCredential.Status.NEEDS_RECONNECT)
    assert not _state(tenant)["connect"]
    with tenant_scope(tenant):
        MercadoPagoCredential.objects.update(
            status=MercadoPagoCredential.Status.CONNECTED,
            expires_at=timezone.now() - timedelta(minutes=1),
        )
    assert not _state(tenant)["connect"]


def test_a_refunded_order_counts_as_the_test_payment():
    tenant = make_tenant()
    make_order(tenant, status="refunded")
    assert _state(tenant)["payment"]


def test_the_steps_count_only_the_sellers_own_data(tenant_a, tenant_b):
    make_order(tenant_b, status="processed")
    assert not any(_state(tenant_a).values())


def test_the_owner_sees_the_checklist_half_done_with_the_next_step_highlighted(
    client, tenant_a, owner_a
):
    services.connect_with_access_token(tenant=tenant_a, access_token=seller_access_token("MLA"))
    make_store(tenant_a)
    client.force_login(owner_a)
    page = client.get(INDEX).text
    assert "Get ready to take payments" in page
    assert "2 of 5 steps done" in page
    assert '<progress max="5" value="2"' in page
    assert 'class="setup-step done" id="setup-step-connect"' in page
    assert 'class="setup-step done" id="setup-step-store"' in page
    assert 'class="setup-step next" id="setup-step-pos" aria-current="step"' in page
    assert f'href="{reverse("admin:pos_pointofsale_add")}">Create a point of sale' in page
    # done and not done are said in words, not only by the tick
    assert page.count(">Done</span>") == 2
    assert page.count(">Next step</span>") == 1
    assert page.count(">To do</span>") == 2
    assert "Create a point of sale first." in page  # the sticker step has no link yet


def test_once_every_step_is_done_it_is_one_line(client, tenant_a, owner_a):
    services.connect_with_access_token(tenant=tenant_a, access_token=seller_access_token("MLA"))
    pos = make_pos(tenant_a, qr_code="000201-test", sticker_printed_at=timezone.now())
    make_order(tenant_a, pos, status="processed")
    client.force_login(owner_a)
    page = client.get(INDEX).text
    assert "Ready to take payments" in page
    assert "Get ready to take payments" not in page
    assert "setup-step" not in page


@pytest.mark.parametrize("role", [Role.MANAGER, Role.CASHIER, Role.VIEWER])
def test_members_who_do_not_manage_the_connection_do_not_see_it(client, tenant_a, role):
    member = make_member(tenant_a, role, language="en")
    client.force_login(member)
    page = client.get(INDEX, follow=True).text
    assert "setup-checklist" not in page


def test_platform_staff_do_not_see_it_for_all_sellers_nor_for_one(client, tenant_a, owner_a):
    staff = make_user("staff", is_staff=True, is_platform_staff=True, language="en")
    client.force_login(staff)
    assert "setup-checklist" not in client.get(INDEX).text  # all sellers
    client.post(reverse("tenants:select"), {"tenant": tenant_a.pk})
    page = client.get(INDEX).text
    assert "Seller A" in page  # acting for the seller now
    assert "setup-checklist" not in page

    client.force_login(owner_a)
    assert "setup-checklist" in client.get(INDEX).text


def test_the_sticker_step_ticks_when_a_member_first_opens_the_sticker(client, tenant_a, owner_a):
    pos = make_pos(tenant_a, qr_code="000201010211test")
    staff = make_user("staff", is_staff=True, is_platform_staff=True)
    client.force_login(staff)
    client.post(reverse("tenants:select"), {"tenant": tenant_a.pk})
    assert client.get(reverse("pos:sticker", args=[pos.pk])).status_code == 200
    with tenant_scope(tenant_a):
        assert PointOfSale.objects.get(pk=pos.pk).sticker_printed_at is None  # staff: not yet

    client.force_login(owner_a)
    assert client.get(reverse("pos:sticker", args=[pos.pk])).status_code == 200
    with tenant_scope(tenant_a):
        first = PointOfSale.objects.get(pk=pos.pk).sticker_printed_at
    assert first is not None
    assert _state(tenant_a)["sticker"]
    client.get(reverse("pos:sticker", args=[pos.pk]))
    with tenant_scope(tenant_a):
        assert PointOfSale.objects.get(pk=pos.pk).sticker_printed_at == first  # the first time
