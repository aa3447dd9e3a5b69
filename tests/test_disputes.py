"""Disputes end to end: the sandbox opens a chargeback on a payment the platform knows, notifies
the ``topic_chargebacks_wh`` topic with a signed webhook, and the platform, treating it as a
doorbell, reads the chargeback with the seller's token and records the dispute with its deadline;
a second notification (the case decided) updates it. The owner sees it in the admin (another
seller does not), the integrator's console counts it, and partners get a signed event.

Notifications are the sandbox's own outbox rows, sent in-process as its notifier sends them.
"""

import json
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from disputes import services
from disputes.admin import deadline_badge
from disputes.models import Dispute
from mpapi import Chargeback
from orders.models import Notification, Payment
from partners.models import WebhookDelivery
from sandbox import notifier
from sandbox.models import Event
from sandbox.seed import WEBHOOK_SECRET
from tenants.scope import cross_tenant_scope, tenant_scope
from tests.factories import (
    make_connected_tenant,
    make_dispute,
    make_member,
    make_order,
    make_payment,
    make_tenant,
    make_user,
    make_webhook_endpoint,
)
from tests.orders.conftest import new_order, pay, synced_pos

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

WEBHOOK = reverse("orders:mercadopago-webhook")
CONTROL = "/sandbox/_control/chargebacks"
DISPUTES = reverse("admin:disputes_dispute_changelist")
S = Notification.Status


def deliver(client, event: Event, **headers):
    """``event`` as the sandbox's notifier sends it: its query and body, signed headers."""
    sent = notifier.request_headers(event, str(uuid.uuid4()), 0) | headers
    return client.post(
        f"{WEBHOOK}?{urlencode(event.query)}",
        json.dumps(event.body),
        content_type="application/json",
        headers=sent,
    )


def last_event(topic: str) -> Event:
    return Event.objects.filter(topic=topic).latest("pk")


@pytest.fixture
def seller(db):
    return make_connected_tenant("Parrilla", site="MLA")


@pytest.fixture
def paid_order(client, seller, django_capture_on_commit_callbacks):
    """A v1 order paid in the sandbox's wallet and known paid by the platform (its webhook)."""
    order = new_order(seller, synced_pos(seller))
    pay(client, order)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, last_event("order")).status_code == 200
    with tenant_scope(seller):
        order.refresh_from_db()
        [payment] = order.payments.all()
    assert order.status == "processed"
    assert payment.reference_id
    return order


@pytest.fixture
def partner(seller, receiver, settings):
    """A partner endpoint of the seller (on this test's HTTP server) for both dispute events."""
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    return make_webhook_endpoint(
        seller,
        url=f"{receiver.url}/hooks",
        events=["dispute.opened", "dispute.updated"],
        secret="whsec_disputes_test",
    )


def open_chargeback(client, payment: Payment, **body) -> dict:
    answer = client.post(
        CONTROL,
        json.dumps({"payment_id": int(payment.reference_id)} | body),
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    return answer.json()


def test_a_chargeback_notification_records_the_dispute_and_a_second_one_updates_it(
    client, seller, paid_order, partner, receiver, django_capture_on_commit_callbacks
):
    with tenant_scope(seller):
        payment = paid_order.payments.get()
    chargeback = open_chargeback(client, payment, amount=600.5)

    with django_capture_on_commit_callbacks(execute=True):
        answer = deliver(client, last_event("topic_chargebacks_wh"))
    assert answer.status_code == 200

    [row] = Notification.objects.filter(topic="topic_chargebacks_wh")
    assert (row.status, row.resource_id, row.tenant) == (S.PROCESSED, chargeback["id"], seller)
    assert row.order == paid_order
    with tenant_scope(seller):
        dispute = Dispute.objects.get()
    assert dispute.mp_chargeback_id == chargeback["id"]
    assert (dispute.payment, dispute.order) == (payment, paid_order)
    assert (dispute.amount, dispute.currency, dispute.status) == (
        Decimal("600.50"),
        "ARS",
        "opened",
    )
    assert dispute.documentation_required is True
    assert dispute.deadline == datetime.fromisoformat(chargeback["date_documentation_deadline"])
    assert dispute.deadline - timezone.now() > timedelta(days=9)

    # The case is decided for the seller in "Mercado Pago": the second notification updates it.
    decided = client.post(
        f"{CONTROL}/{chargeback['id']}",
        json.dumps({"in_favor_of": "seller"}),
        content_type="application/json",
    )
    assert decided.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, last_event("topic_chargebacks_wh")).status_code == 200
    with tenant_scope(seller):
        dispute.refresh_from_db()
        assert Dispute.objects.count() == 1
    assert (dispute.status, dispute.coverage_applied) == ("closed", True)
    assert dispute.documentation_status == "valid"

    # A repeat of the first notification is harmless: Mercado Pago's answer is what counts.
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, Event.objects.filter(topic="topic_chargebacks_wh").earliest("pk"))
    with tenant_scope(seller):
        assert Dispute.objects.get().status == "closed"

    # The partner got dispute.opened then dispute.updated, signed, with the documented payload.
    with tenant_scope(seller):
        deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert [d.event_type for d in deliveries] == ["dispute.opened", "dispute.updated"]
    opened = deliveries[0].payload["data"]["dispute"]
    assert opened["chargeback_id"] == chargeback["id"]
    assert (opened["status"], opened["amount"], opened["currency"]) == ("opened", "600.50", "ARS")
    assert opened["order"] == str(paid_order.uid)
    assert opened["external_reference"] == paid_order.external_reference
    assert opened["payment_id"] == payment.reference_id
    assert opened["documentation_deadline"].startswith(
        chargeback["date_documentation_deadline"][:16]
    )
    assert deliveries[1].payload["data"]["dispute"]["coverage_applied"] is True
    assert [json.loads(r.body)["type"] for r in receiver.requests] == [
        "dispute.opened",
        "dispute.updated",
    ]
    assert all(r.headers["x-platform-signature"].startswith("t=") for r in receiver.requests)


def test_a_forged_chargeback_notification_is_rejected(client, seller, paid_order):
    with tenant_scope(seller):
        payment = paid_order.payments.get()
    open_chargeback(client, payment)
    event = last_event("topic_chargebacks_wh")
    forged = notifier.request_headers(event, str(uuid.uuid4()), 0)
    forged["X-Signature"] = forged["X-Signature"].replace("v1=", "v1=0")
    answer = deliver(client, event, **forged)
    assert answer.status_code in (400, 401, 403)
    [row] = Notification.objects.filter(topic="topic_chargebacks_wh")
    assert row.status == S.REJECTED
    with cross_tenant_scope():
        assert not Dispute.objects.exists()
    assert WEBHOOK_SECRET not in row.detail


def test_a_notification_naming_another_sellers_chargeback_is_ignored(
    client, seller, paid_order, django_capture_on_commit_callbacks
):
    """The body's ``user_id`` is not signed: Mercado Pago, asked with that seller's token,
    decides. A Brazilian seller is named for an Argentine seller's chargeback: nothing is
    recorded."""
    brazilian = make_connected_tenant("Churrascaria", site="MLB")
    with tenant_scope(seller):
        payment = paid_order.payments.get()
    open_chargeback(client, payment)
    event = last_event("topic_chargebacks_wh")
    event.body = event.body | {"user_id": brazilian.mp_user_id}
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, event).status_code == 200
    [row] = Notification.objects.filter(topic="topic_chargebacks_wh")
    assert row.status == S.IGNORED
    assert "is not this seller's" in row.detail
    with cross_tenant_scope():
        assert not Dispute.objects.exists()


def test_recording_is_merged_upwards_and_idempotent(seller):
    payment = make_payment(seller, reference_id="123456789")
    now = timezone.now()

    def chargeback(status: str, updated: datetime, **fields) -> Chargeback:
        return Chargeback.from_json(
            {
                "id": "abc123",
                "payments": [123456789],
                "amount": 10,
                "currency": "ARS",
                "status": status,
                "documentation_required": True,
                "coverage_applied": fields.get("coverage_applied", False),
                "date_documentation_deadline": (now + timedelta(days=10)).isoformat(),
                "date_created": now.isoformat(),
                "date_last_updated": updated.isoformat(),
            }
        )

    first = services.record_chargeback(tenant=seller, chargeback=chargeback("opened", now))
    assert (first.payment, first.order) == (payment, payment.order)
    later = now + timedelta(hours=1)
    closed = chargeback("closed", later, coverage_applied=True)
    assert services.record_chargeback(tenant=seller, chargeback=closed).status == "closed"
    # A late answer, older or reopening, changes nothing; the same answer twice changes nothing.
    stale = services.record_chargeback(tenant=seller, chargeback=chargeback("opened", now))
    assert stale.status == "closed"
    assert services.record_chargeback(tenant=seller, chargeback=closed).status == "closed"
    with tenant_scope(seller):
        assert Dispute.objects.count() == 1
        assert Dispute.objects.get().coverage_applied is True


def test_the_owner_sees_its_disputes_with_the_deadline_and_another_seller_does_not():
    seller, other = make_tenant("Parrilla"), make_tenant("Heladería")
    owner = make_member(seller, "owner", "owner-en", language="en")
    outsider = make_member(other, "owner", "other-en", language="en")
    order = make_order(seller, status="processed", external_reference="MESA-7")
    dispute = make_dispute(seller, make_payment(seller, order), amount=Decimal("1500.50"))
    make_dispute(other)

    client = Client()
    client.force_login(owner)
    page = client.get(DISPUTES)
    assert page.status_code == 200
    text = page.content.decode()
    assert dispute.mp_chargeback_id in text
    assert "days left" in text
    assert "ARS\u00a01,500.50" in text
    assert "MESA-7" in text
    assert list(page.context["cl"].result_list) == [dispute]
    order_page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert dispute.mp_chargeback_id in order_page.content.decode()

    client.force_login(outsider)
    text = client.get(DISPUTES).content.decode()
    assert dispute.mp_chargeback_id not in text
    with tenant_scope(seller):
        change = reverse("admin:disputes_dispute_change", args=[dispute.pk])
    assert client.get(change).status_code in (302, 403, 404)


def test_the_deadline_shows_how_urgent_it_is():
    dispute = make_dispute(make_tenant(), deadline=timezone.now() + timedelta(days=2, hours=1))
    now = timezone.now()
    assert "dispute-deadline-soon" in deadline_badge(dispute, now)
    assert "2 days left" in deadline_badge(dispute, now)
    assert "passed" in deadline_badge(dispute, now + timedelta(days=3))
    dispute.status = Dispute.Status.CLOSED
    assert "left" not in deadline_badge(dispute, now)


def test_the_console_counts_open_disputes_and_links_to_them():
    seller = make_tenant("Parrilla")
    make_dispute(seller)
    make_dispute(seller, status=Dispute.Status.CLOSED)
    staff = make_user("staff", is_superuser=True, is_staff=True, language="en")
    client = Client()
    client.force_login(staff)
    page = client.get("/console/", {"problem": "disputes"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "1 open dispute" in text
    assert f"{DISPUTES}?tenant__id__exact={seller.pk}&amp;status__exact=opened" in text
    [shown] = page.context["rows"]
    assert shown.row.tenant == seller
    assert shown.row.open_disputes == 1


def test_without_a_user_id_the_seller_is_found_by_the_disputed_payment(
    client, seller, paid_order, django_capture_on_commit_callbacks
):
    with tenant_scope(seller):
        payment = paid_order.payments.get()
    chargeback = open_chargeback(client, payment)
    event = last_event("topic_chargebacks_wh")
    body = {key: value for key, value in event.body.items() if key != "user_id"}
    event.body = body | {"data": {"id": chargeback["id"], "payment_id": payment.reference_id}}
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, event).status_code == 200
    [row] = Notification.objects.filter(topic="topic_chargebacks_wh")
    assert (row.status, row.tenant) == (S.PROCESSED, seller)
    with tenant_scope(seller):
        assert Dispute.objects.get().payment == payment
