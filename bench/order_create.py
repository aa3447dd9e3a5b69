"""Order create through ``POST /api/v1/orders`` against a bare DRF view that inserts one row.

Run: ``.venv/bin/python bench/order_create.py [--rounds N]`` (``DATABASE_URL`` chooses the
database, SQLite by default). It builds a throw-away test database, a seller connected through
OAuth to the in-process sandbox with a synced store and POS, and a partner token (client
credentials, every scope). Each round posts one order to the platform and one similar payload to
a bare view, through Django's test client (the full middleware stack), alternating, for each API
and QR mode. The bare view lives only in this process (its URL is added by a bench urlconf, its
table is created in the test database): a DRF ``APIView`` with the project's default
authentication (the same partner token, looked up the same way), a serializer of a similar
payload (pos id, api, mode, external_reference, title, Decimal amounts, a list of items) and one
``INSERT``.

The sandbox (Mercado Pago) runs in the same process and database: its requests are watched with
``request_started``/``request_finished``, so the platform's queries are counted apart from the
sandbox's, and the time spent inside sandbox requests (network time against the real Mercado
Pago) is also subtracted from each create. Queries are SQL statements other than transaction
control (``BEGIN``, ``SAVEPOINT``, ``RELEASE``), which are counted apart. It prints p50/p95,
the ratios and the queries per create, and writes them to ``bench/reports/order_create.md``,
keeping what follows the report's ``<!-- notes -->`` line.
"""

import argparse
import json
import logging
import os
import platform
import re
import statistics
import sys
import time
import types
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.test import Client

from harness import ROOT, in_process_django, write_report

REPORT = ROOT / "bench" / "reports" / "order_create.md"
WARM_UP_ROUNDS = 10
ORDERS = "/api/v1/orders"
BARE = "/bench/bare-orders"
URLCONF = "bench_order_create_urls"
CASES = [  # (api, mode, with an Idempotency-Key)
    ("v1", "dynamic", False),
    ("instore", "dynamic", False),
    ("v1", "hybrid", False),
    ("instore", "hybrid", False),
    ("v1", "static", False),
    ("instore", "static", False),
    ("v1", "dynamic", True),
]
ITEMS = [
    {"title": "Bife de chorizo", "unit_price": "60.00", "quantity": 1, "sku": "BIFE-1"},
    {"title": "Flan", "unit_price": "7.50", "quantity": 2},
]
TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


@dataclass
class Sample:
    """One request: its time, the time inside sandbox requests, and its SQL statements."""

    total_ms: float = 0.0
    sandbox_ms: float = 0.0
    total_cpu_ms: float = 0.0  # this thread's CPU time (not the database server's)
    sandbox_cpu_ms: float = 0.0
    sandbox_requests: int = 0
    platform_queries: int = 0
    sandbox_queries: int = 0
    transaction_statements: int = 0


WATCH: "Watch"  # the one of this run, for ``timed_in_process_transport``


def timed_in_process_transport():
    """The test settings' in-process transport, whose getting counts as the sandbox's time:
    against the real Mercado Pago it is no work of the platform's."""
    from merchant_platform.mercadopago import in_process_transport

    started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
    transport = in_process_transport()
    WATCH.sample.sandbox_ms += (time.perf_counter_ns() - started) / 1e6
    WATCH.sample.sandbox_cpu_ms += (time.thread_time_ns() - started_cpu) / 1e6
    return transport


def client_setup_ms(rounds: int) -> dict[str, float]:
    """p50 of setting up a Mercado Pago client as for the real Mercado Pago (no transport given,
    no request sent): a fresh ``httpx.Client``, which builds its own TLS context, against the
    ``mpapi`` client that every service call makes."""
    import httpx

    from mpapi import ClientConfig, MercadoPagoClient

    def fresh_httpx() -> None:
        httpx.Client(base_url="https://api.mercadopago.com").close()

    def mpapi_client() -> None:
        MercadoPagoClient(ClientConfig()).close()

    figures = {}
    for name, make in (("fresh httpx.Client", fresh_httpx), ("mpapi client", mpapi_client)):
        make()
        samples = []
        for _ in range(rounds):
            started = time.perf_counter_ns()
            make()
            samples.append((time.perf_counter_ns() - started) / 1e6)
        figures[name] = statistics.median(samples)
    return figures


@dataclass
class Watch:
    """Attributes each SQL statement and each moment to the platform or to the sandbox: a
    statement belongs to the sandbox while one of its requests (``/sandbox/...``) is handled."""

    # (sandbox?, started ns, this thread's CPU ns then)
    requests: list[tuple[bool, int, int]] = field(default_factory=list)
    sample: Sample = field(default_factory=Sample)

    def in_sandbox(self) -> bool:
        return any(sandbox for sandbox, _started, _cpu in self.requests)

    def started(self, environ, **_) -> None:
        sandbox = environ["PATH_INFO"].startswith("/sandbox/")
        self.requests.append((sandbox, time.perf_counter_ns(), time.thread_time_ns()))

    def finished(self, **_) -> None:
        sandbox, started, started_cpu = self.requests.pop()
        if sandbox and not self.in_sandbox():
            self.sample.sandbox_ms += (time.perf_counter_ns() - started) / 1e6
            self.sample.sandbox_cpu_ms += (time.thread_time_ns() - started_cpu) / 1e6
            self.sample.sandbox_requests += 1

    def execute(self, execute, sql, params, many, context):
        if TRANSACTION_CONTROL.match(sql):
            self.sample.transaction_statements += 1
        elif self.in_sandbox():
            self.sample.sandbox_queries += 1
        else:
            self.sample.platform_queries += 1
        return execute(sql, params, many, context)

    def measure(
        self, client: "Client", path: str, payload: str, headers: dict | None = None
    ) -> Sample:
        """POST ``payload`` (JSON) to ``path``: the request's figures."""
        from django.db import connection

        self.sample = Sample()
        with connection.execute_wrapper(self.execute):
            started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
            response = client.post(
                path, payload, content_type="application/json", headers=headers or {}
            )
            self.sample.total_ms = (time.perf_counter_ns() - started) / 1e6
            self.sample.total_cpu_ms = (time.thread_time_ns() - started_cpu) / 1e6
        assert response.status_code == 201, response.content
        assert not self.requests, self.requests
        return self.sample


def install_bare_view() -> type:
    """The bare view's model (its table created now), serializer, view and URL; the model."""
    from django.conf import settings
    from django.db import connection, models
    from django.urls import clear_url_caches, path
    from rest_framework import permissions, serializers, status
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from merchant_platform import urls

    class BareOrder(models.Model):
        pos_id = models.BigIntegerField()
        api = models.CharField(max_length=8)
        mode = models.CharField(max_length=8)
        external_reference = models.CharField(max_length=64)
        title = models.CharField(max_length=256)
        total_amount = models.DecimalField(max_digits=14, decimal_places=2)
        items = models.JSONField()
        created_at = models.DateTimeField(auto_now_add=True)

        class Meta:
            app_label = "bench"

        def __str__(self) -> str:
            return self.external_reference

    class BareItemSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=256)
        unit_price = serializers.DecimalField(max_digits=14, decimal_places=2)
        quantity = serializers.IntegerField(min_value=1, default=1)
        sku = serializers.CharField(max_length=100, required=False, allow_blank=True)

    class BareOrderSerializer(serializers.Serializer):
        pos = serializers.IntegerField(min_value=1)
        api = serializers.ChoiceField(choices=["v1", "instore"])
        mode = serializers.ChoiceField(choices=["dynamic", "hybrid", "static"])
        external_reference = serializers.RegexField(r"^[A-Za-z0-9_-]{1,64}$")
        title = serializers.CharField(max_length=256)
        items = BareItemSerializer(many=True)

    class HasToken(permissions.BasePermission):
        def has_permission(self, request, view) -> bool:
            return request.auth is not None

    class BareOrderView(APIView):
        """The project's default authentication (the partner token), one INSERT."""

        permission_classes = [HasToken]

        def post(self, request):
            serializer = BareOrderSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            items = data["items"]
            row = BareOrder.objects.create(
                pos_id=data["pos"],
                api=data["api"],
                mode=data["mode"],
                external_reference=data["external_reference"],
                title=data["title"],
                total_amount=sum(item["unit_price"] * item["quantity"] for item in items),
                items=[item | {"unit_price": str(item["unit_price"])} for item in items],
            )
            body = {"id": row.pk, "total_amount": str(row.total_amount), **request.data}
            return Response(body, status=status.HTTP_201_CREATED)

    with connection.schema_editor() as editor:
        editor.create_model(BareOrder)
    urlconf = types.ModuleType(URLCONF)
    urlconf.urlpatterns = [path(BARE.lstrip("/"), BareOrderView.as_view()), *urls.urlpatterns]
    sys.modules[URLCONF] = urlconf
    settings.ROOT_URLCONF = URLCONF
    clear_url_caches()
    return BareOrder


def percentile(values: list[float], fraction: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def summary(samples: list[Sample]) -> dict[str, float]:
    totals = [s.total_ms for s in samples]
    own = [s.total_ms - s.sandbox_ms for s in samples]
    return {
        "p50": statistics.median(totals),
        "p95": percentile(totals, 0.95),
        "own_p50": statistics.median(own),
        "own_p95": percentile(own, 0.95),
        "own_cpu_p50": statistics.median(s.total_cpu_ms - s.sandbox_cpu_ms for s in samples),
        "sandbox_p50": statistics.median(s.sandbox_ms for s in samples),
        "sandbox_requests": max(s.sandbox_requests for s in samples),
        "platform_queries": max(s.platform_queries for s in samples),
        "platform_queries_min": min(s.platform_queries for s in samples),
        "sandbox_queries": max(s.sandbox_queries for s in samples),
        "transaction_statements": max(s.transaction_statements for s in samples),
    }


def run(rounds: int) -> list[dict]:
    """The figures of each case: the platform's create and the bare view's."""
    global WATCH
    from django.conf import settings
    from django.core.signals import request_finished, request_started

    from orders.models import Order, Status
    from pos import services as pos_services
    from tenants.scope import tenant_scope
    from tests.api.conftest import api_client, issue_token
    from tests.factories import make_oauth_tenant
    from tests.orders.conftest import synced_pos

    install_bare_view()
    # Tokens authenticated from the cache, as in production with Redis (both views use it; one
    # process, so its own memory is the cache every request shares).
    settings.API_TOKEN_CACHE_SECONDS = 60
    seller = make_oauth_tenant("Bench", site="MLA")
    client: Client = api_client(issue_token(seller))
    watch = WATCH = Watch()
    settings.MERCADOPAGO_HTTP_TRANSPORT = f"{__name__}.timed_in_process_transport"
    request_started.connect(watch.started, weak=False)
    request_finished.connect(watch.finished, weak=False)
    store = synced_pos(seller, external_id="CAJA0").store
    with tenant_scope(seller):  # a POS per case: a static order stays on its POS
        poses = [
            pos_services.create_pos(
                tenant=seller, store=store, name=f"Caja {n}", external_id=f"BENCH{n}"
            )
            for n in range(len(CASES))
        ]
    samples: dict[int, tuple[list[Sample], list[Sample]]] = {n: ([], []) for n in range(len(CASES))}
    # Every round goes through every case, so that a noisy moment of the machine falls on all.
    for round_number in range(WARM_UP_ROUNDS + rounds):
        for number, (api, mode, keyed) in enumerate(CASES):
            reference = f"bench-{number}-{round_number}"
            payload = json.dumps(
                {
                    "pos": poses[number].pk,
                    "api": api,
                    "mode": mode,
                    "external_reference": reference,
                    "title": "Mesa 4",
                    "items": ITEMS,
                }
            )
            headers = {"Idempotency-Key": reference} if keyed else {}
            platform_sample = watch.measure(client, ORDERS, payload, headers)
            bare_sample = watch.measure(client, BARE, payload)
            if round_number >= WARM_UP_ROUNDS:
                samples[number][0].append(platform_sample)
                samples[number][1].append(bare_sample)
    figures = []
    for number, (api, mode, keyed) in enumerate(CASES):
        with tenant_scope(seller):
            made = Order.objects.filter(pos=poses[number], status=Status.CREATED).count()
        assert made == WARM_UP_ROUNDS + rounds, (api, mode, made)
        platform_samples, bare_samples = samples[number]
        figures.append(
            {
                "case": f"{api} {mode}" + (" + Idempotency-Key" if keyed else ""),
                "platform": summary(platform_samples),
                "bare": summary(bare_samples),
            }
        )
    return figures


def database_description() -> tuple[str, str]:
    """The database, and how the command chose it."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}", "DATABASE_URL=postgres://… "
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version} (file, WAL)", ""


def machine() -> str:
    """The CPU model (Linux) and count."""
    model = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        if names:
            model = names[0].split(":", 1)[1].strip()
    return f"{model}, {os.cpu_count()} CPUs"


def report(
    figures: list[dict], setup: dict[str, float], rounds: int, database: tuple[str, str]
) -> str:
    """The figures as a short Markdown report, with the versions they were measured with."""
    lines = [
        "# Order create: `POST /api/v1/orders` vs. a bare DRF view",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}, Python {platform.python_version()}, "
        f"Django {version('django')}, DRF {version('djangorestframework')}, "
        f"django-oauth-toolkit {version('django-oauth-toolkit')}, httpx {version('httpx')}, "
        f"{database[0]}; {rounds} rounds per case after {WARM_UP_ROUNDS} warm-up rounds, "
        "through Django's test client, the sandbox in-process. "
        f"Command: `{database[1]}.venv/bin/python bench/order_create.py --rounds {rounds}`.",
        "",
        "Milliseconds. *own*: the create less the time spent inside sandbox requests (what "
        "would be network time against Mercado Pago). Ratios are platform / bare, of p50s. "
        "*CPU*: this process's CPU time for the request (the database server's not counted), "
        "less the sandbox's; it moves less than wall time with the machine's load. "
        "Queries: SQL statements per request other than transaction control; *platform* "
        "excludes those the sandbox ran while answering.",
        "",
        "| case | create p50 | create p95 | own p50 | own p95 | bare p50 | bare p95 "
        "| ratio | own ratio | own CPU p50 | bare CPU p50 | CPU ratio | platform queries "
        "| bare queries | sandbox queries | sandbox calls | transaction statements |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in figures:
        p, b = row["platform"], row["bare"]
        queries = str(p["platform_queries"])
        if p["platform_queries_min"] != p["platform_queries"]:
            queries = f"{p['platform_queries_min']}-{queries}"
        lines.append(
            f"| {row['case']} | {p['p50']:.2f} | {p['p95']:.2f} | {p['own_p50']:.2f} "
            f"| {p['own_p95']:.2f} | {b['p50']:.2f} | {b['p95']:.2f} "
            f"| {p['p50'] / b['p50']:.2f}x | {p['own_p50'] / b['p50']:.2f}x "
            f"| {p['own_cpu_p50']:.2f} | {b['own_cpu_p50']:.2f} "
            f"| {p['own_cpu_p50'] / b['own_cpu_p50']:.2f}x | {queries} "
            f"| {b['platform_queries']} | {p['sandbox_queries']} | {p['sandbox_requests']} "
            f"| {p['transaction_statements']} |"
        )
    lines += [
        "",
        "Not in the figures above (the sandbox is reached in-process): against the real Mercado "
        "Pago each service call sets up a client with TLS. p50 of that set-up, no request sent: "
        + ", ".join(f"{name} {ms:.2f} ms" for name, ms in setup.items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure in a throw-away test database, print the report and write it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="measured rounds per case")
    rounds = parser.parse_args().rounds

    in_process_django()
    from django.db import connection

    # A server with persistent connections keeps its connection too: the test client
    # reconnects after each request unless this says the connection is still good.
    connection.close_if_unusable_or_obsolete = lambda: None
    # One line per sandbox call, per sandbox notification and per eager task otherwise.
    for name in ("httpx", "sandbox", "celery.app.trace"):
        logging.getLogger(name).setLevel(logging.WARNING)
    test_database = connection.creation.create_test_db(verbosity=0)
    try:
        figures = run(rounds)
        database = database_description()
        setup = client_setup_ms(50)
    finally:
        connection.creation.destroy_test_db(test_database, verbosity=0)

    text = report(figures, setup, rounds, database)
    print(text, end="")
    write_report(REPORT, text)


if __name__ == "__main__":
    main()
