"""The reports' beat tasks and configuration, against the in-process sandbox: every connected
seller's reports of yesterday are asked for once a day, then downloaded and matched by the
frequent task; a seller without a connection is skipped."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from merchant_platform.mercadopago import get_client
from mpapi.reports import ReportConfigRequest
from mpapi.reports import ReportKind as MpKind
from reports import services, tasks
from reports.models import ReportFile, ReportKind
from tenants.scope import tenant_scope
from tenants.services import seller_access_token
from tests.factories import make_connected_tenant, make_tenant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


def test_the_beat_runs_both_tasks():
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"reports.request_daily_reports", "reports.fetch_and_match"} <= tasks_scheduled


def test_yesterdays_reports_are_asked_for_once_then_downloaded_and_matched(client):
    seller = make_connected_tenant("Parrilla", site="MLA")
    make_tenant("Sin conexión")

    assert tasks.request_daily_reports() == 1
    assert tasks.request_daily_reports() == 1  # again the same day: nothing asked twice
    with tenant_scope(seller):
        files = list(ReportFile.objects.order_by("kind"))
    assert [f.kind for f in files] == [ReportKind.RELEASE, ReportKind.SETTLEMENT]
    buenos_aires = ZoneInfo("America/Argentina/Buenos_Aires")
    today = timezone.now().astimezone(buenos_aires).date()
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=buenos_aires)
    assert {(f.begin_date, f.end_date) for f in files} == {
        (midnight - timedelta(days=1), midnight - timedelta(seconds=1))
    }
    assert {f.status for f in files} == {ReportFile.Status.REQUESTED}

    answer = client.post("/sandbox/_control/reports/run", {}, content_type="application/json")
    assert answer.status_code == 200
    assert tasks.fetch_and_match() == 1
    with tenant_scope(seller):
        files = list(ReportFile.objects.all())
    assert {f.status for f in files} == {ReportFile.Status.DOWNLOADED}
    assert all(f.file_name and f.matched_at for f in files)


def test_ensure_config_adds_the_columns_matching_reads_to_the_sellers_own():
    seller = make_connected_tenant("Parrilla", site="MLA")
    token = seller_access_token(seller)
    own = ReportConfigRequest(columns=("SOURCE_ID", "TRANSACTION_AMOUNT"), separator=";")
    with get_client() as mp:
        mp.update_report_config(token, MpKind.SETTLEMENT, own)

        services.ensure_config(seller)

        config = mp.get_report_config(token, MpKind.SETTLEMENT)
    assert config.columns[:2] == ("SOURCE_ID", "TRANSACTION_AMOUNT")
    assert set(services.REQUIRED_COLUMNS[ReportKind.SETTLEMENT]) <= set(config.columns)
    assert config.separator == ";"  # the rest as the seller set it


def test_a_period_mercado_pago_creates_no_report_for_is_asked_again_with_its_dates():
    seller = make_connected_tenant("Parrilla", site="MLA")
    begin = datetime(2025, 1, 1, tzinfo=ZoneInfo("UTC"))

    # Over a year: Mercado Pago (MLA) answers 203 with the year it serves; asked again for it.
    asked = services.request_report(
        seller, ReportKind.SETTLEMENT, begin, begin + timedelta(days=400)
    )

    assert (asked.begin_date, asked.end_date) == (begin, begin + timedelta(days=365))
    assert asked.mp_report_id is not None
    with get_client() as mp:
        listed = mp.list_reports(seller_access_token(seller), MpKind.SETTLEMENT)
    assert [task.id for task in listed] == [asked.mp_report_id]  # one report, of that year
