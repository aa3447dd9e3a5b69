"""List endpoints and admin changelists: SQL queries per page, response times and the query plan.

Run: ``.venv/bin/python bench/lists.py [--orders N --tenants M --big-tenant-orders B]``
(defaults 1,000,000 orders over 10,000 sellers, 100,000 of them the big seller's), or ``--quick``
for a small run (20,000 orders, 100 sellers). It builds a throw-away PostgreSQL database
(``bench_lists`` on ``postgres://postgres@127.0.0.1:5432/``, or ``--database-url``; created, and
dropped at the end unless ``--keep``; ``--reuse`` measures a kept one again) with Django's
migrations, seeds it with ``INSERT ... SELECT generate_series`` (the big seller also has 1,100
stores and points of sale, 1,100 partner apps and webhook endpoints, and 100,000 webhook
deliveries), runs VACUUM ANALYZE, then measures through Django's test client (middleware,
session, tenant scope and all), signed in as a seller's owner for the admin and with a partner
token for the API:

- ``GET /api/v1/orders?limit=10|100|1000`` and the admin changelists of orders, notifications,
  points of sale, stores, connected apps, webhook endpoints and webhook deliveries at
  ``list_per_page`` 10, 100 and 1,000: SQL queries per page (what each one is), p50 and p95;
  the same changelists for an ordinary seller (about 90 orders);
- the order list of the ordinary seller and of the big one at the API's default page size,
  first page and the cursor's next one: p50 and p95 of the request (also after ``gc.freeze()``),
  of its SQL alone, and ``EXPLAIN (ANALYZE, BUFFERS)`` of its query.

It prints the figures and writes them to ``bench/reports/lists.md``. Other work on the machine
shows in the timings: the report gives the load average.
"""

import argparse
import os
import platform
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.test import Client

from harness import ROOT, write_report

REPORT = ROOT / "bench" / "reports" / "lists.md"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DATABASE_NAME = "bench_lists"
PAGE_SIZES = (10, 100, 1000)
WARM_UP_ROUNDS = 3
BIG_STORES = 1100  # stores and POS of the big seller, so that a page of 1,000 is full
BIG_POS_WITH_ORDERS = 20  # its orders are taken at 20 of them
BIG_APPS = 1100  # partner apps installed on the big seller, each with a webhook endpoint
BIG_DELIVERIES = 100_000
ORDER_INTERVAL_SECONDS = 30  # one order every 30 seconds over the whole platform
ORDER_TABLES = [[f"orders_{name}"] for name in ("order", "orderitem", "payment", "refund")]
BULK_TABLES = [  # seeded with their indexes and foreign keys dropped, built again afterwards
    "orders_order",
    "orders_orderitem",
    "orders_payment",
    "orders_refund",
    "orders_notification",
    "partners_webhookdelivery",
]

ADMIN_LISTS = {
    "orders": "/admin/orders/order/",
    "notifications": "/admin/orders/notification/",
    "points of sale": "/admin/pos/pointofsale/",
    "stores": "/admin/pos/store/",
    "connected apps": "/admin/partners/partnergrant/",
    "webhook endpoints": "/admin/partners/webhookendpoint/",
    "webhook deliveries": "/admin/partners/webhookdelivery/",
}


@dataclass
class Figures:
    queries: int
    kinds: list[str]
    p50: float
    p95: float
    rows: int
    shown: str = ""  # the count an admin page shows
    frozen: tuple[float, float] = (0.0, 0.0)  # p50, p95 of the requests after gc.freeze()
    sql: tuple[float, float] = (0.0, 0.0)  # p50, p95 of the request's SQL alone
    collections: list = field(default_factory=list)  # full garbage collections: count, ms

    def line(self) -> str:
        return (
            f"{self.rows} rows, {self.queries} queries ({summary_of(self.kinds)}), "
            f"p50 {self.p50:.1f} ms, p95 {self.p95:.1f} ms"
        )


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def elapsed_ms(fetch: Callable[[], object]) -> float:
    started = time.perf_counter_ns()
    fetch()
    return (time.perf_counter_ns() - started) / 1e6


TABLE = re.compile(r'FROM "(\w+)"')
SHORT_NAMES = {
    "django_session": "session",
    "tenants_user": "user",
    "oauth2_provider_accesstoken": "token",
    "partners_grantedtoken": "token's grant",
    "auth_permission": "permissions",
}


def kind_of(sql: str) -> str:
    """What one captured query is for, in a few words."""
    table = TABLE.search(sql)
    name = table.group(1) if table else sql.split()[0].lower()
    short = SHORT_NAMES.get(name, name.split("_", 1)[-1])
    if name == "tenants_tenant" and "tenants_membership" in sql:
        short = "membership"
    elif name == "auth_permission":
        short += " (groups)" if "auth_group_permissions" in sql else " (user)"
    head = sql[:200].upper()
    if sql.startswith("EXPLAIN"):
        short += " count estimate"
    elif "COUNT(" in head:
        short += " count" + (" (capped)" if "LIMIT" in sql.upper() else "")
    elif "MIN(" in head or "MAX(" in head:
        short += " min/max date"
    elif "DATE_TRUNC" in head:
        short += " dates"
    elif "DISTINCT" in head:
        short += " distinct"
    return short


def summary_of(kinds: list[str]) -> str:
    counts = Counter(kinds)
    return ", ".join(f"{kind} x{n}" if n > 1 else kind for kind, n in counts.items())


def measure(client: "Client", url: str, rounds: int, rows_of: Callable) -> Figures:
    """Queries of one request of ``url`` (what they are) and p50/p95 of ``rounds`` requests."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARM_UP_ROUNDS):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    kinds = [kind_of(query["sql"]) for query in captured.captured_queries]  # before a reset
    timings = [elapsed_ms(lambda: client.get(url)) for _ in range(rounds)]
    rows, shown = rows_of(response)
    return Figures(
        queries=len(kinds),
        kinds=kinds,
        p50=statistics.median(timings),
        p95=percentile(timings, 0.95),
        rows=rows,
        shown=shown,
    )


def admin_rows(response) -> tuple[int, str]:
    changelist = response.context["cl"]
    about = "about " if getattr(changelist.paginator, "count_is_estimate", False) else ""
    return len(changelist.result_list), f"{about}{changelist.result_count:,}"


def api_rows(response) -> tuple[int, str]:
    return len(response.json()["results"]), ""


# Seeding ----------------------------------------------------------------------------------------


def seed(orders: int, tenants: int, big_orders: int) -> tuple[dict, dict[str, float]]:
    """Seed the database; the big seller, its owner, a token, an ordinary seller and timings."""
    from django.db import connection

    from tenants.models import Tenant
    from tests.factories import make_member, make_tenant

    timings: dict[str, float] = {}

    def step(name: str, sql: str, params: dict | None = None) -> None:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params or {})
        timings[name] = timings.get(name, 0) + time.perf_counter() - started

    big = make_tenant("Big seller", site="MLA")
    make_member(big, "owner", "big-owner")
    with connection.cursor() as cursor:
        deferred = drop_indexes(cursor, BULK_TABLES)
    every = orders // big_orders  # every ``every``-th order is the big seller's
    params = {
        "big": big.pk,
        "tenants": tenants,
        "ordinary": tenants - 1,
        "orders": orders,
        "every": every,
        "big_stores": BIG_STORES,
        "big_pos_with_orders": BIG_POS_WITH_ORDERS,
        "interval": ORDER_INTERVAL_SECONDS,
        "apps": BIG_APPS,
        "deliveries": BIG_DELIVERIES,
    }
    step(
        "sellers",
        """
        INSERT INTO tenants_tenant
            (id, name, slug, site, status, fee_percent, fee_fixed, created_at, updated_at,
             logo_png, order_api, qr_mode)
        SELECT %(big)s + g, 'Seller ' || g, 'seller-' || g, 'MLA', 'active', 0, 0, now(), now(),
               '', 'v1', 'dynamic'
        FROM generate_series(1, %(ordinary)s) g;
        SELECT setval(pg_get_serial_sequence('tenants_tenant', 'id'), max(id))
        FROM tenants_tenant;
        """,
        params,
    )
    # One store and one POS per ordinary seller; BIG_STORES of each for the big one.
    step(
        "stores and POS",
        """
        INSERT INTO pos_store
            (tenant_id, sync_state, sync_error_code, sync_error_message, created_at, updated_at,
             name, external_id, street_name, street_number, city, state, latitude, longitude,
             reference, business_hours)
        SELECT t, 'synced', '', '', now(), now(), 'Store ' || n, 'STORE' || n, 'Av. Corrientes',
               '1234', 'CABA', 'Buenos Aires', -34.603722, -58.381592, '', '{}'
        FROM (SELECT %(big)s AS t, n FROM generate_series(1, %(big_stores)s) n
              UNION ALL
              SELECT %(big)s + g, 1 FROM generate_series(1, %(ordinary)s) g) s;
        INSERT INTO pos_pointofsale
            (tenant_id, sync_state, sync_error_code, sync_error_message, created_at, updated_at,
             store_id, name, external_id, fixed_amount, qr_code, qr_image_url,
             qr_template_document_url, qr_template_image_url, display_token)
        SELECT tenant_id, 'synced', '', '', now(), now(), id, 'POS of ' || name,
               'POS' || external_id, true, '', '', '', '', md5(id::text)
        FROM pos_store;
        CREATE TEMPORARY TABLE seed_pos (slot integer PRIMARY KEY, tenant_id bigint,
                                         pos_id bigint, currency varchar(3));
        INSERT INTO seed_pos
        SELECT CASE WHEN tenant_id = %(big)s THEN -row_number() OVER (ORDER BY id)
                    ELSE tenant_id - %(big)s - 1 END,
               tenant_id, id, 'ARS'
        FROM pos_pointofsale
        WHERE tenant_id <> %(big)s OR id IN (
            SELECT id FROM pos_pointofsale WHERE tenant_id = %(big)s
            ORDER BY id LIMIT %(big_pos_with_orders)s);
        """,
        params,
    )
    # Orders interleave in time as they would be taken: the big seller's every ``every``-th.
    step(
        "orders",
        """
        INSERT INTO orders_order
            (tenant_id, uid, pos_id, api, mode, external_reference, title, description,
             currency, total_amount, taxes, sponsor_id, expires_at, expiration_seconds,
             mp_order_id, qr_data, status, status_detail, error_code, error_message,
             create_idempotency_key, cancel_idempotency_key, created_at, updated_at, paid_at,
             closed_at, metadata)
        SELECT p.tenant_id, gen_random_uuid(), p.pos_id, 'v1', 'dynamic', 'ref-' || g,
               'Table ' || (g %% 40), '', p.currency, 100 + g %% 900, '[]', '',
               at + interval '15 minutes', 900, 'ORD' || lpad(g::text, 23, '0'), '',
               (ARRAY['processed', 'processed', 'processed', 'expired', 'canceled', 'created',
                      'refunded'])[1 + g %% 7],
               '', '', '', 'seed-' || g, '', at, at,
               CASE WHEN g %% 7 IN (0, 1, 2, 6) THEN at + interval '2 minutes' END,
               CASE WHEN g %% 7 <> 5 THEN at + interval '2 minutes' END, '{}'
        FROM (SELECT g, now() - (%(orders)s - g) * interval '1 second' * %(interval)s AS at,
                     CASE WHEN g %% %(every)s = 0
                          THEN -1 - (g / %(every)s) %% %(big_pos_with_orders)s
                          ELSE g %% %(ordinary)s END AS slot
              FROM generate_series(1, %(orders)s) g) o
        JOIN seed_pos p USING (slot)
        ORDER BY g;
        """,
        params,
    )
    step(
        "order items",
        """
        INSERT INTO orders_orderitem
            (tenant_id, order_id, position, title, description, sku, category, unit_price,
             quantity, unit_measure)
        SELECT tenant_id, id, 0, title, '', 'SKU-1', '', total_amount, 1, 'unit'
        FROM orders_order ORDER BY id;
        """,
    )
    step(
        "payments",
        """
        INSERT INTO orders_payment
            (tenant_id, order_id, mp_payment_id, reference_id, amount, paid_amount,
             refunded_amount, status, status_detail, payment_method_id, payment_method_type,
             approved_at, updated_at, uid)
        SELECT tenant_id, id, 'PAY' || lpad(id::text, 26, '0'), id::text, total_amount,
               total_amount, CASE WHEN status = 'refunded' THEN total_amount ELSE 0 END,
               status, 'accredited', 'visa', 'credit_card', paid_at, paid_at, gen_random_uuid()
        FROM orders_order WHERE status IN ('processed', 'refunded') ORDER BY orders_order.id;
        INSERT INTO orders_refund
            (tenant_id, order_id, payment_id, amount, whole, status, mp_refund_id,
             idempotency_key, error_code, error_message, created_at, processed_at, uid)
        SELECT tenant_id, order_id, id, amount, true, 'processed', 'REF' || id, 'refund-' || id,
               '', '', approved_at, approved_at, gen_random_uuid()
        FROM orders_payment WHERE refunded_amount > 0 ORDER BY id;
        """,
    )
    step(
        "notifications",
        """
        INSERT INTO orders_notification
            (kind, status, topic, action, resource_id, version, request_id, query, headers,
             body, tenant_id, order_id, detail, traceback, attempts, received_at, processed_at,
             touched_at, sweeps, client_address, body_sha256)
        SELECT 'webhook', 'processed', 'order', 'order.' || status, mp_order_id, 1,
               'req-' || id, '{}', '{}', '{}', tenant_id, id, '', '', 1,
               created_at + interval '2 minutes', created_at + interval '2 minutes',
               created_at + interval '2 minutes', 0, '', ''
        FROM orders_order ORDER BY id;
        """,
    )
    started = time.perf_counter()
    partner_rows(big)
    timings["partner apps and endpoints"] = time.perf_counter() - started
    step(
        "webhook deliveries",
        """
        INSERT INTO partners_webhookdelivery
            (tenant_id, endpoint_id, event_uid, event_type, payload, status, attempt_count,
             next_attempt_at, created_at, delivered_at)
        SELECT %(big)s, e.id, gen_random_uuid(), 'order.processed', '{}', 'delivered', 1, NULL,
               now() - (%(deliveries)s - g) * interval '1 minute',
               now() - (%(deliveries)s - g) * interval '1 minute'
        FROM generate_series(1, %(deliveries)s) g
        JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k
              FROM partners_webhookendpoint WHERE tenant_id = %(big)s) e
          ON e.k = g %% %(apps)s
        ORDER BY g;
        """,
        params,
    )
    step("indexes and constraints", "SET maintenance_work_mem = '256MB';" + ";".join(deferred))
    step("VACUUM ANALYZE", "VACUUM ANALYZE")
    make_member(Tenant.objects.get(slug="seller-1"), "owner", "ordinary-owner")
    return seeded(), timings


def drop_indexes(cursor, tables: list[str]) -> list[str]:
    """Drop the indexes, unique constraints and foreign keys of ``tables`` (not their primary
    keys; and the foreign keys that point at them), and return the statements that make them
    again: building an index once over a million rows is much faster than updating it a million
    times."""
    cursor.execute(
        """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint
        WHERE (contype = 'u' AND conrelid::regclass::text = ANY(%(tables)s))
           OR (contype = 'f' AND (conrelid::regclass::text = ANY(%(tables)s)
                                  OR confrelid::regclass::text = ANY(%(tables)s)))
        ORDER BY contype DESC
        """,
        {"tables": tables},
    )
    constraints = cursor.fetchall()  # unique ones first: foreign keys may point at them
    cursor.execute(
        """
        SELECT indexname, indexdef FROM pg_indexes
        WHERE tablename = ANY(%s)
          AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))
        """,
        [tables],
    )
    indexes = cursor.fetchall()
    for table, name, _definition in reversed(constraints):
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for table, name, definition in constraints
    ]


def seeded() -> dict:
    """The sellers and owners measured, and a token of the big seller."""
    from tenants.models import Tenant, User
    from tests.api.conftest import issue_token

    big = Tenant.objects.get(slug="big-seller")
    return {
        "big": big,
        "owner": User.objects.get(username="big-owner"),
        "token": issue_token(big),
        "ordinary": Tenant.objects.get(slug="seller-1"),  # the first slot of seed_pos
        "ordinary_owner": User.objects.get(username="ordinary-owner"),
    }


def partner_rows(big) -> None:
    """BIG_APPS client-credentials apps installed on ``big``, each with a webhook endpoint."""
    from oauth2_provider.models import get_application_model

    from partners.models import PartnerGrant, WebhookEndpoint
    from tenants.scope import tenant_scope

    application_model = get_application_model()
    applications = application_model.objects.bulk_create(
        application_model(
            name=f"Partner app {n}",
            client_type=application_model.CLIENT_CONFIDENTIAL,
            authorization_grant_type=application_model.GRANT_CLIENT_CREDENTIALS,
            client_secret=f"bench-secret-{n}",
            hash_client_secret=False,  # hashing 1,100 secrets would take minutes
        )
        for n in range(BIG_APPS)
    )
    with tenant_scope(big):
        PartnerGrant.objects.bulk_create(
            PartnerGrant(application=app, scope="orders:read orders:write") for app in applications
        )
        WebhookEndpoint.objects.bulk_create(
            WebhookEndpoint(
                url=f"https://partner-{n}.example.com/hooks",
                events=["order.processed"],
                secret=f"whsec-{n}",
                application=app,
            )
            for n, app in enumerate(applications)
        )


# Measuring --------------------------------------------------------------------------------------


def run(rounds: int, list_rounds: int, rows: dict) -> dict:
    """Every figure of the report."""

    from django.conf import settings
    from django.contrib import admin
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from partners.rest import NewestFirstPagination
    from tests.api.conftest import api_client, issue_token

    # Tokens authenticated from the cache, as in production with Redis (one process here, so its
    # own memory is the cache every request shares).
    settings.API_TOKEN_CACHE_SECONDS = 60
    owner = signed_in(rows["owner"])
    api = api_client(rows["token"])
    results: dict = {"api": {}, "admin": {}, "ordinary admin": {}}
    for size in PAGE_SIZES:
        url = f"/api/v1/orders?limit={min(size, NewestFirstPagination.max_page_size)}"
        results["api"][size] = measure(api, url, rounds_for(size, rounds), api_rows)
        print(f"API limit={size}: {results['api'][size].line()}", flush=True)
    admins = dict(zip(ADMIN_LISTS, _admin_models(), strict=True))
    for name, url in ADMIN_LISTS.items():
        results["admin"][name] = {}
        model_admin = admin.site._registry[admins[name]]
        saved = model_admin.list_per_page
        try:
            for size in PAGE_SIZES:
                model_admin.list_per_page = size
                figures = measure(owner, url, rounds_for(size, rounds), admin_rows)
                results["admin"][name][size] = figures
                print(f"admin {name}, {size} per page: {figures.line()}", flush=True)
        finally:
            model_admin.list_per_page = saved
    ordinary_owner = signed_in(rows["ordinary_owner"])
    for name, url in ADMIN_LISTS.items():
        figures = measure(ordinary_owner, url, rounds, admin_rows)  # 100 per page
        results["ordinary admin"][name] = figures
        print(f"admin {name} of the ordinary seller: {figures.line()}", flush=True)

    # A seller's order list at the API's default page size: the request, its SQL, its plan.
    ordinary_api = api_client(issue_token(rows["ordinary"]))
    pages = {}
    for label, client in (("ordinary", ordinary_api), ("big", api)):
        first = "/api/v1/orders"
        pages[label] = (client, first)
        pages[f"{label}, 2nd page"] = (client, client.get(first).json()["next"])
    results["list"], results["plans"] = {}, {}
    for page, (client, url) in pages.items():
        figures = measure(client, url, 1, api_rows)  # its queries
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        statements = [query["sql"] for query in captured.captured_queries]
        listing = [sql for sql in statements if TABLE.findall(sql)[:1] in ORDER_TABLES]
        timings, figures.collections = list_timings(client, url, listing, list_rounds)
        (figures.p50, figures.p95), figures.frozen, figures.sql = timings
        results["list"][page] = figures
        print(f"orders of the {page}: {figures.queries} queries, {timings}", flush=True)
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {listing[0]}")
            results["plans"][page] = (listing[0], [row[0] for row in cursor.fetchall()])
    results["orders_of"] = {
        "ordinary": _order_count(rows["ordinary"]),
        "big": _order_count(rows["big"]),
    }
    return results


def list_timings(client: "Client", url: str, statements: list[str], rounds: int) -> list[tuple]:
    """p50 and p95 of requests of ``url`` and of ``statements`` run from a cursor (one of each in
    turn, so that other work on the machine weighs on both alike), then of the requests again
    after ``gc.freeze()`` (as a pre-forking server that froze what it had imported would run
    them); and for both passes, how many full collections of the garbage collector ran and how
    long they took in all (ms)."""
    import gc

    from django.db import connection

    def run_statements() -> None:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                cursor.fetchall()

    full_collections: list[float] = []
    started: list[float] = []

    def on_collection(phase: str, info: dict) -> None:
        if info["generation"] == 2:
            if phase == "start":
                started[:] = [time.perf_counter()]
            else:
                full_collections.append((time.perf_counter() - started[0]) * 1000)

    def collections() -> tuple[int, float]:
        measured = (len(full_collections), sum(full_collections))
        full_collections.clear()
        return measured

    requests, sqls, frozen = [], [], []
    for _ in range(WARM_UP_ROUNDS):
        client.get(url)
    gc.callbacks.append(on_collection)
    try:
        for _ in range(rounds):
            requests.append(elapsed_ms(lambda: client.get(url)))
            sqls.append(elapsed_ms(run_statements))
        default_collections = collections()
        gc.collect()
        collections()
        gc.freeze()
        for _ in range(rounds):
            frozen.append(elapsed_ms(lambda: client.get(url)))
        frozen_collections = collections()
    finally:
        gc.callbacks.remove(on_collection)
        gc.unfreeze()

    def p50_p95(values: list[float]) -> tuple[float, float]:
        return statistics.median(values), percentile(values, 0.95)

    return [p50_p95(requests), p50_p95(frozen), p50_p95(sqls)], [
        default_collections,
        frozen_collections,
    ]


def rounds_for(size: int, rounds: int) -> int:
    """Fewer requests of the pages of 1,000 rows, which take a second or more each."""
    return rounds if size <= 100 else max(5, rounds // 3)


def signed_in(user) -> "Client":
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _order_count(tenant) -> int:
    from orders.models import Order
    from tenants.scope import tenant_scope

    with tenant_scope(tenant):
        return Order.objects.count()


def _admin_models() -> list:
    from orders.models import Notification, Order
    from partners.models import PartnerGrant, WebhookDelivery, WebhookEndpoint
    from pos.models import PointOfSale, Store

    return [Order, Notification, PointOfSale, Store, PartnerGrant, WebhookEndpoint, WebhookDelivery]


# The report -------------------------------------------------------------------------------------


def report(results: dict, args: argparse.Namespace, timings: dict[str, float]) -> str:
    orders_of = results["orders_of"]
    sizes = " / ".join(f"{size:,}" for size in PAGE_SIZES)
    lines = [
        "# Lists: SQL queries per page, response times, and the order list's plan",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{platform.system()}; Python {platform.python_version()}, Django {version('django')}, "
        f"DRF {version('djangorestframework')}, {results['server']} on the same machine; load "
        f"average {results['load'][0]:.1f} at the start, {results['load'][1]:.1f} at the end.",
        "",
        f"Command: `{results['command']}`. Seeded {args.orders:,} orders over "
        f"{args.tenants:,} sellers (with one item each, a payment when paid, a refund when "
        f"refunded and one notification each) "
        + (f"in {sum(timings.values()):.0f} s" if timings else "by an earlier run (`--keep`)")
        + ", then VACUUM "
        f"ANALYZE. The big seller has {orders_of['big']:,} orders, {BIG_STORES:,} stores and "
        f"POS, {BIG_APPS:,} partner apps with a webhook endpoint each and {BIG_DELIVERIES:,} "
        f"webhook deliveries; the ordinary seller measured has {orders_of['ordinary']:,} orders. "
        "Requests go through Django's test client (every middleware), signed in as the owner "
        "for the admin and with a partner token for the API. "
        f"{args.rounds} requests per figure ({rounds_for(1000, args.rounds)} for pages of "
        f"1,000 rows) after {WARM_UP_ROUNDS} warm-up ones; milliseconds.",
        "",
        "## Queries per page",
        "",
        f"The big seller's owner; the API's `limit` and the admin's `list_per_page` {sizes}. "
        "The API refuses a `limit` over 500 (`NewestFirstPagination.max_page_size`): its largest "
        "page is 500.",
        "",
        "| list | rows | queries | p50 | p95 | count shown |",
        "|---|---|---|---|---|---|",
    ]
    rows = [("API `GET /api/v1/orders`", results["api"])]
    rows += [(f"admin: {name}", by_size) for name, by_size in results["admin"].items()]
    for name, by_size in rows:
        figures = [by_size[size] for size in PAGE_SIZES]
        lines.append(
            f"| {name} | {' / '.join(str(f.rows) for f in figures)} "
            f"| {' / '.join(str(f.queries) for f in figures)} "
            f"| {' / '.join(f'{f.p50:.0f}' for f in figures)} "
            f"| {' / '.join(f'{f.p95:.0f}' for f in figures)} "
            f"| {figures[0].shown or '—'} |"
        )
    lines += ["", "What the queries of one page are, at every page size:", ""]
    for name, by_size in rows:
        lines.append(f"- {name}: {summary_of(by_size[PAGE_SIZES[0]].kinds)}")
    lines += [
        "",
        "The ordinary seller's owner, 100 per page:",
        "",
        "| admin list | rows | queries | p50 | p95 | count shown |",
        "|---|---|---|---|---|---|",
    ]
    for name, figures in results["ordinary admin"].items():
        lines.append(
            f"| {name} | {figures.rows} | {figures.queries} | {figures.p50:.0f} "
            f"| {figures.p95:.0f} | {figures.shown} |"
        )
    lines += [
        "",
        "## A seller's order list",
        "",
        f"`GET /api/v1/orders` at the default page size (50), its first page and the next one "
        f"(the cursor link), {args.list_rounds} requests each, and the list's SQL alone (its "
        "queries of the orders and their items, payments and refunds, run again from a cursor, "
        "in turn with the requests); then the same requests after `gc.freeze()` (what a "
        "pre-forking server that freezes what it imported sees: no full collection of the "
        'garbage collector walks Django\'s own objects). "Full GCs": how many full collections '
        "ran during a pass (its requests, and its SQL runs), and how long they took in all.",
        "",
        "| seller, page | orders | queries | request p50 / p95 | full GCs | SQL p50 / p95 "
        "| after gc.freeze(): p50 / p95 | full GCs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for page, figures in results["list"].items():
        frozen = figures.frozen
        (default_count, default_ms), (frozen_count, frozen_ms) = figures.collections
        lines.append(
            f"| {page} | {orders_of[page.split(',')[0]]:,} | {figures.queries} "
            f"| {figures.p50:.1f} / {figures.p95:.1f} | {default_count} in {default_ms:.0f} ms "
            f"| {figures.sql[0]:.2f} / {figures.sql[1]:.2f} "
            f"| {frozen[0]:.1f} / {frozen[1]:.1f} | {frozen_count} in {frozen_ms:.0f} ms |"
        )
    for page, (_sql, plan) in results["plans"].items():
        lines += [
            "",
            f"`EXPLAIN (ANALYZE, BUFFERS)` of the list's query, {page}:",
            "",
            "```",
            *plan,
            "```",
        ]
    lines += ["", "The query (the big seller's 2nd page):", "", "```sql"]
    lines += [results["plans"]["big, 2nd page"][0], "```", "", NOTES]
    return "\n".join(lines) + "\n"


NOTES = """## Reading it

The queries of a page do not depend on its length. What they are:

- API: 1 for the bearer token with its grant and seller (`partners.oauth`), then the page's
  orders with their POS, and one each for their items, payments and refunds (prefetched): 5, of
  which 4 read the list. No count: the cursor pagination needs none.
- Admin: 3 that every signed-in admin page of a member costs, as Django builds it: the session
  row, the user row, and the member's seller with the role (`tenants.middleware`); 2 for
  Django's `ModelBackend` permission sets (the user's, its groups'), read once per request
  because the sidebar asks `has_module_permission` of the admins that do not know about sellers
  (`auth.Group` and django-oauth-toolkit's five); then the list itself: its count (capped at
  10,001 rows, plus the planner's estimate when there are more), its rows, and for orders one
  query for the POS and store filters, for deliveries one for the endpoint filter.

Much of the gap between a request's p50 and p95 is Python's garbage collector: a full
collection walks every object of the process (some 140,000 once Django, DRF and the apps are
loaded: about 90 ms on this machine when idle) and lands inside a request now and then (the
"full GCs" columns). `gc.freeze()` once the application is loaded (in the WSGI module, or a
pre-forking server's hook) leaves those objects out of every collection: the "after
gc.freeze()" columns.

Before the fixes, on the same data with this script: the orders admin ran 11 queries (a store
filter joining all 100,000 orders to their POS, 160 ms; a date hierarchy's `DISTINCT` over them,
20 ms; a full count), the notifications admin 11 (two full counts; `DISTINCT` topics and years
over the seller's 100,000 rows, 110-150 ms each), the deliveries admin 11 (a sequential scan and
sort for its rows, 64 ms, and 1,100 signing secrets decrypted for the endpoint filter), the
connected apps 8 plus one per row (its seller, for the row's checkbox label), the stores, POS
and endpoints 8 (a second, unfiltered count); the API 6 (token and grant apart)."""


def main() -> None:
    """Seed a throw-away PostgreSQL database, measure, print the report and write it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--big-tenant-orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30, help="requests per list and size")
    parser.add_argument("--list-rounds", type=int, default=200, help="requests per order list")
    parser.add_argument("--quick", action="store_true", help="20,000 orders, 100 sellers")
    parser.add_argument("--database-url", default=DATABASE_URL, help="a PostgreSQL server")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database (to look at it, or to --reuse it)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="measure a database seeded by an earlier --keep"
    )
    args = parser.parse_args()
    if args.quick:
        args.orders, args.tenants, args.big_tenant_orders = 20_000, 100, 10_000
        args.rounds, args.list_rounds = 5, 20

    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django
    from django.db import connection
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()
    connection.settings_dict["TEST"]["NAME"] = DATABASE_NAME
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    if args.reuse:
        from django.core.management import call_command

        test_database = connection.settings_dict["NAME"] = DATABASE_NAME
        connection.close()
        call_command("migrate", verbosity=0)  # migrations added since it was seeded
        seeded_rows, timings = seeded(), {}
    else:
        test_database = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        if not args.reuse:
            seeded_rows, timings = seed(args.orders, args.tenants, args.big_tenant_orders)
            print(f"seeded in {sum(timings.values()):.0f} s: {timings}", flush=True)
        results = run(args.rounds, args.list_rounds, seeded_rows)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            results["server"] = f"PostgreSQL {cursor.fetchone()[0]}"
        results["load"] = (load_at_start, os.getloadavg()[0])
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(test_database, verbosity=0)
    results["command"] = " ".join([".venv/bin/python bench/lists.py", *sys.argv[1:]])

    text = report(results, args, timings)
    text += f"\nThe whole run took {time.perf_counter() - started:.0f} s.\n"
    print(text, end="")
    write_report(REPORT, text)


if __name__ == "__main__":
    main()
