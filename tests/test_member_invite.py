"""A seller's owner adds members by e-mail, but never another seller's member nor platform staff
(until people accept invitations): the membership admin shows one field error, the same for each,
and the account stays unknown to the owner. Platform staff may add anyone."""

import pytest
from django.urls import reverse

from tenants import services
from tenants.models import Membership
from tenants.roles import Role
from tenants.scope import cross_tenant_scope
from tests.factories import make_member, make_user

pytestmark = pytest.mark.django_db

ADD = reverse("admin:tenants_membership_add")


@pytest.fixture
def outsiders(tenant_b):
    """Accounts an owner of seller A must not attach, by kind."""
    return {
        "cashier of B": make_member(tenant_b, Role.CASHIER, "cashier-of-b"),
        "superuser": make_user("root-account", is_staff=True, is_superuser=True),
        "platform staff": make_user("ops-account", is_staff=True, is_platform_staff=True),
    }


def _members_of_a(tenant_a) -> set[str]:
    with cross_tenant_scope():
        return set(
            Membership.objects.filter(tenant=tenant_a).values_list("user__username", flat=True)
        )


def test_an_owner_cannot_attach_another_sellers_member_or_staff_in_the_admin(
    client, tenant_a, owner_a, outsiders
):
    client.force_login(owner_a)
    pages = []
    for user in outsiders.values():
        page = client.post(ADD, {"email": user.email.upper(), "role": Role.MANAGER})
        assert page.status_code == 200  # the form again, with its error
        assert services.NOT_ALLOWED in page.text.replace("&#x27;", "'")
        assert user.username not in page.text
        pages.append(page.context["adminform"].form.errors.as_data())
    assert all(errors == pages[0] for errors in pages)  # nothing tells one kind from another
    assert _members_of_a(tenant_a) == {"owner-a"}

    added = client.post(ADD, {"email": "new.person@example.com", "role": Role.CASHIER})
    assert added.status_code == 302
    assert _members_of_a(tenant_a) == {"owner-a", "new.person@example.com"}

    client.force_login(make_user("staff", is_staff=True, is_superuser=True))  # staff may
    cashier = outsiders["cashier of B"]
    response = client.post(ADD, {"tenant": tenant_a.pk, "email": cashier.email, "role": "viewer"})
    assert response.status_code == 302
    assert "cashier-of-b" in _members_of_a(tenant_a)


def test_the_service_refuses_what_the_admin_refuses(tenant_a, owner_a, outsiders):
    for user in outsiders.values():
        with pytest.raises(services.MemberNotAllowed, match="cannot be added here"):
            services.invite_member(
                tenant=tenant_a, email=user.email, role=Role.VIEWER, invited_by=owner_a
            )
    assert _members_of_a(tenant_a) == {"owner-a"}

    former = make_user("former-member")  # an account of nobody else's may be added
    services.invite_member(
        tenant=tenant_a, email=former.email, role=Role.VIEWER, invited_by=owner_a
    )
    ops = outsiders["platform staff"]  # sees every seller: may add B's cashier
    cashier = outsiders["cashier of B"]
    services.invite_member(tenant=tenant_a, email=cashier.email, role=Role.VIEWER, invited_by=ops)
    assert _members_of_a(tenant_a) == {"owner-a", "former-member", "cashier-of-b"}
