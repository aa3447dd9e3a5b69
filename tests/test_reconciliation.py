"""Reconciliation with Mercado Pago's reports, end to end through the in-process sandbox.

An OAuth-connected seller with a 10 % marketplace fee sells two orders of 1500.00 (fee 150.00):
the first is refunded 500.00 (``processing``, completed at the sandbox's next settle), the
second gets a chargeback. The platform learns of it all by refreshing (what the notifications
would make it do), asks for the settlement and release reports, the sandbox generates them, the
platform downloads and matches them: zero mismatches. Then each kind of mismatch is injected by
changing the local side, listed in the admin, and healed (or not) by a refresh.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from disputes import services as dispute_services
from orders import services as order_services
from orders.models import Order, Payment, Refund
from reports import services
from reports.models import Mismatch, ReportFile, ReportKind, ReportLine
from tenants.models import Tenant
from tenants.scope import tenant_scope
from tests.factories import (
    make_member,
    make_oauth_tenant,
    make_order,
    make_payment,
    make_report_file,
    make_report_line,
    make_tenant,
    make_user,
)
from tests.faults import set_faults
from tests.orders.conftest import new_order, pay, synced_pos

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

K = Mismatch.Kind
MISMATCHES = reverse("admin:reports_mismatch_changelist")
FILES = reverse("admin:reports_reportfile_changelist")
FEES = reverse("console:fees")


@dataclass
class Books:
    seller: Tenant
    refunded: Order  # paid 1500.00, refunded 500.00
    disputed: Order  # paid 1500.00, charged back
    settlement: ReportFile
    release: ReportFile


def control(client, path: str, body: dict) -> dict:
    answer = client.post(f"/sandbox/_control/{path}", body, content_type="application/json")
    assert answer.status_code in (200, 201), answer.content
    return answer.json()


def paid(client, seller: Tenant, pos, reference: str) -> Order:
    order = new_order(seller, pos, reference=reference)
    pay(client, order, payment_method_id="visa")
    order = order_services.refresh_order(tenant=seller, order=order)
    assert order.status == "processed"
    return order


def payment_of(order: Order) -> Payment:
    with tenant_scope(order.tenant):
        return Payment.objects.get(order=order)


def sell_refund_and_dispute(client) -> tuple[Tenant, Order, Order]:
    seller = make_oauth_tenant("Parrilla")
    Tenant.objects.filter(pk=seller.pk).update(fee_percent=Decimal(10))
    seller.refresh_from_db()
    pos = synced_pos(seller)
    refunded = paid(client, seller, pos, "SALE-1")
    disputed = paid(client, seller, pos, "SALE-2")
    assert refunded.marketplace_fee == Decimal("150.00")

    set_faults(client, refund_outcome="pending")  # Mercado Pago answers "processing"
    [refund] = order_services.refund_order(tenant=seller, order=refunded, amount=Decimal("500.00"))
    order_services.refresh_order(tenant=seller, order=refunded)
    with tenant_scope(seller):
        assert Refund.objects.get(pk=refund.pk).status == Refund.Status.PENDING  # processing
    control(client, "refunds/settle", {"outcome": "approved"})
    order_services.refresh_order(tenant=seller, order=refunded)
    with tenant_scope(seller):
        assert Refund.objects.get(pk=refund.pk).status == Refund.Status.PROCESSED

    payment_id = int(payment_of(disputed).reference_id)
    chargeback = control(client, "chargebacks", {"payment_id": payment_id})
    dispute_services.refresh_dispute(tenant=seller, mp_chargeback_id=str(chargeback["id"]))
    return seller, refunded, disputed


def download(client, seller: Tenant) -> tuple[ReportFile, ReportFile]:
    """Ask for both reports of the last day, let the sandbox generate them, download them."""
    services.ensure_config(seller)
    now = timezone.now()
    begin, end = now - timedelta(days=1), now + timedelta(minutes=1)
    asked = [services.request_report(seller, kind, begin, end) for kind in services.KINDS]
    assert services.request_report(seller, ReportKind.SETTLEMENT, begin, end) == asked[0]
    control(client, "reports/run", {})
    downloaded = services.fetch_available(seller)
    assert sorted(r.pk for r in downloaded) == sorted(r.pk for r in asked)
    assert services.fetch_available(seller) == []  # by file name, once
    with tenant_scope(seller):
        settlement = ReportFile.objects.get(kind=ReportKind.SETTLEMENT)
        release = ReportFile.objects.get(kind=ReportKind.RELEASE)
    return settlement, release


@pytest.fixture
def books(client) -> Books:
    seller, refunded, disputed = sell_refund_and_dispute(client)
    settlement, release = download(client, seller)
    return Books(seller, refunded, disputed, settlement, release)


def matched(books: Books) -> list[Mismatch]:
    return [
        *services.match(books.seller, books.settlement),
        *services.match(books.seller, books.release),
    ]


def test_paid_refunded_and_disputed_sales_match_the_reports_with_no_mismatch(books):
    seller = books.seller
    with tenant_scope(seller):
        settlement = ReportFile.objects.get(pk=books.settlement.pk)
        kinds = sorted(settlement.lines.values_list("kind", flat=True))
        refund_line = settlement.lines.get(kind="REFUND")
        [refund] = Refund.objects.filter(order=books.refunded)
    assert settlement.status == ReportFile.Status.DOWNLOADED
    assert settlement.line_count == 4
    # The chargeback's line matches the dispute the notification recorded.
    assert kinds == ["CHARGEBACK", "REFUND", "SETTLEMENT", "SETTLEMENT"]
    assert refund_line.refund_id == refund.mp_refund_id  # matched by Mercado Pago's id
    assert refund_line.gross_amount == Decimal("-500.00")
    assert refund_line.values["EXTERNAL_REFERENCE"] == "SALE-1"

    assert matched(books) == []
    assert matched(books) == []  # idempotent
    with tenant_scope(seller):
        assert Mismatch.objects.count() == 0
        assert ReportFile.objects.filter(matched_at__isnull=False).count() == 2


def only(mismatches: list[Mismatch]) -> Mismatch:
    assert len(mismatches) == 1, [(m.kind, m.field) for m in mismatches]
    return mismatches[0]


def listed_in_admin(seller: Tenant, mismatch: Mismatch) -> str:
    owner = make_member(seller, "owner", f"owner-{mismatch.pk}", language="en")
    client = Client()
    client.force_login(owner)
    page = client.get(MISMATCHES)
    assert page.status_code == 200
    assert mismatch in page.context["cl"].result_list
    return page.content.decode()


def test_a_payment_mercado_pago_settled_that_is_unknown_here_is_listed_and_a_refresh_heals_it(
    books,
):
    with tenant_scope(books.seller):
        Payment.objects.filter(order=books.disputed).delete()

    mismatch = only(services.match(books.seller, books.settlement))
    assert (mismatch.kind, mismatch.order) == (K.UNKNOWN_PAYMENT, books.disputed)
    assert mismatch.found == Decimal("1500.00")
    assert "Payment unknown here" in listed_in_admin(books.seller, mismatch)

    assert services.resolve_by_refresh(books.seller, mismatch) is True
    mismatch.refresh_from_db()
    assert mismatch.resolution == Mismatch.Resolution.REFRESHED
    assert mismatch.resolved_at is not None
    assert payment_of(books.disputed).paid_amount == Decimal("1500.00")
    assert services.match(books.seller, books.settlement) == []


def test_a_gross_amount_changed_here_is_listed_and_a_refresh_heals_it(books):
    with tenant_scope(books.seller):
        Payment.objects.filter(order=books.refunded).update(paid_amount=Decimal("1400.00"))

    mismatch = only(services.match(books.seller, books.settlement))
    assert (mismatch.kind, mismatch.field) == (K.AMOUNT_DIFFERS, Mismatch.Field.GROSS)
    assert (mismatch.expected, mismatch.found) == (Decimal("1400.00"), Decimal("1500.00"))
    text = listed_in_admin(books.seller, mismatch)
    assert "Amount differs" in text
    assert "ARS\u00a01,400.00" in text

    # Matching again keeps the same open mismatch, not a second one.
    assert services.match(books.seller, books.settlement) == [mismatch]
    assert services.resolve_by_refresh(books.seller, mismatch) is True
    assert payment_of(books.refunded).paid_amount == Decimal("1500.00")


def test_a_marketplace_fee_that_differs_stays_open_after_a_refresh(books):
    with tenant_scope(books.seller):
        Order.objects.filter(pk=books.refunded.pk).update(marketplace_fee=Decimal("100.00"))

    mismatch = only(services.match(books.seller, books.settlement))
    assert mismatch.field == Mismatch.Field.MARKETPLACE_FEE
    assert (mismatch.expected, mismatch.found) == (Decimal("100.00"), Decimal("150.00"))
    listed_in_admin(books.seller, mismatch)

    assert services.resolve_by_refresh(books.seller, mismatch) is False
    mismatch.refresh_from_db()
    assert mismatch.is_open


def test_a_refund_in_the_report_missing_here_is_listed(books):
    with tenant_scope(books.seller):
        Refund.objects.all().delete()

    mismatch = only(services.match(books.seller, books.settlement))
    assert (mismatch.kind, mismatch.order) == (K.REFUND_MISSING_HERE, books.refunded)
    assert mismatch.found == Decimal("500.00")
    assert "Refund missing here" in listed_in_admin(books.seller, mismatch)
    assert services.resolve_by_refresh(books.seller, mismatch) is True  # the refund read again


def test_a_refund_pending_here_that_mercado_pago_completed_is_missing_here(books):
    with tenant_scope(books.seller):
        Refund.objects.update(status=Refund.Status.PENDING)

    mismatch = only(services.match(books.seller, books.settlement))
    assert mismatch.kind == K.REFUND_MISSING_HERE
    with tenant_scope(books.seller):
        assert mismatch.refund == Refund.objects.get()


def test_a_refund_completed_here_with_no_line_is_missing_in_the_report(books):
    payment = payment_of(books.disputed)
    with tenant_scope(books.seller):
        refund = Refund.objects.create(
            tenant=books.seller,
            order=books.disputed,
            payment=payment,
            amount=Decimal("20.00"),
            status=Refund.Status.PROCESSED,
            mp_refund_id="999999",
            processed_at=timezone.now(),
        )

    mismatch = only(services.match(books.seller, books.settlement))
    assert (mismatch.kind, mismatch.refund) == (K.REFUND_MISSING_IN_REPORT, refund)
    assert mismatch.expected == Decimal("20.00")
    assert "Refund missing in the report" in listed_in_admin(books.seller, mismatch)
    # The release report is not checked for missing lines (money is released later).
    assert services.match(books.seller, books.release) == []


def test_a_payment_paid_here_with_no_line_is_missing_in_the_report(books):
    order = make_order(books.seller, status="processed", external_reference="GHOST-1")
    payment = make_payment(books.seller, order, approved_at=timezone.now())

    mismatch = only(services.match(books.seller, books.settlement))
    assert (mismatch.kind, mismatch.payment) == (K.PAYMENT_MISSING_IN_REPORT, payment)
    assert "Payment missing in the report" in listed_in_admin(books.seller, mismatch)


def test_a_chargeback_line_with_no_dispute_here_is_listed(books):
    # The sandbox's reports have no CHARGEBACK lines yet: add them as Mercado Pago writes them.
    for order in (books.refunded, books.disputed):
        make_report_line(
            books.seller,
            books.settlement,
            number=100 + order.pk,
            kind="CHARGEBACK",
            source_id=payment_of(order).reference_id,
            external_reference=order.external_reference,
            gross_amount=Decimal("-1500.00"),
        )

    mismatch = only(services.match(books.seller, books.settlement))
    assert (mismatch.kind, mismatch.order) == (K.CHARGEBACK_UNKNOWN, books.refunded)
    assert "Chargeback unknown here" in listed_in_admin(books.seller, mismatch)


def test_a_resolved_mismatch_stays_resolved_and_a_healed_one_is_resolved_on_rematch(books):
    with tenant_scope(books.seller):
        Order.objects.filter(pk=books.refunded.pk).update(marketplace_fee=Decimal("100.00"))
    mismatch = only(services.match(books.seller, books.settlement))
    with tenant_scope(books.seller):
        Mismatch.objects.filter(pk=mismatch.pk).update(
            resolved_at=timezone.now(), resolution=Mismatch.Resolution.REFRESHED
        )
    assert services.match(books.seller, books.settlement) == []  # not opened again

    with tenant_scope(books.seller):
        Payment.objects.filter(order=books.disputed).update(paid_amount=Decimal("1.00"))
    gross = only(services.match(books.seller, books.settlement))
    with tenant_scope(books.seller):
        Payment.objects.filter(order=books.disputed).update(paid_amount=Decimal("1500.00"))
    assert services.match(books.seller, books.settlement) == []
    gross.refresh_from_db()
    assert gross.resolution == Mismatch.Resolution.REMATCHED


def test_the_admin_refresh_action_resolves_what_mercado_pago_heals(books):
    with tenant_scope(books.seller):
        Payment.objects.filter(order=books.refunded).update(paid_amount=Decimal("1400.00"))
    mismatch = only(services.match(books.seller, books.settlement))
    owner = make_member(books.seller, "owner", "owner-en", language="en")
    client = Client()
    client.force_login(owner)
    answer = client.post(
        MISMATCHES, {"action": "refresh", "_selected_action": [mismatch.pk]}, follow=True
    )
    assert "1 mismatch resolved by the refresh." in answer.content.decode()
    mismatch.refresh_from_db()
    assert mismatch.resolution == Mismatch.Resolution.REFRESHED


def test_report_files_show_their_lines_and_open_mismatches_to_owners_and_managers_only(books):
    with tenant_scope(books.seller):
        Refund.objects.all().delete()
    services.match(books.seller, books.settlement)
    other = make_tenant("Heladería")
    client = Client()

    client.force_login(make_member(books.seller, "manager", "manager-en", language="en"))
    page = client.get(FILES)
    assert page.status_code == 200
    rows = {row.pk: row for row in page.context["cl"].result_list}
    assert rows[books.settlement.pk].line_count == 4
    assert rows[books.settlement.pk].open_count == 1
    assert f"?report__id__exact={books.settlement.pk}" in page.content.decode()

    for role in ("cashier", "viewer"):
        client.force_login(make_member(books.seller, role, f"{role}-en", language="en"))
        assert client.get(FILES).status_code == 403
        assert client.get(MISMATCHES).status_code == 403

    client.force_login(make_member(other, "owner", "other-en", language="en"))
    assert list(client.get(MISMATCHES).context["cl"].result_list) == []
    assert list(client.get(FILES).context["cl"].result_list) == []


def test_the_console_shows_each_sellers_fees_recorded_and_reported(books, client):
    with tenant_scope(books.seller):
        report = ReportFile.objects.get(pk=books.settlement.pk)
    # Lines found again in a second report of the same period count once.
    copy = make_report_file(books.seller, begin_date=report.begin_date, end_date=report.end_date)
    with tenant_scope(books.seller):
        lines = list(ReportLine.objects.filter(report=report))
    for line in lines:
        make_report_line(
            books.seller,
            copy,
            number=line.number,
            kind=line.kind,
            source_id=line.source_id,
            refund_id=line.refund_id,
            date=line.date,
            marketplace_fee_amount=line.marketplace_fee_amount,
        )
    with tenant_scope(books.seller):
        Order.objects.filter(pk=books.disputed.pk).update(marketplace_fee=Decimal("140.00"))

    staff = make_user("staff-fees", is_superuser=True, is_staff=True, language="en")
    client.force_login(staff)
    page = client.get(FEES)
    assert page.status_code == 200
    [row] = page.context["rows"]
    month = row["month"]
    assert (month.tenant, month.month) == (books.seller, timezone.now().date().replace(day=1))
    assert month.recorded == Decimal("290.00")
    assert month.reported == Decimal("300.00")
    assert month.given_back == Decimal("50.00")  # a third of the fee, with 500.00 of 1500.00
    assert month.difference == Decimal("-10.00")
    text = page.content.decode()
    assert "ARS\u00a0290.00" in text
    assert "ARS\u00a0-10.00" in text
    assert FEES in client.get(reverse("console:sellers")).content.decode()


def test_only_platform_staff_see_the_fees_page(client):
    seller = make_tenant("Parrilla")
    client.force_login(make_member(seller, "owner", "owner-en", language="en"))
    assert client.get(FEES).status_code == 403
    client.logout()
    assert client.get(FEES).status_code == 302  # the sign-in page


def test_mismatches_of_one_report_never_cross_to_another_seller():
    seller, other = make_tenant("Parrilla"), make_tenant("Heladería")
    line = make_report_line(other, kind="SETTLEMENT", source_id="123")
    assert services.match(other, line.report)[0].kind == K.UNKNOWN_PAYMENT
    with tenant_scope(seller):
        assert Mismatch.objects.count() == 0


def test_a_line_named_by_reference_matches_the_paid_payment_not_a_declined_one(tenant_a):
    order = make_order(tenant_a, status="processed", external_reference="MESA-9")
    make_payment(tenant_a, order, status="rejected", paid_amount=Decimal(0))
    paid = make_payment(tenant_a, order)
    line = ReportLine(tenant=tenant_a, number=1, source_id="", external_reference="MESA-9")

    with tenant_scope(tenant_a):
        assert services._Payments([line]).of(line) == paid
