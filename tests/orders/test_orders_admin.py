"""The orders admin (read-only, with the order's Mercado Pago calls and notifications) and the
notification inbox admin (a seller sees only its own rows; the "Replay" action)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import MercadoPagoCall, Notification
from sandbox.seed import seller_access_token as sandbox_token
from tenants.roles import Role
from tenants.scope import tenant_scope
from tenants.services import connect_with_access_token, disconnect
from tests.factories import make_connected_tenant, make_order, make_user
from tests.orders.conftest import pay
from tests.orders.test_order_admin_actions import member
from tests.orders.test_webhooks import deliver, new_order, payments_of, reload, webhook_event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

ORDERS = reverse("admin:orders_order_changelist")
NOTIFICATIONS = reverse("admin:orders_notification_changelist")
S = Notification.Status


def order_page(order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def notification_page(notification) -> str:
    return reverse("admin:orders_notification_change", args=[notification.pk])


@pytest.fixture
def paid(client, seller, pos, committed):
    """A v1 order paid in the sandbox and brought up to date by its webhook."""
    order = new_order(seller, pos)
    pay(client, order)
    with committed():
        assert deliver(client, webhook_event(order)).status_code == 200
    assert reload(order).status == "processed"
    return reload(order)


@pytest.fixture
def other_seller(db):
    return make_connected_tenant("Padaria", site="MLB")


def staff():
    return make_user(is_staff=True, is_superuser=True, language="en")


def inbox_row(tenant=None, **fields) -> Notification:
    values = {"kind": "webhook", "status": S.PROCESSED, "topic": "order", **fields}
    return Notification.objects.create(tenant=tenant, **values)


# Orders -----------------------------------------------------------------------------------------


def test_the_order_page_shows_its_mercado_pago_calls_to_its_sellers_member(client, seller, paid):
    client.force_login(member(seller, Role.VIEWER))
    response = client.get(order_page(paid))

    assert response.status_code == 200
    page = response.text
    assert paid.external_reference in page
    assert "Choripán" in page  # its item
    assert "Mercado Pago calls" in page
    [calls] = [
        inline
        for inline in response.context["inline_admin_formsets"]
        if inline.opts.model is MercadoPagoCall
    ]
    shown = [(form.original.method, form.original.path, form.original.status) for form in calls]
    with tenant_scope(seller):
        reference_id = paid.payments.get().reference_id
    assert shown == [
        ("POST", "/v1/orders", 201),
        ("GET", f"/v1/orders/{paid.mp_order_id}", 200),
        ("GET", f"/v1/payments/{reference_id}", 200),  # the payment's approval time
    ]
    assert "Request body (redacted)" in page
    assert "&quot;external_reference&quot;: &quot;ASADO-1&quot;" in page  # the create's body
    assert sandbox_token("MLA") not in page
    [(payment_id, _paid)] = payments_of(paid)
    assert payment_id in page
    assert "Mercado Pago notifications" in page
    assert "order.processed" in page
    assert 'name="_save"' not in page  # read-only
    assert client.get(reverse("admin:orders_order_add")).status_code == 403
    delete = reverse("admin:orders_order_delete", args=[paid.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert reload(paid).status == "processed"


def test_another_sellers_member_cannot_reach_the_order_by_url(client, paid, other_seller):
    client.force_login(member(other_seller, Role.OWNER))
    response = client.get(order_page(paid), follow=True)
    assert "doesn\u2019t exist" in response.text
    assert paid.mp_order_id not in response.text
    assert paid.external_reference not in client.get(ORDERS).text


def test_platform_staff_see_every_sellers_orders(client, paid, other_seller):
    theirs = make_order(other_seller, external_reference="PAO-1")
    client.force_login(staff())
    page = client.get(ORDERS).text
    assert paid.external_reference in page
    assert theirs.external_reference in page
    assert "Padaria" in page  # the tenant column
    assert client.get(order_page(paid)).status_code == 200


def _order_row(seller) -> str:
    return make_order(seller).external_reference


def _notification_row(seller) -> str:
    order = make_order(seller)
    return inbox_row(seller, order=order, resource_id=f"ORD-{order.pk}").resource_id


@pytest.mark.parametrize("who", ["member", "staff"])
@pytest.mark.parametrize(
    ("changelist", "make_row"), [(ORDERS, _order_row), (NOTIFICATIONS, _notification_row)]
)
def test_the_list_pages_cost_no_query_per_row(client, seller, who, changelist, make_row):
    client.force_login(member(seller, Role.VIEWER) if who == "member" else staff())
    shown = [make_row(seller)]
    client.get(changelist)
    with CaptureQueriesContext(connection) as few:
        client.get(changelist)
    shown += [make_row(seller) for _ in range(4)]
    with CaptureQueriesContext(connection) as many:
        response = client.get(changelist)
    assert all(text in response.text for text in shown)
    assert len(many.captured_queries) == len(few.captured_queries)


# The notification inbox -------------------------------------------------------------------------


def test_the_notification_admin_shows_a_seller_only_its_own_rows(client, seller, other_seller):
    ours = inbox_row(seller, resource_id="ORD-OURS")
    theirs = inbox_row(other_seller, resource_id="ORD-THEIRS")
    nobodys = inbox_row(None, status=S.REJECTED, resource_id="ORD-NOBODY")
    client.force_login(member(seller, Role.VIEWER))

    page = client.get(NOTIFICATIONS).text
    assert "ORD-OURS" in page
    assert "ORD-THEIRS" not in page
    assert "ORD-NOBODY" not in page
    assert client.get(notification_page(ours)).status_code == 200
    for foreign in (theirs, nobodys):
        response = client.get(notification_page(foreign), follow=True)
        assert "doesn\u2019t exist" in response.text
        assert foreign.resource_id not in response.text
    assert client.get(reverse("admin:orders_notification_add")).status_code == 403
    delete = reverse("admin:orders_notification_delete", args=[ours.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Notification.objects.filter(pk=ours.pk).exists()


def test_platform_staff_see_every_row_with_filters_and_search(client, seller, other_seller):
    inbox_row(seller, resource_id="ORD-OURS")
    inbox_row(other_seller, resource_id="ORD-THEIRS", kind="ipn", topic="merchant_order")
    inbox_row(None, status=S.REJECTED, resource_id="ORD-NOBODY")
    client.force_login(staff())

    page = client.get(NOTIFICATIONS).text
    assert all(rid in page for rid in ("ORD-OURS", "ORD-THEIRS", "ORD-NOBODY"))
    rejected = client.get(NOTIFICATIONS, {"status__exact": "rejected"}).text
    assert "ORD-NOBODY" in rejected
    assert "ORD-OURS" not in rejected
    ipn = client.get(NOTIFICATIONS, {"kind__exact": "ipn", "topic__exact": "merchant_order"}).text
    assert "ORD-THEIRS" in ipn
    assert "ORD-OURS" not in ipn
    found = client.get(NOTIFICATIONS, {"q": "ORD-OURS"}).text
    assert "ORD-OURS" in found
    assert "ORD-THEIRS" not in found


def _replay(client, *rows):
    return client.post(
        NOTIFICATIONS,
        {"action": "replay", "_selected_action": [row.pk for row in rows]},
        follow=True,
    )


@pytest.mark.parametrize("who", ["owner", "staff"])
def test_the_replay_action_processes_a_failed_row_once_the_cause_is_gone(
    client, seller, pos, committed, who
):
    order = new_order(seller, pos)
    pay(client, order)
    disconnect(tenant=seller)
    with committed():
        deliver(client, webhook_event(order))
    failed = Notification.objects.get()
    assert failed.status == S.FAILED
    rejected = inbox_row(seller, status=S.REJECTED)
    connect_with_access_token(tenant=seller, access_token=sandbox_token("MLA"))

    client.force_login(member(seller, Role.OWNER) if who == "owner" else staff())
    with committed():
        response = _replay(client, failed, rejected)

    assert "1 notification(s) queued again" in response.text
    assert "1 rejected notification(s) not replayed" in response.text
    failed.refresh_from_db()
    rejected.refresh_from_db()
    assert failed.status == S.PROCESSED
    assert rejected.status == S.REJECTED
    assert reload(order).status == "processed"


def test_a_cashier_may_look_at_the_inbox_but_not_replay(client, seller, committed):
    row = inbox_row(seller, status=S.FAILED, resource_id="ORD-FAILED")
    client.force_login(member(seller, Role.CASHIER))
    page = client.get(NOTIFICATIONS).text
    assert "ORD-FAILED" in page
    assert 'value="replay"' not in page
    with committed():
        _replay(client, row)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (S.FAILED, 0)
