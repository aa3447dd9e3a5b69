"""What an owner is told on inviting an address never reveals whether it has an account (another
seller's member, platform staff, someone unknown): the same message, an invitation sent each
time, and nobody attached. Only the seller's own members are named, which Members shows anyway."""

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation
from tenants.models import Membership
from tenants.roles import Role
from tenants.scope import cross_tenant_scope
from tests.factories import make_member, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

ADD = reverse("admin:accounts_invitation_add")


def test_the_inviter_is_told_the_same_whoever_the_address_belongs_to(
    tenant_a, owner_a, tenant_b, django_capture_on_commit_callbacks
):
    addresses = {
        "cashier of B": make_member(tenant_b, Role.CASHIER, "cashier-of-b").email,
        "superuser": make_user("root-account", is_staff=True, is_superuser=True).email,
        "platform staff": make_user("ops-account", is_staff=True, is_platform_staff=True).email,
        "unknown": "nobody-yet@example.com",
    }
    told = {}
    for kind, email in addresses.items():
        client = Client()  # a message of its own each time
        client.force_login(owner_a)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(ADD, {"email": email.upper(), "role": Role.MANAGER})
        assert response.status_code == 302, kind
        [(level, message)] = [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]
        told[kind] = (level, message.replace(email, "<address>"))

    assert set(told.values()) == {
        ("success", "An invitation to join Seller A as Manager was sent to <address>.")
    }
    assert sorted(message.to[0] for message in mail.outbox) == sorted(addresses.values())
    with cross_tenant_scope():
        assert set(Membership.objects.filter(tenant=tenant_a).values_list("role", flat=True)) == {
            Role.OWNER
        }
        assert Invitation.objects.filter(tenant=tenant_a).count() == len(addresses)
