"""The dashboard's gross, refunds, net and marketplace fees per store, POS and in all, after
real refunds (partial and full) made through ``orders.services`` against the sandbox, on the
refund's own local day, for any range of days, and for one seller only."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import services
from orders.models import Refund
from orders.validation import ItemInput
from pos import services as pos_services
from tenants.models import Tenant
from tenants.scope import tenant_scope
from tests.factories import (
    make_connected_tenant,
    make_member,
    make_oauth_tenant,
    make_order,
    make_payment,
    make_pos,
    make_store,
)
from tests.faults import set_faults
from tests.orders.conftest import STORE, pay
from tests.sandbox.api_helpers import COORDINATES

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

# Local days in Buenos Aires and São Paulo (UTC-3).
DAY_1 = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # 12:00 on 2 Dec
DAY_1_EVENING = datetime(2026, 12, 3, 2, 30, tzinfo=UTC)  # 23:30 on 2 Dec, 3 Dec in UTC
DAY_2 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # 12:00 on 3 Dec


def synced_pos(tenant: Tenant, store_name: str, code: str):
    latitude, longitude = COORDINATES[tenant.site]
    fields = STORE | {
        "name": store_name,
        "external_id": f"{code}STORE",
        "latitude": Decimal(str(latitude)),
        "longitude": Decimal(str(longitude)),
    }
    with tenant_scope(tenant):
        store = pos_services.create_store(tenant=tenant, **fields)
        return pos_services.create_pos(
            tenant=tenant, store=store, name="Caja 1", external_id=f"{code}POS"
        )


def sale(client, tenant: Tenant, pos, amount: str, reference: str, at: datetime, api="v1"):
    """An order of ``amount`` paid in the sandbox's wallet at ``at``."""
    with time_machine.travel(at, tick=True):
        order = services.create_order(
            tenant=tenant,
            pos=pos,
            api=api,
            mode="dynamic",
            external_reference=reference,
            title="Cena",
            items=[ItemInput("Bife", Decimal(amount))],
        )
        pay(client, order)
        return services.refresh_order(tenant=tenant, order=order)


def refund(tenant: Tenant, order, at: datetime, amount: str | None = None) -> Refund:
    with time_machine.travel(at, tick=True):
        [made] = services.refund_order(
            tenant=tenant, order=order, amount=Decimal(amount) if amount else None
        )
    return made


def board_of(client, user, query: str = "", now: datetime = DAY_2):
    client.force_login(user)
    with time_machine.travel(now, tick=False):
        response = client.get(f"/admin/dashboard/{query}")
    assert response.status_code == 200
    return response.context["dashboard"], response.text


def cell(html: str, name: str) -> str:
    """The text of the first ``<td class="name">`` in ``html``."""
    return re.search(rf'<td class="{name}"[^>]*>([^<]*)</td>', html).group(1)


def reading_english(user):
    type(user).objects.filter(pk=user.pk).update(language="en")  # to read the page's wording
    return user


def figures(takings) -> tuple:
    return (takings.name, takings.count, takings.total, takings.refunds, takings.net, takings.fees)


@pytest.fixture
def shop(client):
    """A seller with a 10 % marketplace fee and two stores: on day 1 it sells 100.00 at Centro
    (30.00 refunded that evening) and 20.00 there, and 50.00 at Norte (by the legacy API, refunded
    in full on day 2); on day 2 it sells 10.00 at Centro. Another seller sells and refunds too."""
    seller = make_oauth_tenant("Parrilla", site="MLA")
    Tenant.objects.filter(pk=seller.pk).update(fee_percent=Decimal(10))
    seller.refresh_from_db()
    centro, norte = synced_pos(seller, "Centro", "CENTRO"), synced_pos(seller, "Norte", "NORTE")
    big = sale(client, seller, centro, "100.00", "big", DAY_1)
    sale(client, seller, centro, "20.00", "small", DAY_1)
    legacy = sale(client, seller, norte, "50.00", "legacy", DAY_1, api="instore")
    partial = refund(seller, big, DAY_1_EVENING, "30.00")
    sale(client, seller, centro, "10.00", "next-day", DAY_2)
    full = refund(seller, legacy, DAY_2)
    assert (partial.status, partial.amount, full.status, full.amount) == (
        "processed",
        Decimal("30.00"),
        "processed",
        Decimal("50.00"),
    )
    other = make_connected_tenant("Other", site="MLB")
    other_pos = synced_pos(other, "Their store", "THEIRS")
    refund(other, sale(client, other, other_pos, "777.00", "theirs", DAY_1), DAY_1_EVENING, "7.00")
    return seller, make_member(seller, "viewer"), make_member(other, "viewer")


def test_a_refund_counts_on_its_own_day_and_net_is_gross_minus_refunds(client, shop):
    _seller, viewer, _other = shop

    day_1, page = board_of(client, viewer, "?from=2026-12-02&to=2026-12-02")

    assert figures(day_1.paid) == (
        "Parrilla",
        3,
        Decimal("170.00"),
        Decimal("30.00"),
        Decimal("140.00"),
        Decimal("17.00"),
    )
    assert [figures(row) for row in day_1.by_store] == [
        ("Centro", 2, Decimal("120.00"), Decimal("30.00"), Decimal("90.00"), Decimal("12.00")),
        ("Norte", 1, Decimal("50.00"), Decimal("0.00"), Decimal("50.00"), Decimal("5.00")),
    ]
    assert [figures(row) for row in day_1.by_pos] == [
        ("Centro · Caja 1", 2, *map(Decimal, ("120.00", "30.00", "90.00", "12.00"))),
        ("Norte · Caja 1", 1, *map(Decimal, ("50.00", "0.00", "50.00", "5.00"))),
    ]
    total = page.split('id="takings-total"')[1].split("</table>")[0]
    assert [cell(total, name) for name in ("gross", "refunds", "net", "fees")] == [
        "ARS\u00a0170,00",  # in the viewer's locale (the seller's: es-AR)
        "ARS\u00a030,00",
        "ARS\u00a0140,00",
        "ARS\u00a017,00",
    ]
    assert 'id="takings-rules"' in page

    # Day 2 (today): the full refund of day 1's legacy sale, under the POS that made the sale.
    day_2, page = board_of(client, viewer)

    assert (day_2.first, day_2.last) == (day_2.today, day_2.today)
    assert figures(day_2.paid)[1:] == (
        1,
        Decimal("10.00"),
        Decimal("50.00"),
        Decimal("-40.00"),
        Decimal("1.00"),
    )
    assert [figures(row) for row in day_2.by_pos] == [
        ("Centro · Caja 1", 1, *map(Decimal, ("10.00", "0.00", "10.00", "1.00"))),
        ("Norte · Caja 1", 0, *map(Decimal, ("0.00", "50.00", "-50.00", "0.00"))),
    ]
    assert cell(page.split('id="takings-total"')[1], "net") == "ARS\u00a0-40,00"


def test_a_range_of_days_sums_them_and_only_this_sellers(client, shop):
    _seller, viewer, other_viewer = shop

    both, page = board_of(client, viewer, "?from=2026-12-02&to=2026-12-03")

    assert figures(both.paid)[1:] == (
        4,
        Decimal("180.00"),
        Decimal("80.00"),
        Decimal("100.00"),
        Decimal("18.00"),
    )
    assert [figures(row)[:5] for row in both.by_store] == [
        ("Centro", 3, Decimal("130.00"), Decimal("30.00"), Decimal("100.00")),
        ("Norte", 1, Decimal("50.00"), Decimal("50.00"), Decimal("0.00")),
    ]
    assert 'value="2026-12-02"' in page
    assert 'value="2026-12-03"' in page
    for theirs in ("777.00", "7.00", "Their store"):
        assert theirs not in page

    theirs, page = board_of(client, other_viewer, "?from=2026-12-02&to=2026-12-03")

    assert figures(theirs.paid)[1:] == (
        1,
        Decimal("777.00"),
        Decimal("7.00"),
        Decimal("770.00"),
        Decimal("0.00"),
    )
    assert "Centro" not in page


def test_a_refund_mercado_pago_has_not_made_does_not_count(client, seller, pos):
    order = sale(client, seller, pos, "40.00", "waiting", DAY_2)
    set_faults(client, error_rate="1", error_statuses=[503], path_regex="refund")

    assert refund(seller, order, DAY_2, "15.00").status == "pending"
    board, _page = board_of(client, make_member(seller, "viewer"))

    assert figures(board.paid)[1:] == (
        1,
        Decimal("40.00"),
        Decimal("0.00"),
        Decimal("40.00"),
        Decimal("0.00"),
    )


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("?from=2026-12-03&to=2026-12-01", "The first day comes after the last day."),
        ("?from=2-12-2026", "Enter the dates as YYYY-MM-DD"),
        ("?from=2024-01-01&to=2026-12-03", "Pick at most 366 days."),
        ("?from=1999-12-31&to=2000-01-01", "Pick days from 2000-01-01 to 9998-12-31."),
        ("?to=9999-12-31", "Pick days from 2000-01-01 to 9998-12-31."),
    ],
)
def test_a_range_that_cannot_be_shown_says_why_and_shows_today(client, tenant_a, query, error):
    board, page = board_of(client, reading_english(make_member(tenant_a, "viewer")), query)

    assert (board.first, board.last) == (board.today, board.today)
    assert error in page
    assert "Paid today" in page


def test_one_day_or_a_missing_end_is_read_as_asked(client, tenant_a):
    viewer = reading_english(make_member(tenant_a, "viewer"))

    one_day, page = board_of(client, viewer, "?from=2026-11-30&to=2026-11-30")
    since, _page = board_of(client, viewer, "?from=2026-11-30")

    assert (str(one_day.first), str(one_day.last)) == ("2026-11-30", "2026-11-30")
    assert "Paid on" in page
    assert 'id="period-today"' in page
    assert (str(since.first), str(since.last)) == ("2026-11-30", "2026-12-03")


def test_refunds_add_no_query_per_row(client, tenant_a):
    viewer = make_member(tenant_a, "viewer")
    board_of(client, viewer)  # the first visit keeps the seller in the session
    with CaptureQueriesContext(connection) as empty:
        board_of(client, viewer)
    for _ in range(20):
        pos = make_pos(tenant_a, make_store(tenant_a))
        order = make_order(tenant_a, pos, status="refunded", total_amount=Decimal("5.00"))
        payment = make_payment(tenant_a, order, refunded_amount=Decimal("5.00"))
        with tenant_scope(tenant_a):
            Refund.objects.create(
                tenant=tenant_a,
                order=order,
                payment=payment,
                amount=Decimal("5.00"),
                status=Refund.Status.PROCESSED,
                processed_at=DAY_2,
            )

    with CaptureQueriesContext(connection) as many:
        board, _page = board_of(client, viewer)

    assert len(many) == len(empty)
    assert (board.paid.refunds, len(board.by_pos)) == (Decimal("100.00"), 20)
