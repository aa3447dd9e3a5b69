"""``GET /api/v1/orders/export.csv`` and ``.xlsx`` for partner apps: the ``orders:read`` scope,
the token's seller only, the API's error format, and the operations in the OpenAPI schema."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook

from tests.api.conftest import api_client, issue_token
from tests.factories import make_order, make_pos

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # 3 Dec in Buenos Aires and São Paulo
SALE = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def sale(tenant, reference: str, amount: str):
    with time_machine.travel(SALE, tick=False):
        return make_order(
            tenant, make_pos(tenant), external_reference=reference, total_amount=Decimal(amount)
        )


def export(client: Client, extension: str = "csv", **query):
    with time_machine.travel(NOW, tick=False):
        return client.get(f"/api/v1/orders/export.{extension}", query)


def test_a_token_exports_its_sellers_orders_only(tenant_a, tenant_b):
    sale(tenant_a, "ours", "10.00")
    sale(tenant_b, "theirs", "20.00")
    api = api_client(issue_token(tenant_a, frozenset({"orders:read"})))

    response = export(api, **{"from": "2026-12-01", "to": "2026-12-03"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert tenant_a.slug in response["Content-Disposition"]
    assert [(row["external_reference"], row["total_amount"]) for row in rows] == [("ours", "10.00")]


def test_xlsx_for_a_partner_with_the_default_period_today(tenant_a):
    sale(tenant_a, "yesterday", "10.00")
    api = api_client(issue_token(tenant_a, frozenset({"orders:read"})))

    response = export(api, "xlsx")  # today only: 3 Dec
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert f"{tenant_a.slug}-orders-2026-12-03.xlsx" in response["Content-Disposition"]
    assert sheet.max_row == 1  # the header only


def test_a_token_without_orders_read_is_refused(tenant_a):
    api = api_client(issue_token(tenant_a, frozenset({"stores:read"})))

    response = export(api)

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ({"kind": "customers"}, "kind", "invalid_choice"),
        ({"from": "2026-12-04", "to": "2026-12-01"}, "non_field_errors", "period_backwards"),
        ({"from": "1-12-2026"}, "non_field_errors", "invalid_date"),
        ({"from": "2024-01-01", "to": "2026-12-03"}, "non_field_errors", "period_too_long"),
    ],
)
def test_bad_queries_answer_in_the_error_format(tenant_a, query, field, code):
    api = api_client(issue_token(tenant_a, frozenset({"orders:read"})))

    response = export(api, **query)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["fields"][field][0]["code"] == code


def test_the_schema_describes_both_exports_with_the_read_scope():
    schema = Client().get("/api/schema/", {"format": "json"}).json()

    for extension, media_type in (
        ("csv", "text/csv"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ):
        operation = schema["paths"][f"/api/v1/orders/export.{extension}"]["get"]
        assert operation["operationId"] == f"orders_export_{extension}"
        assert {"oauth2": ["orders:read"]} in operation["security"]
        assert {"cookieAuth": []} in operation["security"]  # the dashboard's links
        assert {parameter["name"] for parameter in operation["parameters"]} == {
            "kind",
            "from",
            "to",
        }
        assert media_type in operation["responses"]["200"]["content"]
        assert "400" in operation["responses"]
