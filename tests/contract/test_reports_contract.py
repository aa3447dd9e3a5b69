"""Contract: the settlement and release reports (``/v1/account/settlement_report``,
``/v1/account/release_report``) through ``mpapi`` against the sandbox.

Generation is asynchronous: a report stays ``pending`` until the sandbox's report run
(``POST /sandbox/_control/reports/run``, the ``sandbox.generate_reports`` task) generates it.
The seller's sale is an Orders API order of 50.00 with a marketplace fee of 5.00 (an OAuth
token), paid with a credit card and refunded in part (20.00, through ``processing``).
"""

from datetime import UTC, datetime, timedelta
from datetime import timezone as fixed_offset
from decimal import Decimal

import pytest
from django.utils import timezone

from mpapi import BadRequest, Conflict, MercadoPagoClient, NotFound, Unauthorized
from mpapi.orders import RefundTransaction
from mpapi.reports import (
    ReportConfigRequest,
    ReportFrequency,
    ReportKind,
    ReportLine,
    ReportNotCreated,
    SftpInfo,
    parse_report_csv,
)
from tests.contract.conftest import BR_SELLER_TOKEN, SELLER_ID, SELLER_TOKEN
from tests.contract.test_orders_contract import key, make_pos, new_order, oauth_token, pay
from tests.contract.test_payments_contract import make_pos as make_legacy_pos
from tests.contract.test_payments_contract import paid_legacy
from tests.sandbox.api_helpers import later

SETTLEMENT, RELEASE = ReportKind.SETTLEMENT, ReportKind.RELEASE
GMT_MINUS_4 = fixed_offset(timedelta(hours=-4))  # the default display_timezone
BAD_TOKEN = "APP_USR-0000000000000000-000000-not-a-real-token-1"
SETTLEMENT_COLUMNS = [
    "EXTERNAL_REFERENCE",
    "SOURCE_ID",
    "USER_ID",
    "PAYMENT_METHOD_TYPE",
    "PAYMENT_METHOD",
    "SITE",
    "TRANSACTION_TYPE",
    "TRANSACTION_AMOUNT",
    "TRANSACTION_CURRENCY",
    "TRANSACTION_DATE",
    "FEE_AMOUNT",
    "SETTLEMENT_NET_AMOUNT",
    "SETTLEMENT_CURRENCY",
    "SETTLEMENT_DATE",
    "REAL_AMOUNT",
    "COUPON_AMOUNT",
    "METADATA",
    "MKP_FEE_AMOUNT",
    "FINANCING_FEE_AMOUNT",
    "SHIPPING_FEE_AMOUNT",
    "TAXES_AMOUNT",
    "INSTALLMENTS",
    "ORDER_ID",
    "SHIPPING_ID",
    "SHIPMENT_MODE",
    "PACK_ID",
]
RELEASE_COLUMNS = [
    "DATE",
    "SOURCE_ID",
    "EXTERNAL_REFERENCE",
    "RECORD_TYPE",
    "DESCRIPTION",
    "NET_CREDIT_AMOUNT",
    "NET_DEBIT_AMOUNT",
    "GROSS_AMOUNT",
    "MP_FEE_AMOUNT",
    "FINANCING_FEE_AMOUNT",
    "SHIPPING_FEE_AMOUNT",
    "TAXES_AMOUNT",
    "COUPON_AMOUNT",
    "INSTALLMENTS",
    "PAYMENT_METHOD",
]


def run_reports(client, now: datetime | None = None) -> list[dict]:
    """The sandbox's report run (at ``now``); the reports it generated."""
    body = {"now": now.isoformat()} if now else {}
    response = client.post("/sandbox/_control/reports/run", body, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()["generated"]


def period() -> dict:
    now = timezone.now()
    return {"begin_date": now - timedelta(days=1), "end_date": now + timedelta(minutes=1)}


def generated(mp: MercadoPagoClient, client, kind: ReportKind, token: str = SELLER_TOKEN):
    """A report of the last day, generated; its file name."""
    task = mp.generate_report(token, kind, **period())
    run_reports(client)
    (listed,) = [row for row in mp.list_reports(token, kind) if row.id == task.id]
    assert listed.available
    return listed.file_name


@pytest.fixture
def sale(mp, client) -> dict:
    """A paid v1 order of 50.00 with a marketplace fee of 5.00, refunded 20.00 (approved)."""
    make_pos(mp, SELLER_TOKEN, SELLER_ID, "MLA")
    token = oauth_token(mp, client)
    request = new_order(external_reference="sale-42", marketplace_fee=Decimal("5.00"))
    order = mp.create_order(token, request, idempotency_key=key())
    pay(client, qr_data=order.qr_data, payment_method_id="visa")
    paid = mp.get_order(token, order.id)
    transaction = paid.payments[0]
    mp.refund_order_partially(
        token,
        order.id,
        [RefundTransaction(transaction.id, Decimal("20.00"))],
        currency="ARS",
        idempotency_key=key(),
    )
    settled = client.post(
        "/sandbox/_control/refunds/settle", {"outcome": "approved"}, "application/json"
    )
    assert settled.status_code == 200, settled.content
    return {"order_id": order.id, "payment_id": transaction.reference_id}


# Configuration ---------------------------------------------------------------------------------


def test_the_documented_defaults_until_a_configuration_is_created(mp, seller_token):
    settlement = mp.get_report_config(seller_token, SETTLEMENT)
    assert settlement.columns == tuple(SETTLEMENT_COLUMNS)
    assert settlement.file_name_prefix == f"settlement-report-{SELLER_ID}"
    assert settlement.display_timezone == "GMT-04"
    assert settlement.separator == ","
    assert settlement.frequency == ReportFrequency(type="monthly", hour=0, value=1)
    assert settlement.scheduled is False
    assert settlement.flag("include_withdraw") is False
    release = mp.get_report_config(seller_token, RELEASE)
    assert release.columns == tuple(RELEASE_COLUMNS)
    assert release.file_name_prefix == f"release-report-{SELLER_ID}"
    assert release.flag("include_withdrawal") is False


def test_create_a_configuration_once_then_update_it(mp, calls, seller_token):
    request = ReportConfigRequest(
        file_name_prefix="books",
        columns=("SOURCE_ID", "TRANSACTION_AMOUNT"),
        frequency=ReportFrequency(type="weekly", hour=6, value="monday"),
        notification_email_list=("owner@example.com",),
        sftp_info=SftpInfo("sftp.example.com", 22, "seller", "s3cret", "/reports"),
        flags={"refund_detailed": True},
    )
    created = mp.create_report_config(seller_token, SETTLEMENT, request)
    assert calls[-1].status == 201
    assert created.file_name_prefix == "books"
    assert created.columns == ("SOURCE_ID", "TRANSACTION_AMOUNT")
    assert created.frequency == ReportFrequency(type="weekly", hour=6, value="monday")
    assert created.notification_email_list == ("owner@example.com",)
    assert created.flag("refund_detailed") is True
    assert created.raw["sftp_info"] == {
        "server": "sftp.example.com",
        "port": 22,
        "username": "seller",
        "remote_dir": "/reports",
    }
    with pytest.raises(Conflict):
        mp.create_report_config(seller_token, SETTLEMENT, request)
    updated = mp.update_report_config(
        seller_token, SETTLEMENT, ReportConfigRequest(separator=";", display_timezone="GMT-03")
    )
    assert (updated.separator, updated.display_timezone) == (";", "GMT-03")
    assert updated.columns == ("SOURCE_ID", "TRANSACTION_AMOUNT")  # kept
    assert mp.get_report_config(seller_token, SETTLEMENT) == updated
    assert mp.get_report_config(seller_token, RELEASE).separator == ","  # the other report


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (ReportConfigRequest(columns=("NOT_A_COLUMN",)), "columns"),
        (ReportConfigRequest(columns=()), "columns"),
        (ReportConfigRequest(columns=("SOURCE_ID", "SOURCE_ID")), "columns"),
        (ReportConfigRequest(columns=("DATE",)), "columns"),  # a release report column
        (ReportConfigRequest(frequency=ReportFrequency(type="yearly")), "frequency"),
        (ReportConfigRequest(frequency=ReportFrequency(type="daily", hour=24)), "frequency"),
        (ReportConfigRequest(frequency=ReportFrequency("weekly", 0, "someday")), "frequency"),
        (ReportConfigRequest(frequency=ReportFrequency("monthly", 0, 32)), "frequency"),
        (ReportConfigRequest(display_timezone="America/Buenos_Aires"), "display_timezone"),
        (ReportConfigRequest(separator=":"), "separator"),
        (ReportConfigRequest(report_translation="fr"), "report_translation"),
        (ReportConfigRequest(file_name_prefix="my report"), "file_name_prefix"),
        (ReportConfigRequest(notification_email_list=("not-an-email",)), "notification_email_list"),
        (ReportConfigRequest(flags={"include_withdraw": "yes"}), "include_withdraw"),
    ],
)
def test_invalid_configurations_are_refused(mp, seller_token, request_, field):
    with pytest.raises(BadRequest) as caught:
        mp.update_report_config(seller_token, SETTLEMENT, request_)
    assert caught.value.codes[:2] == ("bad_request", field)
    assert caught.value.message.startswith(f"{field}: ")


def test_the_payer_columns_are_argentine_only(mp, db):
    columns = ReportConfigRequest(columns=("SOURCE_ID", "PAYER_NAME"))
    with pytest.raises(BadRequest) as caught:
        mp.update_report_config(BR_SELLER_TOKEN, SETTLEMENT, columns)
    assert caught.value.message == "columns: column PAYER_NAME is not available in MLB"
    assert mp.update_report_config(SELLER_TOKEN, SETTLEMENT, columns).columns == (
        "SOURCE_ID",
        "PAYER_NAME",
    )


def test_reports_need_a_valid_token(mp, db):
    with pytest.raises(Unauthorized):
        mp.get_report_config(BAD_TOKEN, SETTLEMENT)
    with pytest.raises(Unauthorized):
        mp.list_reports(BAD_TOKEN, RELEASE)


# Generation, list, download --------------------------------------------------------------------


def test_generation_is_asynchronous(mp, client, calls, seller_token):
    begin = datetime(2026, 5, 1, tzinfo=UTC)
    task = mp.generate_report(
        seller_token, SETTLEMENT, begin_date=begin, end_date=begin + timedelta(days=31)
    )
    assert calls[-1].status == 202
    assert calls[-1].request_body == {
        "begin_date": "2026-05-01T00:00:00Z",
        "end_date": "2026-06-01T00:00:00Z",
    }
    assert (task.status, task.created_from, task.report_type) == ("pending", "manual", "settlement")
    assert (task.begin_date, task.user_id, task.file_name) == (begin, SELLER_ID, None)
    (listed,) = mp.list_reports(seller_token, SETTLEMENT)
    assert (listed.id, listed.status, listed.available) == (task.id, "pending", False)
    assert mp.list_reports(seller_token, RELEASE) == ()

    (done,) = run_reports(client)
    assert done["id"] == task.id
    (listed,) = mp.list_reports(seller_token, SETTLEMENT)
    assert listed.status == "processed"
    assert listed.available
    assert listed.file_name.startswith(f"settlement-report-{SELLER_ID}-")
    assert listed.file_name.endswith(".csv")
    text = mp.download_report(seller_token, SETTLEMENT, listed.file_name)
    assert text == ",".join(SETTLEMENT_COLUMNS) + "\n"  # no movement in May 2026
    assert run_reports(client) == []  # generated once


def test_reading_the_list_generates_what_was_due_half_a_minute_ago(mp, seller_token):
    task = mp.generate_report(seller_token, RELEASE, **period())
    with later(timedelta(seconds=29)):
        assert mp.list_reports(seller_token, RELEASE)[0].status == "pending"
    with later(timedelta(seconds=30)):
        (listed,) = mp.list_reports(seller_token, RELEASE)
        lines = mp.download_report_lines(seller_token, RELEASE, listed.file_name)
    assert (listed.id, listed.status) == (task.id, "processed")
    assert [line.record_type for line in lines] == ["initial_available_balance"]


def test_a_report_is_downloaded_by_its_own_seller_and_kind_only(mp, client, seller_token):
    file_name = generated(mp, client, SETTLEMENT)
    with pytest.raises(NotFound):
        mp.download_report(BR_SELLER_TOKEN, SETTLEMENT, file_name)
    with pytest.raises(NotFound):
        mp.download_report(seller_token, RELEASE, file_name)
    with pytest.raises(NotFound):
        mp.download_report(seller_token, SETTLEMENT, "settlement-report-unknown.csv")


@pytest.mark.parametrize(
    ("begin", "end", "message"),
    [
        ("2026-06-01T00:00:00Z", "2026-05-01T00:00:00Z", "begin_date must be before end_date"),
        ("2026-05-01T00:00:00Z", "2026-05-01T00:00:00Z", "begin_date must be before end_date"),
    ],
)
def test_a_period_that_ends_before_it_begins_is_refused(mp, seller_token, begin, end, message):
    with pytest.raises(BadRequest) as caught:
        mp.generate_report(
            seller_token,
            SETTLEMENT,
            begin_date=datetime.fromisoformat(begin),
            end_date=datetime.fromisoformat(end),
        )
    assert caught.value.codes == ("bad_request", "begin_date")
    assert caught.value.message == message


def test_a_period_over_a_year_creates_no_report_and_indicates_the_dates(mp, calls, seller_token):
    begin = datetime(2025, 1, 1, tzinfo=UTC)
    over_a_year = {"begin_date": begin, "end_date": begin + timedelta(days=400)}

    with pytest.raises(ReportNotCreated) as refused:
        mp.generate_report(seller_token, SETTLEMENT, **over_a_year)

    assert calls[-1].status == 203  # an Argentine seller: the guides' 203
    assert (refused.value.begin_date, refused.value.end_date) == (
        begin,
        begin + timedelta(days=365),
    )
    assert mp.list_reports(seller_token, SETTLEMENT) == ()  # nothing was created
    with pytest.raises(BadRequest):  # Brazil documents no 203
        mp.generate_report(BR_SELLER_TOKEN, SETTLEMENT, **over_a_year)


def test_mpapi_refuses_naive_dates(mp, seller_token, calls):
    with pytest.raises(ValueError, match="timezone-aware"):
        mp.generate_report(
            seller_token, SETTLEMENT, begin_date=datetime(2026, 5, 1), end_date=datetime(2026, 6, 1)
        )
    assert calls == []


def test_settlement_report_of_a_payment_a_refund_and_a_marketplace_fee(mp, client, sale):
    text = mp.download_report(SELLER_TOKEN, SETTLEMENT, generated(mp, client, SETTLEMENT))
    assert text.split("\n", 1)[0].split(",") == SETTLEMENT_COLUMNS
    lines = parse_report_csv(text)
    settlement, refund = lines
    payment_id = str(sale["payment_id"])
    mp_fee = Decimal("1.50")  # the sandbox's 2.99 % on credit cards, rounded half up

    assert settlement.kind == "SETTLEMENT"
    assert (settlement.source_id, settlement.external_reference) == (payment_id, "sale-42")
    assert settlement.order_id == sale["order_id"]
    assert settlement.values["USER_ID"] == str(SELLER_ID)
    assert settlement.values["SITE"] == "MLA"
    assert (settlement.payment_method, settlement.payment_method_type) == ("visa", "credit_card")
    assert settlement.currency == "ARS"
    assert settlement.gross_amount == Decimal("50.00")
    assert settlement.marketplace_fee_amount == Decimal("-5.00")
    assert settlement.fee_amount == -(mp_fee + Decimal("5.00"))
    assert settlement.net_amount == settlement.gross_amount + settlement.fee_amount
    assert settlement.date.utcoffset() == timedelta(hours=-4)  # GMT-04, the default
    assert settlement.settlement_date == settlement.date

    assert refund.kind == "REFUND"
    assert (refund.source_id, refund.external_reference) == (payment_id, "sale-42")
    assert refund.gross_amount == Decimal("-20.00")
    assert refund.marketplace_fee_amount == Decimal("2.00")  # 2/5 of the fee given back
    assert refund.fee_amount == Decimal("2.00") + Decimal("0.60")
    assert refund.net_amount == refund.gross_amount + refund.fee_amount
    assert refund.values["METADATA"].startswith('[{"refund_id":"REF')

    # What the seller keeps: 30.00 sold, less 3/5 of each fee; the settlement's real amount.
    kept = sum((line.net_amount for line in lines), Decimal(0))
    assert kept == Decimal("30.00") - Decimal("3.00") - Decimal("0.90")
    assert settlement.real_amount == kept
    assert all(isinstance(line.net_amount, Decimal) for line in lines)


def test_a_refund_counts_once_approved(mp, client, seller_token):
    make_pos(mp, SELLER_TOKEN, SELLER_ID, "MLA")
    order = mp.create_order(seller_token, new_order(), idempotency_key=key())
    pay(client, qr_data=order.qr_data)
    mp.refund_order(seller_token, order.id, idempotency_key=key())  # processing
    lines = mp.download_report_lines(seller_token, SETTLEMENT, generated(mp, client, SETTLEMENT))
    assert [line.kind for line in lines] == ["SETTLEMENT"]
    client.post("/sandbox/_control/refunds/settle", {"outcome": "approved"}, "application/json")
    lines = mp.download_report_lines(seller_token, SETTLEMENT, generated(mp, client, SETTLEMENT))
    assert [line.kind for line in lines] == ["SETTLEMENT", "REFUND"]
    assert sum((line.net_amount for line in lines), Decimal(0)) == Decimal("0.00")


def test_a_legacy_payment_is_matched_by_its_merchant_order(mp, client, seller_token):
    make_legacy_pos(mp)
    receipt = paid_legacy(mp, client, "legacy-7")
    (line,) = mp.download_report_lines(seller_token, SETTLEMENT, generated(mp, client, SETTLEMENT))
    merchant_order = mp.search_merchant_orders(seller_token, external_reference="legacy-7")
    assert line.source_id == str(receipt["payment_id"])
    assert line.order_id == str(merchant_order.results[0].id)
    assert (line.external_reference, line.kind) == ("legacy-7", "SETTLEMENT")
    assert line.payment_method == "account_money"
    assert line.fee_amount == Decimal("-0.20")  # 0.99 % of 20, rounded half up
    assert line.marketplace_fee_amount == Decimal("0.00")
    assert line.net_amount == Decimal("19.80")


def test_release_report_of_the_same_sale(mp, client, sale):
    lines = mp.download_report_lines(SELLER_TOKEN, RELEASE, generated(mp, client, RELEASE))
    initial, payment, refund = lines
    assert (initial.record_type, initial.net_amount) == ("initial_available_balance", Decimal(0))
    assert (payment.record_type, payment.kind) == ("release", "payment")
    assert (refund.record_type, refund.kind) == ("release", "refund")
    assert payment.amount("NET_CREDIT_AMOUNT") == Decimal("43.50")
    assert payment.amount("NET_DEBIT_AMOUNT") == Decimal("0.00")
    assert payment.fee_amount == Decimal("-6.50")  # every fee, the marketplace's included
    assert refund.amount("NET_DEBIT_AMOUNT") == Decimal("17.40")
    assert refund.net_amount == Decimal("-17.40")
    assert payment.values["PAYMENT_METHOD"] == "visa"


def test_release_report_balances_with_the_configured_columns(mp, client, sale):
    mp.update_report_config(
        SELLER_TOKEN,
        RELEASE,
        ReportConfigRequest(columns=("DATE", "SOURCE_ID", "DESCRIPTION", "BALANCE_AMOUNT")),
    )
    text = mp.download_report(SELLER_TOKEN, RELEASE, generated(mp, client, RELEASE))
    assert text.split("\n", 1)[0] == "DATE,SOURCE_ID,DESCRIPTION,BALANCE_AMOUNT"
    *_, last = parse_report_csv(text)
    assert last.balance_amount == Decimal("26.10")  # 43.50 released, 17.40 given back


def test_the_configured_columns_separator_and_time_zone(mp, client, sale):
    config = ReportConfigRequest(
        file_name_prefix="books",
        columns=("SOURCE_ID", "TRANSACTION_TYPE", "TRANSACTION_DATE", "POS_ID", "EXTERNAL_POS_ID"),
        separator="|",
        display_timezone="GMT+01",
    )
    mp.create_report_config(SELLER_TOKEN, SETTLEMENT, config)
    file_name = generated(mp, client, SETTLEMENT)
    assert file_name.startswith("books-")
    text = mp.download_report(SELLER_TOKEN, SETTLEMENT, file_name)
    header, first, *_ = text.split("\n")
    assert header == "SOURCE_ID|TRANSACTION_TYPE|TRANSACTION_DATE|POS_ID|EXTERNAL_POS_ID"
    assert first.startswith(f"{sale['payment_id']}|SETTLEMENT|")
    assert first.endswith("|POS1")
    (line, _) = parse_report_csv(text)
    assert line.date.utcoffset() == timedelta(hours=1)
    assert len(line.values["TRANSACTION_DATE"]) == len("2019-08-11T22:20:19.000-04:00")


def test_brazilian_reports_are_separated_by_semicolons(mp, client, db):
    assert mp.get_report_config(BR_SELLER_TOKEN, SETTLEMENT).separator == ";"
    text = mp.download_report(
        BR_SELLER_TOKEN, SETTLEMENT, generated(mp, client, SETTLEMENT, BR_SELLER_TOKEN)
    )
    assert text == ";".join(SETTLEMENT_COLUMNS) + "\n"


def test_parse_report_csv_reads_the_documented_example():
    text = (
        "EXTERNAL_REFERENCE;SOURCE_ID;USER_ID;TRANSACTION_TYPE;TRANSACTION_AMOUNT;"
        "TRANSACTION_DATE;FEE_AMOUNT;SETTLEMENT_NET_AMOUNT;MKP_FEE_AMOUNT;PACK_ID\n"
        "2112818453;5067634447;123456789;SETTLEMENT;79.00;2019-08-11T22:20:19.000-04:00;"
        "-8.85;70.15;-8.85;2E+15\n"
    )
    (line,) = parse_report_csv(text)
    assert isinstance(line, ReportLine)
    assert (line.source_id, line.kind) == ("5067634447", "SETTLEMENT")
    assert (line.gross_amount, line.fee_amount, line.net_amount) == (
        Decimal("79.00"),
        Decimal("-8.85"),
        Decimal("70.15"),
    )
    assert line.date == datetime(2019, 8, 12, 2, 20, 19, tzinfo=UTC)
    assert line.values["PACK_ID"] == "2E+15"


# Schedules -------------------------------------------------------------------------------------


def test_schedule_generates_at_the_frequency_until_unscheduled(mp, client, seller_token):
    mp.update_report_config(
        seller_token,
        RELEASE,
        ReportConfigRequest(frequency=ReportFrequency(type="daily", hour=3)),
    )
    task = mp.schedule_report(seller_token, RELEASE)
    assert (task.status, task.created_from, task.report_type) == ("pending", "schedule", "release")
    assert task.generation_date > timezone.now()
    assert task.generation_date.astimezone(GMT_MINUS_4).hour == 3
    assert task.end_date == task.generation_date - timedelta(seconds=1)
    assert task.begin_date == task.generation_date - timedelta(days=1)
    assert mp.get_report_config(seller_token, RELEASE).scheduled is True
    with pytest.raises(Conflict):
        mp.schedule_report(seller_token, RELEASE)

    assert run_reports(client) == []  # not due yet
    (done,) = run_reports(client, task.generation_date + timedelta(minutes=1))
    assert done["id"] == task.id
    reports = {row.id: row for row in mp.list_reports(seller_token, RELEASE)}
    assert reports[task.id].available
    (following,) = [row for row in reports.values() if row.status == "pending"]
    assert following.generation_date == task.generation_date + timedelta(days=1)

    deleted = mp.unschedule_report(seller_token, RELEASE)
    assert (deleted.id, deleted.status) == (following.id, "deleted")
    assert mp.get_report_config(seller_token, RELEASE).scheduled is False
    assert [row.id for row in mp.list_reports(seller_token, RELEASE)] == [task.id]
    with pytest.raises(NotFound):
        mp.unschedule_report(seller_token, RELEASE)


def test_a_monthly_schedule_covers_the_month_before(mp, seller_token):
    task = mp.schedule_report(seller_token, SETTLEMENT)  # the default: monthly, day 1, 00:00
    local = task.generation_date.astimezone(GMT_MINUS_4)
    assert (local.day, local.hour, local.minute) == (1, 0, 0)
    begin = task.begin_date.astimezone(local.tzinfo)
    assert (begin.day, begin.hour) == (1, 0)
    assert begin.month == (local.month - 2) % 12 + 1
