"""The integrator's console (``/console/``): platform staff only; every seller's funnel stage,
takings in its own currency and local days, problems linked to the admin; filters, search,
ordering, CSV export; a number of queries that does not grow with the number of sellers."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation
from console import selectors
from console.selectors import Problem, Stage
from orders.models import Notification
from partners.models import WebhookDelivery
from pos.models import PointOfSale, Store, SyncState
from tenants.models import MercadoPagoCredential, Tenant
from tenants.roles import Role
from tenants.scope import cross_tenant_scope, tenant_scope
from tests.factories import (
    make_dispute,
    make_member,
    make_order,
    make_pos,
    make_store,
    make_tenant,
    make_user,
    make_webhook_delivery,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)  # 12:00 in Buenos Aires, 09:00 in Mexico City
CONSOLE = "/console/"


def staff_client() -> Client:
    client = Client()
    client.force_login(make_user(is_staff=True, is_platform_staff=True, language="en"))
    return client


def connect(tenant: Tenant, status=MercadoPagoCredential.Status.CONNECTED, mp_user_id=None):
    with tenant_scope(tenant):
        return MercadoPagoCredential.objects.create(
            tenant=tenant,
            source=MercadoPagoCredential.Source.OAUTH,
            status=status,
            mp_user_id=mp_user_id or 9_000_000 + tenant.pk,
            access_token=f"APP_USR-test-{tenant.pk}",
            access_token_tail="0000",
        )


def invite(tenant: Tenant, email: str, role=Role.OWNER) -> Invitation:
    with tenant_scope(tenant):
        return Invitation.objects.create(
            tenant=tenant,
            email=email,
            role=role,
            nonce="n" * 43,
            sent_at=NOW,
            expires_at=NOW + timedelta(days=7),
        )


def paid(tenant: Tenant, pos: PointOfSale, at: datetime, amount: str, fee: str = "0", **fields):
    return make_order(
        tenant,
        pos,
        status=fields.pop("status", "processed"),
        paid_at=at,
        total_amount=Decimal(amount),
        marketplace_fee=Decimal(fee),
        **fields,
    )


def stage_of(tenant: Tenant, now: datetime = NOW) -> str:
    return row_of(tenant, now).stage


def row_of(tenant: Tenant, now: datetime = NOW) -> selectors.SellerRow:
    with cross_tenant_scope():
        (row,) = selectors.rows(selectors.sellers(now).filter(pk=tenant.pk), now)
    return row


def failed(instance) -> None:
    with tenant_scope(instance.tenant):
        type(instance).objects.filter(pk=instance.pk).update(sync_state=SyncState.FAILED)


# Access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [CONSOLE, "/console/sellers.csv", "/console/health/"])
def test_only_platform_staff_open_the_console(url):
    seller = make_tenant()
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))

    member = Client()
    member.force_login(make_member(seller, Role.OWNER, language="en"))
    assert member.get(url).status_code == 403

    superuser = Client()
    superuser.force_login(make_user(is_staff=True, is_superuser=True))
    assert superuser.get(url).status_code == 200
    assert staff_client().get(url).status_code == 200


def test_the_console_looks_like_the_admin_and_links_to_its_health():
    page = staff_client().get(CONSOLE).text
    assert 'id="tenant-switcher"' in page  # admin/base_site.html's user tools
    assert f'<a href="{reverse("admin:index")}">Home</a>' in page
    assert f'href="{reverse("console:health")}"' in page


# Stages ---------------------------------------------------------------------------------------


def test_each_stage_is_the_furthest_step_the_seller_has_reached():
    invited = make_tenant("Invited")
    invite(invited, "owner@invited.example")
    accepted = make_tenant("Accepted, not connected")
    make_member(accepted, Role.OWNER)
    connected = make_tenant("Connected")
    connect(connected)
    store = make_tenant("Store")
    connect(store)
    make_store(store)
    pos = make_tenant("POS")
    connect(pos)
    make_pos(pos)
    first = make_tenant("First payment")
    connect(first)
    paid(first, make_pos(first), NOW - timedelta(days=8), "10")
    live = make_tenant("Live")
    connect(live)
    paid(live, make_pos(live), NOW - timedelta(days=6), "10")
    unpaid_orders = make_tenant("Orders never paid")
    connect(unpaid_orders)
    make_order(unpaid_orders, status="expired")

    assert stage_of(invited) == Stage.INVITED
    assert stage_of(accepted) == Stage.INVITED
    assert stage_of(connected) == Stage.CONNECTED
    assert stage_of(store) == Stage.STORE
    assert stage_of(pos) == Stage.POS
    assert stage_of(unpaid_orders) == Stage.POS
    assert stage_of(first) == Stage.FIRST_PAYMENT
    assert stage_of(live) == Stage.LIVE
    # A week on, the live seller's payment is older than its last 7 days.
    assert stage_of(live, NOW + timedelta(days=1)) == Stage.FIRST_PAYMENT
    # The stage filter (EXISTS conditions over the whole list) agrees with the rows' stage.
    with cross_tenant_scope():
        filtered = {
            stage: set(selectors.sellers(NOW, stage=stage).values_list("name", flat=True))
            for stage in Stage
        }
    sellers = (invited, accepted, connected, store, pos, first, live, unpaid_orders)
    assert filtered == {
        stage: {seller.name for seller in sellers if stage_of(seller) == stage} for stage in Stage
    }


def test_live_counts_the_sellers_own_seven_local_days_and_refunded_orders():
    seller = make_tenant("Mexico", site="MLM")
    connect(seller)
    pos = make_pos(seller)
    # 7 local days in Mexico City (UTC-6) began on 2026-11-30 at 06:00 UTC.
    paid(seller, pos, datetime(2026, 11, 30, 5, 59, tzinfo=UTC), "10", status="refunded")
    assert stage_of(seller) == Stage.FIRST_PAYMENT
    paid(seller, pos, datetime(2026, 11, 30, 6, 0, tzinfo=UTC), "10", status="refunded")
    assert stage_of(seller) == Stage.LIVE


def test_a_connection_that_needs_reconnecting_keeps_the_stage_and_shows_the_problem():
    seller = make_tenant()
    connect(seller, status=MercadoPagoCredential.Status.NEEDS_RECONNECT)
    make_pos(seller)
    assert stage_of(seller) == Stage.POS
    assert row_of(seller).problems == [Problem.RECONNECT]


# Figures --------------------------------------------------------------------------------------


def two_sellers_with_takings() -> tuple[Tenant, Tenant]:
    """An Argentine and a Mexican seller, each paid the same instants."""
    argentina, mexico = make_tenant("Parrilla", site="MLA"), make_tenant("Taqueria", site="MLM")
    for seller, scale in ((argentina, 1), (mexico, 3)):
        connect(seller)
        pos = make_pos(seller)
        # 05:00 UTC is today in Buenos Aires (from 03:00 UTC), yesterday in Mexico (06:00 UTC).
        paid(seller, pos, NOW.replace(hour=5), f"{100.50 * scale:.2f}", "5.25")
        paid(seller, pos, NOW - timedelta(days=3), f"{200 * scale}", "10", status="refunded")
        paid(seller, pos, NOW - timedelta(days=10), "50", "1")
        make_order(seller, pos, status="created", marketplace_fee=Decimal("99"))
        make_order(seller, pos, status="canceled", marketplace_fee=Decimal("99"))
    return argentina, mexico


def test_takings_are_counted_in_each_sellers_currency_and_local_days():
    argentina, mexico = two_sellers_with_takings()

    ars, mxn = row_of(argentina), row_of(mexico)

    assert (ars.currency, mxn.currency) == ("ARS", "MXN")
    assert (ars.today_count, ars.today_volume) == (1, Decimal("100.50"))
    assert (mxn.today_count, mxn.today_volume) == (0, Decimal("0.00"))
    assert (ars.week_count, ars.week_volume) == (2, Decimal("300.50"))
    assert (mxn.week_count, mxn.week_volume) == (2, Decimal("901.50"))
    assert (ars.week_fees, ars.total_fees) == (Decimal("15.25"), Decimal("16.25"))
    assert (mxn.week_fees, mxn.total_fees) == (Decimal("15.25"), Decimal("16.25"))
    assert ars.last_payment == NOW.replace(hour=5)
    assert all(isinstance(value, Decimal) for value in (ars.week_volume, mxn.total_fees))


def test_the_page_shows_the_figures_in_the_viewers_format():
    argentina, _mexico = two_sellers_with_takings()
    with time_machine.travel(NOW, tick=False):
        response = staff_client().get(CONSOLE)
    html = response.text
    row = html[html.index('id="seller-parrilla"') :]
    row = row[: row.index("</tr>")]
    assert "1 · ARS\u00a0100.50" in row
    assert "2 · ARS\u00a0300.50" in row
    assert "ARS\u00a016.25" in row
    assert reverse("admin:tenants_tenant_change", args=[argentina.pk]) in row
    mexico_row = html[html.index('id="seller-taqueria"') :]
    assert "0 · MXN\u00a00.00" in mexico_row[: mexico_row.index("</tr>")]


def test_the_owner_is_a_members_address_or_the_open_invitation():
    member_owner, invited, nobody = make_tenant("A"), make_tenant("B"), make_tenant("C")
    owner = make_member(member_owner, Role.OWNER)
    make_member(member_owner, Role.VIEWER)
    invite(invited, "boss@b.example")
    invite(invited, "cashier@b.example", role=Role.CASHIER)

    html = staff_client().get(CONSOLE).text

    assert owner.email in html
    assert "invited: boss@b.example" in html
    assert "cashier@b.example" not in html
    assert row_of(nobody).owner_email == row_of(nobody).invited_email == ""


# Problems -------------------------------------------------------------------------------------


def seller_with_every_problem(name: str = "Troubled") -> Tenant:
    seller = make_tenant(name)
    connect(seller, status=MercadoPagoCredential.Status.NEEDS_RECONNECT)
    failed(make_store(seller))
    failed(make_pos(seller))
    Notification.objects.create(
        kind=Notification.Kind.WEBHOOK, status=Notification.Status.FAILED, tenant=seller
    )
    gave_up, retrying, _waiting = (make_webhook_delivery(seller) for _ in range(3))
    with tenant_scope(seller):
        WebhookDelivery.objects.filter(pk=gave_up.pk).update(status="failed", attempt_count=6)
        WebhookDelivery.objects.filter(pk=retrying.pk).update(attempt_count=2)
    make_dispute(seller)
    return seller


def test_each_problem_is_shown_and_linked_to_the_admin_list_filtered_to_it():
    seller = seller_with_every_problem()
    healthy = make_tenant("Healthy")
    connect(healthy)
    client = staff_client()

    row = row_of(seller)
    assert (row.failed_stores, row.failed_pos, row.failed_notifications) == (1, 1, 1)
    assert (row.failed_deliveries, row.retrying_deliveries, row.needs_reconnect) == (1, 1, True)
    assert row.problems == list(Problem)
    assert row_of(healthy).problems == []

    html = client.get(CONSOLE).text
    of_seller = f"?tenant__id__exact={seller.pk}&amp;"
    links = {
        "admin:pos_store_changelist": "sync_state__exact=failed",
        "admin:pos_pointofsale_changelist": "sync_state__exact=failed",
        "admin:orders_notification_changelist": "status__exact=failed",
        "admin:partners_webhookdelivery_changelist": "status__exact=failed",
        "admin:tenants_mercadopagocredential_changelist": "status__exact=needs_reconnect",
    }
    for name, query in links.items():
        assert f'href="{reverse(name)}{of_seller}{query}"' in html, name
    retry = "status__exact=pending&amp;attempt_count__gt=0"
    assert f"{reverse('admin:partners_webhookdelivery_changelist')}{of_seller}{retry}" in html

    # The links open lists holding the problem rows alone.
    client = Client()
    client.force_login(make_user(is_staff=True, is_superuser=True))
    stores = client.get(
        reverse("admin:pos_store_changelist"),
        {"tenant__id__exact": seller.pk, "sync_state__exact": "failed"},
    )
    assert [store.sync_state for store in stores.context["cl"].result_list] == ["failed"]
    deliveries = client.get(
        reverse("admin:partners_webhookdelivery_changelist"),
        {"tenant__id__exact": seller.pk, "status__exact": "pending", "attempt_count__gt": 0},
    )
    assert [d.attempt_count for d in deliveries.context["cl"].result_list] == [2]


# Filters, search, ordering, pages ---------------------------------------------------------------


def listed(client: Client, **query) -> list[str]:
    response = client.get(CONSOLE, query)
    assert response.status_code == 200
    return [shown.row.tenant.name for shown in response.context["rows"]]


def test_filters_by_stage_country_and_problems():
    client = staff_client()
    invited = make_tenant("Alpha invited", site="MLA")
    connected = make_tenant("Bravo connected", site="MLB")
    connect(connected)
    troubled = seller_with_every_problem("Charlie troubled")
    notifications_only = make_tenant("Delta notifications")
    Notification.objects.create(
        kind=Notification.Kind.WEBHOOK, status=Notification.Status.FAILED, tenant=notifications_only
    )
    Notification.objects.create(  # another seller's processed notification is no problem
        kind=Notification.Kind.WEBHOOK, status=Notification.Status.PROCESSED, tenant=invited
    )

    assert listed(client, stage="invited") == [invited.name, notifications_only.name]
    assert listed(client, stage="connected") == [connected.name]
    assert listed(client, site="MLB") == [connected.name]
    assert listed(client, problem="any") == [troubled.name, notifications_only.name]
    assert listed(client, problem="notifications") == [troubled.name, notifications_only.name]
    for problem in ("sync", "deliveries", "reconnect"):
        assert listed(client, problem=problem) == [troubled.name]
    assert listed(client, problem="reconnect", stage="invited") == []
    assert listed(client, stage="nonsense") == listed(client)  # unreadable: no filter


def test_search_finds_name_slug_mercado_pago_user_id_and_member_address():
    client = staff_client()
    by_name = make_tenant("Panaderia Sol")
    by_slug = make_tenant("Otra", slug="la-otra-tienda")
    by_mp = make_tenant("Connected one")
    connect(by_mp, mp_user_id=123456789)
    Tenant.objects.filter(pk=by_mp.pk).update(mp_user_id=123456789)
    by_member = make_tenant("Member's")
    member = make_member(by_member, Role.MANAGER, "zelda")
    invited = make_tenant("Invited one")
    invite(invited, "future.owner@example.org")

    assert listed(client, q="panaderia") == [by_name.name]
    assert listed(client, q="otra-tienda") == [by_slug.name]
    assert listed(client, q="123456789") == [by_mp.name]
    assert listed(client, q=member.email.upper()) == [by_member.name]
    assert listed(client, q="future.owner") == [invited.name]
    assert listed(client, q="nothing-like-this") == []


def test_orders_by_columns_and_pages_fifty_at_a_time():
    client = staff_client()
    early, late = make_tenant("Zeta early"), make_tenant("Alpha late")
    for seller, days in ((early, 5), (late, 1)):
        connect(seller)
        paid(seller, make_pos(seller), NOW - timedelta(days=days), "10")
    never = make_tenant("Mu never")

    assert listed(client) == [late.name, never.name, early.name]
    assert listed(client, o="-name") == [early.name, never.name, late.name]
    assert listed(client, o="-last_payment") == [late.name, early.name, never.name]
    assert listed(client, o="last_payment") == [early.name, late.name, never.name]
    assert listed(client, o="created") == [never.name, late.name, early.name]  # newest first

    Tenant.objects.bulk_create(
        Tenant(name=f"Bulk {n:03}", slug=f"bulk-{n:03}", site="MLA") for n in range(60)
    )
    first = client.get(CONSOLE, {"q": "Bulk"})
    assert len(first.context["rows"]) == 50
    assert 'id="next-page"' in first.text
    assert "q=Bulk&amp;page=2" in first.text
    assert len(client.get(CONSOLE, {"q": "Bulk", "page": 2}).context["rows"]) == 10


def test_the_number_of_queries_does_not_grow_with_the_sellers():
    client = staff_client()

    def sellers(count: int) -> None:
        for n in range(count):
            seller = seller_with_every_problem(f"Seller {count}-{n}")
            make_member(seller, Role.OWNER)
            invite(seller, f"owner{count}-{n}@example.com")
            paid(seller, make_pos(seller), timezone.now() - timedelta(hours=1), "10", "1")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(CONSOLE, {"problem": "any", "o": "-last_payment"}).status_code == 200
        return len(captured)

    sellers(3)
    few = queries()
    sellers(27)
    assert queries() == few


# CSV ------------------------------------------------------------------------------------------


def test_the_csv_holds_the_filtered_sellers_with_plain_amounts_and_no_formulas():
    argentina, mexico = two_sellers_with_takings()
    Tenant.objects.filter(pk=argentina.pk).update(name='=HYPERLINK("http://evil.example")')
    make_member(mexico, Role.OWNER, "-owner")
    make_tenant("Not connected")
    client = staff_client()

    with time_machine.travel(NOW, tick=False):
        response = client.get("/console/sellers.csv", {"stage": "live"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="sellers-2026-12-06.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["slug"] for row in rows] == ["parrilla", "taqueria"]  # by name; filtered
    ars, mxn = rows
    assert ars["name"] == '\'=HYPERLINK("http://evil.example")'
    assert mxn["owner_email"] == "'-owner@example.com"
    assert (ars["currency"], ars["volume_today"], ars["volume_7_days"]) == (
        "ARS",
        "100.50",
        "300.50",
    )
    assert (mxn["currency"], mxn["volume_today"], mxn["volume_7_days"]) == ("MXN", "0.00", "901.50")
    assert (ars["fees_7_days"], ars["fees_all_time"], ars["payments_7_days"]) == (
        "15.25",
        "16.25",
        "2",
    )
    assert ars["stage"] == "live"
    assert ars["last_payment_at"] == "2026-12-06T05:00:00+00:00"


def test_the_csv_reads_sellers_in_chunks_not_one_by_one():
    client = staff_client()

    def exported(count: int) -> tuple[int, int]:
        Tenant.objects.bulk_create(
            Tenant(name=f"Bulk {count}-{n:03}", slug=f"bulk-{count}-{n:03}", site="MLA")
            for n in range(count)
        )
        with CaptureQueriesContext(connection) as captured:
            body = b"".join(client.get("/console/sellers.csv").streaming_content).decode()
        return len(body.splitlines()), len(captured)

    lines, few = exported(3)
    more_lines, more = exported(30)
    assert (lines, more_lines) == (4, 34)
    assert more == few  # one chunk of grouped queries, however many sellers are in it


# OAuth applications ---------------------------------------------------------------------------


def test_unsupported_grant_types_and_client_types_are_refused_by_the_application_form():
    from oauth2_provider.models import get_application_model

    Application = get_application_model()
    client = Client()
    client.force_login(make_user(is_staff=True, is_superuser=True))
    add = reverse("admin:oauth2_provider_application_add")

    page = client.get(add)
    offered = [
        value
        for value, _label in page.context["adminform"]
        .form.fields["authorization_grant_type"]
        .choices
    ]
    assert offered == ["authorization-code", "client-credentials"]

    def post(grant: str, client_type: str, algorithm: str = ""):  # the toolkit form's fields
        return client.post(
            add,
            {
                "name": f"{grant} {client_type}",
                "client_id": f"id-{grant}-{client_type}",
                "client_secret": "s" * 40,
                "hash_client_secret": "on",
                "client_type": client_type,
                "authorization_grant_type": grant,
                "redirect_uris": "https://partner.example/callback",
                "post_logout_redirect_uris": "",
                "allowed_origins": "",
                "algorithm": algorithm,
            },
        )

    for grant in ("password", "implicit", "openid-hybrid", Application.GRANT_DEVICE_CODE):
        response = post(grant, "confidential")
        assert response.status_code == 200
        assert "authorization_grant_type" in response.context["adminform"].form.errors
    refused = post("client-credentials", "public")
    assert "client_type" in refused.context["adminform"].form.errors
    assert not Application.objects.exists()

    assert post("authorization-code", "public").status_code == 302
    assert post("client-credentials", "confidential").status_code == 302
    assert Application.objects.count() == 2

    oidc = post("authorization-code", "confidential", algorithm="RS256")
    assert "algorithm" in oidc.context["adminform"].form.errors  # OIDC is off


def test_store_and_pos_sync_failures_count_per_kind():
    seller = make_tenant()
    connect(seller)
    for _ in range(2):
        failed(make_store(seller))
    make_pos(seller)
    with tenant_scope(seller):
        assert Store.objects.filter(sync_state=SyncState.FAILED).count() == 2
    row = row_of(seller)
    assert (row.failed_stores, row.failed_pos, row.problems) == (2, 0, [Problem.SYNC])
