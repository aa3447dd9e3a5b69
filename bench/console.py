"""The integrator's console with 10,000 sellers: SQL queries and p50/p95 of its pages and CSV.

Run: ``.venv/bin/python bench/console.py [--sellers N --orders-per-seller M]`` (defaults 10,000
sellers, 30 paid orders for each seller that takes payments), or ``--quick`` (500 sellers). It
builds a throw-away PostgreSQL database (``h_console_bench`` on
``postgres://postgres@127.0.0.1:5432/``, or ``--database-url``; dropped at the end unless
``--keep``) with Django's migrations, seeds it with ``bulk_create``: sellers at every funnel stage
(a quarter only invited, then connected, with a store, a POS, paid), owners or open invitations,
orders paid over the last 30 days, and problems on a few percent of them (failed syncs, failed
notifications, failing partner deliveries, connections to reconnect). After ``VACUUM ANALYZE``
it measures through Django's test client, signed in as platform staff:

- the first page (50 sellers by name), the hundredth, a filtered page (live sellers of one
  country with a problem), the invited sellers, a search (by a member's e-mail address), the
  list ordered by last payment;
- the CSV export of every seller.

Each: the SQL queries of one request, p50 and p95. It prints the figures and writes them to
``bench/reports/console.md``.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal

from harness import ROOT, write_report

REPORT = ROOT / "bench" / "reports" / "console.md"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DATABASE_NAME = "h_console_bench"
SITES = ("MLA", "MLB", "MLM", "MLC", "MCO", "MPE", "MLU")
BATCH = 5000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def seed(sellers: int, orders_per_seller: int) -> dict[str, int]:
    """Sellers at every stage with their people, stores, orders and problems; row counts."""
    from django.utils import timezone

    from accounts.models import Invitation
    from orders.models import Notification, Order
    from partners.models import WebhookDelivery, WebhookEndpoint
    from pos.models import PointOfSale, Store
    from tenants.models import Membership, MercadoPagoCredential, Tenant, User
    from tenants.scope import cross_tenant_scope

    now = timezone.now()
    tenants = Tenant.objects.bulk_create(
        Tenant(name=f"Seller {n:05}", slug=f"seller-{n:05}", site=SITES[n % len(SITES)])
        for n in range(sellers)
    )
    users = User.objects.bulk_create(
        User(username=f"owner{n:05}", email=f"owner{n:05}@example.com", password="!")  # noqa: S106 (unusable)
        for n in range(sellers)
    )
    counts: dict[str, int] = {"sellers": len(tenants)}
    with cross_tenant_scope():
        # Stage by position: n % 8 = 0, 1 invited; 2 connected; 3 store; 4 POS; 5-7 paid.
        owned = [(t, u) for n, (t, u) in enumerate(zip(tenants, users, strict=True)) if n % 8]
        Membership.objects.bulk_create(Membership(tenant=t, user=u, role="owner") for t, u in owned)
        Invitation.objects.bulk_create(
            Invitation(
                tenant=t,
                email=f"invited{t.pk}@example.com",
                role="owner",
                nonce="n" * 43,
                sent_at=now,
                expires_at=now + timedelta(days=7),
            )
            for n, t in enumerate(tenants)
            if n % 8 == 0
        )
        connected = [t for n, t in enumerate(tenants) if n % 8 >= 2]
        MercadoPagoCredential.objects.bulk_create(
            MercadoPagoCredential(
                tenant=t,
                source="oauth",
                status="needs_reconnect" if t.pk % 50 == 0 else "connected",
                mp_user_id=100_000_000 + t.pk,
                access_token=f"APP_USR-bench-{t.pk}",
                access_token_tail="0000",  # noqa: S106
            )
            for t in connected
        )
        with_store = [t for n, t in enumerate(tenants) if n % 8 >= 3]
        stores = Store.objects.bulk_create(
            Store(
                tenant=t,
                name="Main",
                external_id="MAIN",
                street_name="Av. Siempre Viva",
                street_number="742",
                city="City",
                state="State",
                latitude=Decimal("-34.6"),
                longitude=Decimal("-58.4"),
                sync_state="failed" if t.pk % 40 == 0 else "synced",
            )
            for t in with_store
        )
        store_of = {store.tenant_id: store for store in stores}
        pos = PointOfSale.objects.bulk_create(
            PointOfSale(
                tenant=t, store=store_of[t.pk], name="Till", external_id="TILL", sync_state="synced"
            )
            for n, t in enumerate(tenants)
            if n % 8 >= 4
        )
        position = {t.pk: n for n, t in enumerate(tenants)}
        site_of = {t.pk: t for t in tenants}
        orders = []
        for till in (p for p in pos if position[p.tenant_id] % 8 >= 5):
            tenant = site_of[till.tenant_id]
            # Position 5: paid, but not in the last 7 days; 6 and 7: live.
            since = timedelta(days=8 if position[till.tenant_id] % 8 == 5 else 0)
            for k in range(orders_per_seller):
                paid_at = now - since - timedelta(hours=7 * k + till.tenant_id % 24)
                orders.append(
                    Order(
                        tenant_id=till.tenant_id,
                        pos=till,
                        api="v1",
                        mode="dynamic",
                        external_reference=f"ref-{k}",
                        title="Bench",
                        currency=tenant.currency,
                        total_amount=Decimal("1500.50"),
                        marketplace_fee=Decimal("15.01"),
                        expires_at=paid_at + timedelta(minutes=15),
                        expiration_seconds=900,
                        status="refunded" if k % 20 == 0 else "processed",
                        create_idempotency_key=f"bench-{till.tenant_id}-{k}",
                        paid_at=paid_at,
                        closed_at=paid_at,
                    )
                )
            orders.append(  # one open order each: not paid
                Order(
                    tenant_id=till.tenant_id,
                    pos=till,
                    api="v1",
                    mode="dynamic",
                    external_reference="open",
                    title="Open",
                    currency=tenant.currency,
                    total_amount=Decimal("10"),
                    expires_at=now,
                    expiration_seconds=900,
                    status="created",
                    create_idempotency_key=f"bench-{till.tenant_id}-open",
                )
            )
        Order.objects.bulk_create(orders, batch_size=BATCH)
        counts["orders"] = len(orders)
        Notification.objects.bulk_create(
            Notification(
                kind="webhook",
                status="failed" if t.pk % 30 == 0 else "processed",
                tenant=t,
                topic="order",
            )
            for t in connected
        )
        troubled = [t for t in connected if t.pk % 25 == 0]
        endpoints = WebhookEndpoint.objects.bulk_create(
            WebhookEndpoint(tenant=t, url="https://partner.example/hook", secret="s")  # noqa: S106
            for t in troubled
        )
        WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                tenant_id=e.tenant_id,
                endpoint=e,
                event_type="order.processed",
                payload={},
                status="failed" if e.tenant_id % 2 else "pending",
                attempt_count=3,
            )
            for e in endpoints
        )
        counts["credentials"], counts["stores"], counts["pos"] = (
            len(connected),
            len(stores),
            len(pos),
        )
    return counts


def measure(client, url: str, rounds: int) -> dict:
    from django.db import connection

    def fetch():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        if response.streaming:
            return b"".join(response.streaming_content)
        return response

    for _ in range(2):
        fetch()
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        body = fetch()
    timings = []
    for _ in range(rounds):
        started = time.perf_counter_ns()
        fetch()
        timings.append((time.perf_counter_ns() - started) / 1e6)
    rows = body.count(b"\n") - 1 if isinstance(body, bytes) else len(body.context["rows"])
    return {
        "url": url,
        "queries": len(executed),
        "rows": rows,
        "p50": statistics.median(timings),
        "p95": percentile(timings, 0.95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sellers", type=int, default=10_000)
    parser.add_argument("--orders-per-seller", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--csv-rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="500 sellers, fewer rounds")
    parser.add_argument("--database-url", default=DATABASE_URL, help="a PostgreSQL server")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    if args.quick:
        args.sellers, args.rounds, args.csv_rounds = 500, 5, 2

    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections, connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()
    # One connection for the whole run, as the test client keeps it (and its query log).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    connection.settings_dict["TEST"]["NAME"] = DATABASE_NAME
    started = time.perf_counter()
    test_database = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        seeding = time.perf_counter()
        counts = seed(args.sellers, args.orders_per_seller)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        seeded_in = time.perf_counter() - seeding
        print(f"seeded in {seeded_in:.0f} s: {counts}", flush=True)
        from tests.factories import make_user

        client = Client()
        client.force_login(make_user("bench-staff", is_staff=True, is_platform_staff=True))
        pages = {
            "first page": "/console/",
            "filtered page (live, Argentina, any problem)": (
                "/console/?stage=live&site=MLA&problem=any"
            ),
            "search (a member's e-mail)": "/console/?q=owner00123%40example.com",
            "ordered by last payment": "/console/?o=-last_payment",
            "page 100 (by name)": "/console/?page=100",
            "invited sellers (stage filter)": "/console/?stage=invited",
        }
        results = {name: measure(client, url, args.rounds) for name, url in pages.items()}
        results["CSV export (every seller)"] = measure(
            client, "/console/sellers.csv", args.csv_rounds
        )
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server = f"PostgreSQL {cursor.fetchone()[0]}"
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(test_database, verbosity=0)

    lines = [
        "# Console benchmark",
        "",
        "Command: `" + " ".join([".venv/bin/python bench/console.py", *sys.argv[1:]]) + "`",
        f"{server}; {counts}; seeded in {seeded_in:.0f} s; load average {os.getloadavg()[0]:.1f}.",
        "",
        "| request | rows | SQL queries | p50 ms | p95 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, figures in results.items():
        lines.append(
            f"| {name} (`{figures['url']}`) | {figures['rows']:,} | {figures['queries']} | "
            f"{figures['p50']:.1f} | {figures['p95']:.1f} |"
        )
    lines.append("")
    lines.append(f"The whole run took {time.perf_counter() - started:.0f} s.")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    write_report(REPORT, text)


if __name__ == "__main__":
    main()
