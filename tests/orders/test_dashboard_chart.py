"""The dashboard's takings per day (``takings_per_day``, ``takings_chart``): each local day of
the seller summed in the database, refunds on their own day, days with nothing as zero, bars
scaled to the period's extremes in an accessible inline SVG with a table of the same figures,
and a number of queries that does not grow with the days or the orders."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.dashboard import CHART_HEIGHT, CHART_WIDTH, DayTakings, takings_chart, takings_per_day
from orders.models import Refund
from tenants.scope import tenant_scope
from tests.factories import make_member, make_order, make_payment, make_pos, make_tenant

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # 15:00 on 3 Dec in Buenos Aires (UTC-3)
LATE_ON_1_DEC = datetime(2026, 12, 2, 2, 30, tzinfo=UTC)  # 23:30 on 1 Dec in Buenos Aires
ON_3_DEC = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)


def paid(tenant, pos, amount: str, at: datetime):
    order = make_order(tenant, pos, status="processed", total_amount=Decimal(amount), paid_at=at)
    return order, make_payment(tenant, order, approved_at=at)


def refunded(tenant, sale, amount: str, at: datetime) -> None:
    order, payment = sale
    with tenant_scope(tenant):
        Refund.objects.create(
            tenant=tenant,
            order=order,
            payment=payment,
            amount=Decimal(amount),
            status=Refund.Status.PROCESSED,
            processed_at=at,
        )


def day(text: str, total: str, refunds: str) -> DayTakings:
    return DayTakings(date.fromisoformat(text), Decimal(total), Decimal(refunds))


def test_each_local_day_sums_its_sales_and_its_refunds_and_quiet_days_are_zero():
    seller, other = make_tenant(site="MLA"), make_tenant(site="MLA")
    pos = make_pos(seller)
    sale = paid(seller, pos, "1500.50", LATE_ON_1_DEC)
    paid(seller, pos, "0.50", LATE_ON_1_DEC + timedelta(minutes=10))
    refunded(seller, sale, "500.25", ON_3_DEC)
    refunded(seller, paid(seller, pos, "100.00", ON_3_DEC), "100.00", ON_3_DEC)
    paid(other, make_pos(other), "777.00", LATE_ON_1_DEC)

    with tenant_scope(seller):
        days = takings_per_day(seller, date(2026, 11, 30), date(2026, 12, 3))

    assert days == [
        day("2026-11-30", "0.00", "0.00"),
        day("2026-12-01", "1501.00", "0.00"),  # 2 Dec in UTC, 1 Dec in Buenos Aires
        day("2026-12-02", "0.00", "0.00"),
        day("2026-12-03", "100.00", "600.25"),
    ]
    assert days[3].net == Decimal("-500.25")


def test_bars_are_scaled_to_the_highest_amount_and_a_negative_net_hangs_below_zero():
    chart = takings_chart(
        [day("2026-12-01", "200.00", "0.00"), day("2026-12-02", "100.00", "150.00")]
    )

    assert (chart.top, chart.bottom, chart.lowest) == (200, 50, -50)
    assert chart.zero_y == Decimal(CHART_HEIGHT) * 4 / 5  # 200 above the line, 50 below
    big, small = chart.bars
    assert (big.y, big.height) == (Decimal(0), chart.zero_y)  # the highest fills the top
    assert (small.y, small.height) == (chart.zero_y / 2, chart.zero_y / 2)
    assert (small.net_y, small.net_height) == (chart.zero_y, Decimal(CHART_HEIGHT) / 5)
    assert big.width == Decimal(CHART_WIDTH) / 2 * 8 / 10  # each day a slot of half the width
    assert small.x == Decimal(CHART_WIDTH) / 2 + big.x
    assert chart.best.day == date(2026, 12, 1)


def test_a_period_with_nothing_draws_flat_bars_on_the_bottom_line():
    chart = takings_chart([day("2026-12-01", "0", "0"), day("2026-12-02", "0", "0")])

    assert chart.zero_y == CHART_HEIGHT
    assert {(bar.height, bar.net_height) for bar in chart.bars} == {(0, 0)}


def test_the_page_draws_the_chart_as_an_svg_with_a_title_a_description_and_a_table(client):
    seller = make_tenant("Parrilla", site="MLA")
    pos = make_pos(seller)
    paid(seller, pos, "1500.50", LATE_ON_1_DEC)
    client.force_login(make_member(seller, "viewer"))

    with time_machine.travel(NOW, tick=False):
        board = client.get("/admin/dashboard/", {"from": "2026-11-30", "to": "2026-12-03"})
        one_day = client.get("/admin/dashboard/")

    page = board.text
    svg = page.split('id="takings-chart"')[1].split("</svg>")[0]
    assert 'role="img" aria-labelledby="chart-title" aria-describedby="chart-desc"' in svg
    assert '<title id="chart-title">' in svg
    assert "ARS\u00a01.500,50" in svg.split('<desc id="chart-desc">')[1]  # the best day
    assert 'viewBox="0 0 1000 300"' in svg
    assert 'y="0.00" width="200.00" height="300.00"' in svg  # numbers with a dot, any locale
    assert svg.count('class="bar-gross"') == 4
    table = page.split('id="takings-per-day"')[1].split("</table>")[0]
    assert table.count("<tr>") == 5  # the header and every day, quiet ones too
    assert table.count("ARS\u00a00,00") == 10  # 3 quiet days, and 1 Dec's refunds
    assert 'id="takings-chart"' not in one_day.text  # one day: the totals say it all
    assert 'href="/admin/dashboard/?from=2026-11-27&amp;to=2026-12-03"' in one_day.text  # 7 days


def test_the_query_count_does_not_grow_with_days_or_orders(client):
    seller = make_tenant(site="MLA")
    pos = make_pos(seller)
    viewer = make_member(seller, "viewer")
    client.force_login(viewer)
    month = {"from": "2026-11-04", "to": "2026-12-03"}
    paid(seller, pos, "1.00", ON_3_DEC)
    with time_machine.travel(NOW, tick=False):
        client.get("/admin/dashboard/", month)  # the first visit keeps the seller in the session
        with CaptureQueriesContext(connection) as one:
            client.get("/admin/dashboard/", month)
    for days_before in range(30):
        at = ON_3_DEC - timedelta(days=days_before)
        refunded(seller, paid(seller, make_pos(seller), "2.00", at), "1.00", at)

    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as many:
        board = client.get("/admin/dashboard/", month).context["dashboard"]

    assert len(many) == len(one)
    assert len(board.days) == 30
    assert {(d.total, d.refunds) for d in board.days[:-1]} == {(Decimal("2.00"), Decimal("1.00"))}
    assert (board.days[-1].total, board.days[-1].refunds) == (Decimal("3.00"), Decimal("1.00"))
