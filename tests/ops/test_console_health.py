"""The console's operations health (``/console/health/``): the figures ``/metrics`` exports,
deliveries in retry and stuck Idempotency-Keys, each with a status and a link to act."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from merchant_platform.beat import LAST_RUNS_KEY
from orders.models import Notification
from partners.models import IdempotentRequest, WebhookDelivery
from tenants.scope import tenant_scope
from tests.factories import make_member, make_tenant, make_user, make_webhook_delivery

pytestmark = pytest.mark.django_db

HEALTH = "/console/health/"


@pytest.fixture
def no_broker(settings):
    settings.CELERY_BROKER_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = True


def staff() -> Client:
    client = Client()
    client.force_login(make_user(is_staff=True, is_superuser=True, language="en"))
    return client


def checks(response) -> dict:
    return {check.key: check for check in response.context["checks"]}


@pytest.mark.usefixtures("no_broker")
def test_with_nothing_wrong_every_check_is_ok_and_tasks_run_in_process():
    response = staff().get(HEALTH)

    assert response.status_code == 200
    assert {check.status for check in checks(response).values()} == {"ok"}
    assert "Everything is ok." in response.text
    queues = checks(response)["queues"]
    assert queues.summary == "No broker: tasks run in-process, nothing waits in a queue."
    assert queues.summary in response.text
    assert f'<a href="{reverse("console:sellers")}">Sellers</a>' in response.text  # breadcrumbs


@pytest.mark.usefixtures("no_broker")
def test_a_failed_notification_a_delivery_in_retry_and_a_stuck_key_need_attention():
    seller = make_tenant()
    failed = Notification.objects.create(
        kind=Notification.Kind.WEBHOOK, status=Notification.Status.FAILED, tenant=seller
    )
    Notification.objects.filter(pk=failed.pk).update(
        received_at=timezone.now() - timedelta(hours=1)
    )
    retrying, gave_up = make_webhook_delivery(seller), make_webhook_delivery(seller)
    now = timezone.now()
    with tenant_scope(seller):
        WebhookDelivery.objects.filter(pk=retrying.pk).update(attempt_count=3)
        WebhookDelivery.objects.filter(pk=gave_up.pk).update(status="failed", attempt_count=6)
        stuck = IdempotentRequest.objects.create(
            tenant=seller, client="app:1", key="died", fingerprint="0" * 64, lease_until=now
        )
        IdempotentRequest.objects.create(  # still running: not stuck
            tenant=seller,
            client="app:1",
            key="running",
            fingerprint="0" * 64,
            lease_until=now + timedelta(minutes=2),
        )
    client = staff()

    response = client.get(HEALTH)
    found = checks(response)

    assert "5 checks need attention." in response.text
    assert found["notifications"].status == "attention"
    assert found["notifications"].summary.startswith("1 failed")
    assert found["oldest-unprocessed"].status == "attention"  # 1 h: past the sweeper's 15 min
    assert found["deliveries"].status == "attention"
    assert found["deliveries-retrying"].status == "attention"
    assert found["deliveries-retrying"].lines[0].value == "1"
    assert found["idempotency"].status == "attention"
    assert found["idempotency"].lines[0].value == "1"
    links = {
        "notifications": f"{reverse('admin:orders_notification_changelist')}?status__exact=failed",
        "deliveries-retrying": f"{reverse('admin:partners_webhookdelivery_changelist')}"
        "?status__exact=pending&attempt_count__gt=0",
        "deliveries": f"{reverse('admin:partners_webhookdelivery_changelist')}"
        "?status__exact=failed",
        "idempotency": f"{reverse('admin:partners_idempotentrequest_changelist')}?state=stuck",
    }
    for key, url in links.items():
        assert found[key].action_url == url
        assert f'href="{url.replace("&", "&amp;")}"' in response.text

    # Each link opens the rows to act on, with the action that acts on them.
    notifications = client.get(links["notifications"])
    assert [n.pk for n in notifications.context["cl"].result_list] == [failed.pk]
    assert "replay" in dict(notifications.context["action_form"].fields["action"].choices)
    keys = client.get(links["idempotency"])
    assert [key.pk for key in keys.context["cl"].result_list] == [stuck.pk]
    assert "release" in dict(keys.context["action_form"].fields["action"].choices)
    retries = client.get(links["deliveries-retrying"])
    assert [d.pk for d in retries.context["cl"].result_list] == [retrying.pk]


def test_beat_schedules_never_run_or_late_need_attention(settings):
    settings.CELERY_BROKER_URL = "amqp://broker.invalid//"  # not Redis: its queues are not read
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BEAT_SCHEDULE = {
        "on-time": {"task": "a", "schedule": 60},
        "late": {"task": "b", "schedule": timedelta(minutes=1)},
        "never": {"task": "c", "schedule": 60},
    }
    now = timezone.now()
    cache.set(LAST_RUNS_KEY, {"on-time": now, "late": now - timedelta(minutes=5)})

    found = checks(staff().get(HEALTH))

    beat = found["beat"]
    assert beat.status == "attention"
    assert beat.summary == "Late or never run: late, never. Is beat running?"
    assert [line.label for line in beat.lines] == ["late", "never", "on-time"]
    assert found["queues"].summary == "The broker is not Redis: its queues are not read here."


def test_members_cannot_read_the_health_page():
    client = Client()
    client.force_login(make_member(make_tenant(), "owner"))
    assert client.get(HEALTH).status_code == 403
