"""The sandbox's account reports where ``mpapi`` cannot go: raw request bodies, the control run,
schedule arithmetic, whole-number currencies and the hook that adds movement kinds."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from sandbox import reports
from sandbox.models import Account, Payment, Report
from tests.sandbox.api_helpers import Api

SETTLEMENT = "/v1/account/settlement_report"
RELEASE = "/v1/account/release_report"


@pytest.fixture
def api(client, db) -> Api:
    return Api(client)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "begin_date", "begin_date is required (ISO 8601, e.g. 2019-05-01T00:00:00Z)"),
        (
            {"begin_date": "2026-05-01T00:00:00Z"},
            "end_date",
            "end_date is required (ISO 8601, e.g. 2019-05-01T00:00:00Z)",
        ),
        (
            {"begin_date": "yesterday", "end_date": "2026-05-01T00:00:00Z"},
            "begin_date",
            "begin_date: 'yesterday' is not an ISO 8601 date-time",
        ),
        (
            {"begin_date": "2026-05-01T00:00:00", "end_date": "2026-06-01T00:00:00Z"},
            "begin_date",
            "begin_date needs a time zone (Z or an offset)",
        ),
    ],
)
def test_generation_needs_two_dates_with_a_time_zone(api, body, field, message):
    response = api.call("POST", SETTLEMENT, body)
    assert response.status_code == 400
    assert response.json() == {
        "message": message,
        "error": "bad_request",
        "status": 400,
        "cause": [{"code": field, "description": message}],
    }
    assert not Report.objects.exists()


def test_a_body_that_is_not_json_is_a_bad_request(api):
    response = api.client.post(
        f"/sandbox{RELEASE}/config",
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_other_methods_are_not_allowed(api):
    assert api.call("DELETE", f"{SETTLEMENT}/config").status_code == 405
    assert api.call("GET", SETTLEMENT).status_code == 405
    assert api.call("PUT", f"{RELEASE}/schedule").status_code == 405


def test_the_sftp_password_is_stored_but_never_answered(api):
    sftp = {
        "server": "sftp.example.com",
        "port": 22,
        "username": "seller",
        "password": "s3cret",
        "remote_dir": "/in",
    }
    response = api.call("PUT", f"{SETTLEMENT}/config", {"sftp_info": sftp})
    assert response.status_code == 200
    assert "s3cret" not in response.content.decode()
    assert api.call("GET", f"{SETTLEMENT}/config").json()["sftp_info"] == {
        key: value for key, value in sftp.items() if key != "password"
    }
    stored = reports.stored_config(Account.objects.get(user_id=api.user_id), "settlement")
    assert stored.data["sftp_info"]["password"] == "s3cret"


def test_the_control_run_takes_an_aware_now(client, db):
    response = client.post(
        "/sandbox/_control/reports/run", {"now": "2026-05-01T00:00:00"}, "application/json"
    )
    assert response.status_code == 400
    assert response.json()["message"] == "now: an ISO 8601 date-time with a time zone"


def test_a_pending_report_has_no_file(api):
    created = api.call(
        "POST",
        SETTLEMENT,
        {"begin_date": "2026-05-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
    )
    assert created.status_code == 202
    assert created.json()["file_name"] is None
    assert created.json()["date_created"].endswith("-04:00")
    assert api.call("GET", f"{SETTLEMENT}/list").json()[0]["status"] == "pending"


def test_two_reports_generated_in_the_same_second_get_two_names(api):
    body = {"begin_date": "2026-05-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}
    api.call("POST", SETTLEMENT, body)
    api.call("POST", SETTLEMENT, body)
    now = timezone.now().replace(microsecond=0) + timedelta(minutes=1)
    first, second = reports.process_due(now)
    stamp = now.astimezone(reports.display_timezone({})).strftime("%Y-%m-%d-%H%M%S")
    assert first.file_name == f"settlement-report-{api.user_id}-{stamp}.csv"
    assert second.file_name == f"settlement-report-{api.user_id}-{stamp}-{second.pk}.csv"


@pytest.mark.parametrize(
    ("frequency", "after", "generation", "begin"),
    [
        (
            {"type": "daily", "hour": 0, "value": 1},
            "2026-05-10T03:59:59Z",
            "2026-05-10T04:00:00Z",
            "2026-05-09T04:00:00Z",
        ),
        (
            {"type": "daily", "hour": 0, "value": 1},
            "2026-05-10T04:00:00Z",  # exactly at a generation: the next one
            "2026-05-11T04:00:00Z",
            "2026-05-10T04:00:00Z",
        ),
        (
            {"type": "weekly", "hour": 8, "value": "monday"},
            "2026-05-06T00:00:00Z",  # a Wednesday
            "2026-05-11T12:00:00Z",
            "2026-05-04T12:00:00Z",
        ),
        (
            {"type": "monthly", "hour": 23, "value": 31},  # the last day of shorter months
            "2026-02-01T12:00:00Z",
            "2026-03-01T03:00:00Z",  # 28 February, 23:00 at GMT-04
            "2026-02-01T03:00:00Z",  # 31 January, 23:00 at GMT-04
        ),
    ],
)
def test_schedule_arithmetic(frequency, after, generation, begin):
    config = {"frequency": frequency, "display_timezone": "GMT-04"}
    found = reports.next_generation(config, datetime.fromisoformat(after))
    assert found == datetime.fromisoformat(generation)
    assert reports.previous_generation(config, found) == datetime.fromisoformat(begin)


def test_amounts_of_whole_number_currencies_keep_two_decimals(db):
    seller = Account.objects.get(site_id="MLC", kind=Account.Kind.SELLER)
    now = datetime(2026, 5, 10, tzinfo=UTC)
    Payment.objects.create(
        account=seller,
        currency="CLP",
        amount=Decimal("1550"),
        status=Payment.Status.APPROVED,
        payment_method_id="account_money",
        payment_type_id="account_money",
        date_approved=now,
    )
    config = reports.default_config(seller, "settlement")
    text = reports.render_csv(seller, "settlement", config, now - timedelta(days=1), now)
    row = dict(zip(*(line.split(",") for line in text.splitlines()), strict=True))
    assert row["TRANSACTION_AMOUNT"] == "1550.00"
    assert row["FEE_AMOUNT"] == "-15.00"  # 0.99 % of 1550 is 15.345: whole pesos, half up
    assert row["SETTLEMENT_NET_AMOUNT"] == "1535.00"
    assert row["TRANSACTION_CURRENCY"] == "CLP"


def test_more_movement_kinds_plug_into_the_reports(db, monkeypatch):
    """A source in ``MOVEMENT_SOURCES`` (chargebacks, say) adds its rows to both reports."""
    seller = Account.objects.get(site_id="MLA", kind=Account.Kind.SELLER)
    now = datetime(2026, 5, 10, tzinfo=UTC)
    payment = Payment.objects.create(
        account=seller, currency="ARS", amount=Decimal("100.00"), payment_type_id="credit_card"
    )

    def chargebacks(account, begin, end):
        yield reports.Movement(
            "CHARGEBACK", now, payment, Decimal("-100.00"), Decimal(0), Decimal(0)
        )

    monkeypatch.setattr(reports, "MOVEMENT_SOURCES", (*reports.MOVEMENT_SOURCES, chargebacks))
    begin = now - timedelta(days=1)
    settlement = reports.render_csv(
        seller, "settlement", reports.default_config(seller, "settlement"), begin, now
    )
    assert ",CHARGEBACK,-100.00,ARS," in settlement
    release = reports.render_csv(
        seller, "release", reports.default_config(seller, "release"), begin, now
    )
    assert ",release,chargeback,0.00,100.00,-100.00," in release
