"""Secrets that rotate without a gap: Mercado Pago's webhook secret (the previous one is still
accepted while Mercado Pago switches), ``SECRET_KEY`` (earlier keys listed in
``SECRET_KEY_FALLBACKS`` still verify what they signed), and the checks that keep those settings
honest."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.core.checks import run_checks
from django.test import override_settings

from merchant_platform.defaults import DEV_SECRET_KEY
from orders.models import Notification
from sandbox.seed import WEBHOOK_SECRET
from tests.orders import conftest as orders
from tests.orders.test_webhooks import deliver, order_query, post, signed, webhook_event

ROOT = Path(__file__).resolve().parents[2]
ROTATED = "webhook-secret-after-rotation"
# The order tests' fixtures: a seller connected to the sandbox, its POS, an order paid there.
seller, pos, paid_v1, committed = orders.seller, orders.pos, orders.paid_v1, orders.committed


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_celery")
@pytest.mark.parametrize("previous", ["", WEBHOOK_SECRET])
def test_a_webhook_signed_with_the_previous_secret_is_accepted_while_it_is_configured(
    client, paid_v1, committed, settings, previous
):
    settings.MERCADOPAGO_WEBHOOK_SECRET = ROTATED
    settings.MERCADOPAGO_WEBHOOK_SECRET_PREVIOUS = previous
    with committed():  # the sandbox still signs with the secret being replaced
        response = deliver(client, webhook_event(paid_v1))

    row = Notification.objects.latest("pk")
    if previous:
        assert response.status_code == 200
        assert row.status == Notification.Status.PROCESSED
        assert orders.reload(paid_v1).status == "processed"
    else:
        assert response.status_code == 401
        assert row.status == Notification.Status.REJECTED
        assert orders.reload(paid_v1).status == "created"


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_celery")
def test_with_a_previous_secret_the_current_one_is_accepted_and_any_other_refused(
    client, paid_v1, committed, settings
):
    settings.MERCADOPAGO_WEBHOOK_SECRET = ROTATED
    settings.MERCADOPAGO_WEBHOOK_SECRET_PREVIOUS = WEBHOOK_SECRET
    body = json.dumps(webhook_event(paid_v1).body)
    data_id = paid_v1.mp_order_id

    forged = post(client, order_query(paid_v1), body, **signed(data_id, secret="another-secret"))
    assert forged.status_code == 401
    assert Notification.objects.latest("pk").status == Notification.Status.REJECTED
    with committed():
        current = post(client, order_query(paid_v1), body, **signed(data_id, secret=ROTATED))
    assert current.status_code == 200
    assert Notification.objects.latest("pk").status == Notification.Status.PROCESSED


def test_values_signed_with_a_key_listed_in_secret_key_fallbacks_are_still_accepted():
    """Read from the environment by the real settings (``manage.py shell`` in a process of its
    own): a signed value and a password-reset link made with the old key still verify."""
    old, new, other = (f"{name}-key-" + "x" * 50 for name in ("old", "new", "other"))
    reset_links = PasswordResetTokenGenerator()
    reset_links.secret = old
    values = {
        "signed": signing.dumps({"uid": 7}, key=old),
        "reset": reset_links.make_token(_user()),
        "forged": signing.dumps({"uid": 7}, key=other),
    }
    script = f"""
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
values = {values!r}
user = get_user_model()(**{USER!r})
print("fallbacks", len(settings.SECRET_KEY_FALLBACKS))
print("signed", signing.loads(values["signed"]))
print("reset", default_token_generator.check_token(user, values["reset"]))
try:
    signing.loads(values["forged"])
except signing.BadSignature:
    print("forged refused")
"""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env |= {"DEBUG": "true", "SECRET_KEY": new, "SECRET_KEY_FALLBACKS": f" {old} ,"}
    result = subprocess.run(  # noqa: S603 (the project's own manage.py)
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "fallbacks 1",
        "signed {'uid': 7}",
        "reset True",
        "forged refused",
    ]


USER = {"pk": 41, "username": "rotating", "email": "rotating@example.com", "password": "x"}


def _user():
    """An account as a password-reset link signs it (never saved)."""
    return get_user_model()(**USER)


PRODUCTION_LIKE = {"DEBUG": False, "SILENCED_SYSTEM_CHECKS": settings.PROJECT_SILENCED}


def _ids(**overrides) -> set[str]:
    with override_settings(**PRODUCTION_LIKE, **overrides):
        return {
            message.id for message in run_checks() if message.id.startswith("merchant_platform")
        }


@pytest.mark.parametrize(
    ("overrides", "expected", "unexpected"),
    [
        ({"SECRET_KEY_FALLBACKS": ["an-old-real-key-" + "y" * 40]}, set(), {"E012", "W005"}),
        ({"SECRET_KEY_FALLBACKS": [DEV_SECRET_KEY]}, {"E012"}, set()),
        ({"SECRET_KEY": "k" * 60, "SECRET_KEY_FALLBACKS": ["k" * 60]}, {"W005"}, {"E012"}),
        (
            {"MERCADOPAGO_WEBHOOK_SECRET": ROTATED, "MERCADOPAGO_WEBHOOK_SECRET_PREVIOUS": "old"},
            set(),
            {"W005"},
        ),
        (
            {"MERCADOPAGO_WEBHOOK_SECRET": ROTATED, "MERCADOPAGO_WEBHOOK_SECRET_PREVIOUS": ROTATED},
            {"W005"},
            set(),
        ),
        ({"MERCADOPAGO_WEBHOOK_SECRET_PREVIOUS": WEBHOOK_SECRET}, {"E011"}, set()),
    ],
)
def test_the_checks_refuse_a_public_previous_secret_and_warn_of_a_repeated_one(
    overrides, expected, unexpected
):
    found = {message.rpartition(".")[2] for message in _ids(**overrides)}
    assert expected <= found
    assert not unexpected & found
