"""Stuck Idempotency-Keys (issue 16, point 2): an operator lists them and clears them, with
``manage.py idempotency_keys --stuck [--clear]`` and in the admin. A key is stuck when no answer
is stored and its attempt claimed it longer ago than a request can run; clearing ends its lease,
and the partner's retry with the same key then gets its order instead of 409."""

import json
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partners import idempotency
from partners.models import IdempotentRequest
from tenants.scope import tenant_scope
from tests.api.conftest import issue_token
from tests.factories import make_connected_tenant, make_user
from tests.orders.conftest import synced_pos

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

ORDERS = "/api/v1/orders"
KEYS = reverse("admin:partners_idempotentrequest_changelist")


@pytest.fixture
def seller(db):
    return make_connected_tenant("Parrilla", site="MLA")


@pytest.fixture
def partner(seller):
    pos = synced_pos(seller)
    api = Client(headers={"Authorization": f"Bearer {issue_token(seller)}"})

    def create(key: str):
        body = {
            "pos": pos.pk,
            "api": "v1",
            "mode": "dynamic",
            "external_reference": key,
            "title": "Mesa 7",
            "items": [{"title": "Bife", "unit_price": "60.00", "quantity": 2}],
        }
        return api.post(
            ORDERS,
            json.dumps(body),
            content_type="application/json",
            headers={"Idempotency-Key": key},
        )

    return create


def cut_off(seller, key: str) -> None:
    """Leave ``key`` as a worker killed before storing the answer leaves it: claimed, leased,
    no answer (its order saved and made, as a create cut off after Mercado Pago's answer)."""
    with tenant_scope(seller):
        IdempotentRequest.objects.filter(key=key).update(
            status_code=None, response_body=None, lease_until=timezone.now() + idempotency.lease()
        )


def keys(*args: str) -> str:
    out = StringIO()
    call_command("idempotency_keys", "--stuck", *args, stdout=out)
    return out.getvalue()


def lease_of(seller, key: str):
    with tenant_scope(seller):
        return IdempotentRequest.objects.get(key=key).lease_until


def test_the_command_lists_stuck_keys_and_clear_lets_the_retry_through(seller, partner):
    started = timezone.now()
    with time_machine.travel(started, tick=False):
        first = partner("sale-dead")
        cut_off(seller, "sale-dead")
        partner("sale-answered")
    later = started + idempotency.longest_request() + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        partner("sale-running")
        cut_off(seller, "sale-running")  # claimed just now: still running
        before_clear = partner("sale-dead")
        listed = keys()
        none_that_old = keys("--older-than", "3600")
        cleared = keys("--clear")
        retried = partner("sale-dead")

    assert first.status_code == 201
    assert (before_clear.status_code, before_clear.json()["code"]) == (
        409,
        "idempotency_key_in_use",
    )
    assert "sale-dead" in listed
    assert "answers 409 until" in listed
    assert "sale-running" not in listed
    assert "sale-answered" not in listed
    assert "1 stuck key(s)." in listed
    assert "0 stuck key(s)." in none_that_old
    assert "Released 1 key(s)" in cleared
    assert retried.status_code == 201, retried.content
    assert retried.json()["uid"] == first.json()["uid"]  # the one order, not a second
    assert "sale-running" not in keys()


def test_platform_staff_list_stuck_keys_and_release_them_in_the_admin(seller, partner):
    started = timezone.now()
    with time_machine.travel(started, tick=False):
        partner("sale-dead")
        cut_off(seller, "sale-dead")
    later = started + idempotency.longest_request() + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        partner("sale-running")
        cut_off(seller, "sale-running")
        staff = Client()
        staff.force_login(make_user(is_staff=True, is_superuser=True))
        stuck_page = staff.get(KEYS, {"state": "stuck"})
        with tenant_scope(seller):
            both = list(IdempotentRequest.objects.values_list("pk", flat=True))
        released = staff.post(KEYS, {"action": "release", "_selected_action": both}, follow=True)

        assert [row.key for row in stuck_page.context["cl"].result_list] == ["sale-dead"]
        assert "stuck: answers 409 until its lease ends" in stuck_page.text
        assert "Released 1 stuck key(s)" in released.text
        assert lease_of(seller, "sale-dead") == later  # a retry takes it over now
        assert lease_of(seller, "sale-running") > later  # its attempt may still answer
