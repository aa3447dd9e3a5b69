"""Issue 17, "the demo behaves like production": orders expire on time where no beat runs (the
display and the cashier page expire an open order past its expiry as they read it), the sandbox
has an index page, and ``manage.py`` commands work on a laptop without ``DEBUG=true`` while
servers and ``check --deploy`` still refuse the development secret key."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from orders.models import Status
from tests.factories import make_connected_tenant, make_member
from tests.orders.conftest import new_order, reload, synced_pos

ROOT = Path(__file__).resolve().parent.parent


# Orders expire on time without beat ------------------------------------------------------------


@pytest.fixture
def seller(db):
    return make_connected_tenant("Parrilla", site="MLA")


@pytest.fixture
def pos(seller):
    return synced_pos(seller)


@pytest.fixture
def overdue(eager_celery, seller, pos):
    """An open order on ``pos``, and a clock a second past its expiry (no beat runs)."""
    order = new_order(seller, pos)
    assert order.status == Status.CREATED
    with time_machine.travel(order.expires_at + timedelta(seconds=1)):
        yield order


@pytest.mark.django_db(transaction=True)
def test_the_display_shows_an_order_past_its_expiry_as_expired(client, pos, overdue):
    state = client.get(reverse("display:state", args=[pos.display_token])).json()

    assert state["state"] == "expired"
    assert state["order"]["uid"] == str(overdue.uid)
    assert reload(overdue).status == Status.EXPIRED


@pytest.mark.django_db(transaction=True)
def test_the_cashier_status_of_an_order_past_its_expiry_is_expired(seller, overdue):
    cashier = Client()
    cashier.force_login(make_member(seller, "cashier"))

    answer = cashier.get(reverse("cashier:status", args=[overdue.uid])).json()

    assert answer["status"] == Status.EXPIRED
    assert reload(overdue).status == Status.EXPIRED


# The sandbox's index page ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sandbox_has_an_index_page_linking_the_wallet_and_the_control_page(client):
    response = client.get("/sandbox/")

    assert response.status_code == 200
    page = response.content.decode()
    for name in ("sandbox-wallet", "sandbox-control", "sandbox-oauth-authorization"):
        assert f'href="{reverse(name)}"' in page


# manage.py on a laptop, without DEBUG ----------------------------------------------------------


def manage(*arguments: str) -> subprocess.CompletedProcess:
    """``manage.py`` with no project variable set: a laptop's fresh shell."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(ROOT))}
    return subprocess.run(  # noqa: S603 (the project's own command)
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_manage_py_command_runs_on_a_laptop_with_production_errors_as_warnings():
    done = manage("check")

    assert done.returncode == 0, done.stderr
    assert "(merchant_platform.E001) SECRET_KEY is the public development key" in done.stderr


def test_check_deploy_still_refuses_the_development_secret_key_on_a_laptop():
    done = manage("check", "--deploy")

    assert done.returncode != 0
    assert "ERRORS:" in done.stderr
    assert "merchant_platform.E001" in done.stderr.split("WARNINGS:")[0]
