"""Web requests: the middleware picks the tenant, the admin shows and edits only its rows."""

import pytest
from django.urls import reverse

from accounts.models import Invitation
from tenants import services
from tenants.middleware import SESSION_KEY
from tenants.models import Membership
from tenants.roles import Role
from tenants.scope import cross_tenant_scope, tenant_scope
from tests.factories import make_member, make_tenant, make_user

pytestmark = pytest.mark.django_db

MEMBERSHIPS = reverse("admin:tenants_membership_changelist")


def _membership_of(user, tenant):
    with tenant_scope(tenant):
        return Membership.objects.get(user=user)


def test_a_member_of_one_tenant_acts_for_it(client, tenant_a, owner_a, tenant_b, owner_b):
    client.force_login(owner_a)
    response = client.get(MEMBERSHIPS)
    assert response.status_code == 200
    assert client.session[SESSION_KEY] == tenant_a.pk
    assert response.context["request"].tenant == tenant_a
    assert "owner-a" in response.text
    assert "owner-b" not in response.text


def test_another_tenants_row_is_not_reachable_by_url(client, tenant_a, owner_a, tenant_b, owner_b):
    foreign = _membership_of(owner_b, tenant_b)
    client.force_login(owner_a)
    change_url = reverse("admin:tenants_membership_change", args=[foreign.pk])
    response = client.get(change_url, follow=True)
    assert "owner-b" not in response.text
    assert "doesn\u2019t exist" in response.text
    delete_url = reverse("admin:tenants_membership_delete", args=[foreign.pk])
    client.post(delete_url, {"post": "yes"})
    with tenant_scope(tenant_b):
        assert Membership.objects.filter(pk=foreign.pk).exists()


def test_a_member_of_several_tenants_must_pick_one(client, tenant_a, tenant_b):
    user = make_member(tenant_a, Role.MANAGER, "both")
    from tenants import services

    services.add_member(tenant=tenant_b, user=user, role=Role.VIEWER)
    client.force_login(user)

    response = client.get(MEMBERSHIPS)
    picker = reverse("tenants:select")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{picker}?next=")

    page = client.get(picker)
    assert "Seller A" in page.text
    assert "Seller B" in page.text

    response = client.post(picker, {"tenant": tenant_b.pk, "next": MEMBERSHIPS})
    assert response["Location"] == MEMBERSHIPS
    assert client.session[SESSION_KEY] == tenant_b.pk
    response = client.get(MEMBERSHIPS)
    assert response.context["request"].tenant == tenant_b
    assert response.context["request"].tenant_role == Role.VIEWER


def test_picking_a_tenant_one_is_not_a_member_of_is_refused(client, tenant_a, owner_a, tenant_b):
    client.force_login(owner_a)
    response = client.post(reverse("tenants:select"), {"tenant": tenant_b.pk})
    assert response.status_code == 400
    assert client.session.get(SESSION_KEY) != tenant_b.pk


def test_the_picker_never_redirects_off_site(client, tenant_a, owner_a):
    client.force_login(owner_a)
    response = client.post(
        reverse("tenants:select"), {"tenant": tenant_a.pk, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/admin/"


def test_a_revoked_membership_ends_the_sessions_tenant(client, tenant_a, owner_a):
    cashier = make_member(tenant_a, Role.CASHIER, "cash")
    client.force_login(cashier)
    client.get(MEMBERSHIPS)
    assert client.session[SESSION_KEY] == tenant_a.pk
    with tenant_scope(tenant_a):
        Membership.objects.filter(user=cashier).delete()
    response = client.get(MEMBERSHIPS)
    assert SESSION_KEY not in client.session
    assert response.status_code == 302  # to the admin login: no tenant, no admin


def test_platform_staff_see_every_tenant_with_a_tenant_filter(
    client, tenant_a, owner_a, tenant_b, owner_b
):
    staff = make_user("staff", is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.get(MEMBERSHIPS)
    assert response.status_code == 200
    assert "owner-a" in response.text
    assert "owner-b" in response.text
    assert f"?tenant__id__exact={tenant_b.pk}" in response.text
    filtered = client.get(MEMBERSHIPS, {"tenant__id__exact": tenant_b.pk})
    assert "owner-b" in filtered.text
    assert "owner-a" not in filtered.text


def test_members_invite_into_their_own_tenant_whatever_they_post(
    client, tenant_a, owner_a, tenant_b
):
    client.force_login(owner_a)
    add_url = reverse("admin:accounts_invitation_add")
    form = client.get(add_url)
    assert f'name="tenant" value="{tenant_a.pk}"' in form.text
    assert 'type="hidden" name="tenant"' in form.text

    response = client.post(
        add_url, {"tenant": tenant_b.pk, "email": "new.cashier@example.com", "role": "cashier"}
    )
    assert response.status_code == 302
    with cross_tenant_scope():
        invited = Invitation.objects.get(email="new.cashier@example.com")
        assert not Membership.objects.filter(user__email="new.cashier@example.com").exists()
    assert invited.tenant == tenant_a
    assert invited.role == Role.CASHIER


def test_roles_limit_what_members_may_change(client, tenant_a, owner_a):
    cashier = make_member(tenant_a, Role.CASHIER, "cash")
    client.force_login(cashier)
    assert client.get(MEMBERSHIPS).status_code == 200  # cashiers view
    assert client.get(reverse("admin:tenants_membership_add")).status_code == 403
    own = _membership_of(owner_a, tenant_a)
    response = client.post(
        reverse("admin:tenants_membership_change", args=[own.pk]), {"role": "viewer"}
    )
    assert response.status_code == 403
    assert _membership_of(owner_a, tenant_a).role == Role.OWNER


def test_the_last_owner_cannot_be_demoted_or_removed(client, tenant_a, owner_a):
    client.force_login(owner_a)
    own = _membership_of(owner_a, tenant_a)
    change_url = reverse("admin:tenants_membership_change", args=[own.pk])
    response = client.post(change_url, {"tenant": tenant_a.pk, "role": "viewer"})
    assert response.status_code == 200
    assert "is the last owner of Seller A" in response.text
    delete_url = reverse("admin:tenants_membership_delete", args=[own.pk])
    assert client.post(delete_url, {"post": "yes"}).url == change_url  # refused, with why
    assert _membership_of(owner_a, tenant_a).role == Role.OWNER


def test_a_seller_sees_only_its_own_tenant_and_cannot_edit_it(client, tenant_a, owner_a, tenant_b):
    client.force_login(owner_a)
    tenants_list = client.get(reverse("admin:tenants_tenant_changelist"))
    assert "Seller A" in tenants_list.text
    assert "Seller B" not in tenants_list.text
    other = client.get(reverse("admin:tenants_tenant_change", args=[tenant_b.pk]), follow=True)
    assert "Seller B" not in other.text
    own = client.post(
        reverse("admin:tenants_tenant_change", args=[tenant_a.pk]),
        {"name": "Renamed", "fee_percent": "0"},
    )
    assert own.status_code == 403
    tenant_a.refresh_from_db()
    assert tenant_a.name == "Seller A"


def test_foreign_key_choices_are_limited_to_the_members_tenant(rf, tenant_a, owner_a, tenant_b):
    from django.contrib import admin

    model_admin = admin.site._registry[Membership]
    request = rf.get("/admin/")
    request.user, request.tenant, request.tenant_role = owner_a, tenant_a, Role.OWNER
    field = model_admin.formfield_for_foreignkey(Membership._meta.get_field("tenant"), request)
    assert list(field.queryset) == [tenant_a]
    assert field.disabled


def test_a_user_without_membership_sees_no_tenant_data(client, tenant_a, owner_a):
    client.force_login(make_user("nobody", is_staff=True))
    response = client.get(MEMBERSHIPS, follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("tenants:select"))
    assert "You are not a member of any seller yet." in response.text
    assert "owner-a" not in response.text


def test_the_admin_header_offers_switching_only_to_who_has_a_choice(
    client, tenant_a, tenant_b, owner_a
):
    client.force_login(owner_a)
    response = client.get(reverse("admin:index"))
    assert "Seller: <strong>Seller A</strong>" in response.text
    assert 'id="switch-seller-link"' not in response.text  # one seller: nothing to switch to

    services.add_member(tenant=tenant_b, user=owner_a, role="viewer")
    response = client.get(reverse("admin:index"))
    assert f'href="{reverse("tenants:select")}?next=/admin/" id="switch-seller-link"' in (
        response.text
    )
    client.force_login(make_user("staff", is_platform_staff=True, is_staff=True, language="en"))
    assert 'id="switch-seller-link"' in client.get(reverse("admin:index")).text


def test_the_admin_login_page_signs_a_seller_in_through_its_form(client, tenant_a, owner_a):
    login_url = reverse("admin:login")
    page = client.get(login_url)
    assert page.status_code == 200
    assert 'name="username"' in page.text
    response = client.post(
        login_url, {"username": "owner-a", "password": "test-pass-123", "next": "/admin/"}
    )
    assert response.status_code == 302
    index = client.get("/admin/")
    assert "Seller: <strong>Seller A</strong>" in index.text


def test_the_staff_tenant_column_costs_no_query_per_row(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import make_pos

    client.force_login(make_user("staff-n1", is_staff=True, is_superuser=True))
    points_of_sale = reverse("admin:pos_pointofsale_changelist")  # selects its stores already
    make_pos(make_tenant("One"))
    client.get(points_of_sale)
    with CaptureQueriesContext(connection) as few:
        client.get(points_of_sale)
    for n in range(5):
        make_pos(make_tenant(f"More {n}"))
    with CaptureQueriesContext(connection) as many:
        response = client.get(points_of_sale)
    assert "More 4" in response.text
    assert len(many.captured_queries) == len(few.captured_queries)
