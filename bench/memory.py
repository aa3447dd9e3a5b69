"""Memory of a gunicorn web worker and of a Celery worker after many orders (issue 8, item 5).

Run: ``.venv/bin/python bench/memory.py [--orders 10000] [--api v1|instore|both]`` (PostgreSQL
and Redis on 127.0.0.1).

It recreates the PostgreSQL database ``bench_memory`` (migrated; a seller connected with the
sandbox's seller token, a store and POS synced, a partner app's client-credentials token), then
starts, with the production settings (DEBUG off, ``bench/server_settings.py``, the API throttle
off), gunicorn on a free loopback port (sync workers, ``2 x cores + 1`` as docs/deploy.md says)
and ``celery -A merchant_platform worker`` on Redis (database 8, prefork pool). The sandbox is
mounted in the same gunicorn and reached over HTTP at ``SITE_URL``, so each of its requests is
served by one of the web workers too.

Client threads each create an order through ``POST /api/v1/orders`` (a dynamic QR on the Orders
API v1 by default; ``--api instore`` or ``both`` for legacy in-store ones, which cost about twice
as much) and pay it in the sandbox's wallet. Each payment makes the sandbox
emit its notifications (a signed v1 webhook, or two legacy IPN) through Celery
(``sandbox.deliver_event``); the platform's webhook view stores them and queues
``orders.process_notification``, which reads the order back from the sandbox and marks it
processed. The load pauses while more than ``--max-backlog`` paid orders wait for Celery, and
the run ends once every order is processed and the queue is empty.

``VmRSS`` and ``VmHWM`` (the peak resident set) of every web worker and Celery process are read
from ``/proc/<pid>/status`` at start (idle), after a warm-up and at the end, so that growth shows
apart from first-use imports. It prints them and writes ``bench/reports/memory.md``, keeping what
follows the report's ``<!-- notes -->`` line.
"""

import argparse
import base64
import os
import platform
import tempfile
import threading
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from harness import ROOT, write_report
from servers import (
    CpuMeter,
    Processes,
    children,
    database_backends,
    empty_queues,
    environment,
    free_port,
    memory_kib,
    recreate_database,
    setup_django,
    wait_for_processing,
)

DATABASE = "bench_memory"
REDIS_DB = 8
REPORT = ROOT / "bench" / "reports" / "memory.md"
WARM_UP_ORDERS = 50
ITEMS = [
    {"title": "Bife de chorizo", "unit_price": "60.00", "quantity": 1},
    {"title": "Flan", "unit_price": "7.50", "quantity": 2},
]
API_WORDS = {
    "v1": "Orders API v1, one signed webhook each",
    "instore": "legacy in-store API, two IPN each",
    "both": "alternately Orders API v1 and legacy in-store",
}
# As a TLS proxy in front of gunicorn would say (docs/deploy.md); OAuth's token endpoint needs it.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def prepare(base_url: str) -> tuple[int, str]:
    """A connected seller with a synced POS, and a partner token acting for it: (POS id, token)."""
    import httpx

    from partners.scopes import SCOPES
    from partners.services import install_application
    from sandbox.seed import seller_access_token
    from tenants import services
    from tests.orders.conftest import synced_pos

    tenant = services.create_tenant(name="Bench memory", site="MLA")
    services.connect_with_access_token(tenant=tenant, access_token=seller_access_token("MLA"))
    tenant.refresh_from_db()
    pos = synced_pos(tenant, external_id="MEMORY1")
    application, secret = install_application(
        tenant=tenant, name="Bench memory", requested=frozenset(SCOPES), user=None
    )
    basic = base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
    answer = httpx.post(
        f"{base_url}/o/token/",
        data={"grant_type": "client_credentials", "scope": " ".join(sorted(SCOPES))},
        headers={"Authorization": f"Basic {basic}", **PROXY_HEADERS},
        timeout=30,
    )
    answer.raise_for_status()
    return pos.pk, answer.json()["access_token"]


class Load:
    """Client threads creating and paying orders; numbers are handed out in order."""

    def __init__(
        self, base_url: str, pos_id: int, token: str, apis: tuple[str, ...], max_backlog: int
    ):
        self.base_url, self.pos_id, self.token, self.apis = base_url, pos_id, token, apis
        self.max_backlog = max_backlog
        self.lock = threading.Lock()
        self.next_number = 0
        self.errors: list[str] = []

    def run(self, count: int, threads: int, progress_every: int = 1000) -> float:
        """Create and pay ``count`` orders; the seconds it took."""
        last = self.next_number + count
        started = time.monotonic()

        def work() -> None:
            import httpx

            headers = {"Authorization": f"Bearer {self.token}", **PROXY_HEADERS}
            with httpx.Client(base_url=self.base_url, headers=headers, timeout=60) as client:
                while True:
                    with self.lock:
                        if self.next_number >= last or len(self.errors) > 20:
                            return
                        number = self.next_number
                        self.next_number += 1
                    if number % 20 == 0:
                        self.wait_for_celery()
                    try:
                        self.order(client, number)
                    except Exception as error:  # counted and reported
                        with self.lock:
                            self.errors.append(f"order {number}: {error!r}"[:300])
                    if (number + 1) % progress_every == 0:
                        print(
                            f"  {number + 1} orders, {time.monotonic() - started:.0f} s",
                            flush=True,
                        )

        def run_work() -> None:
            from django.db import connection

            try:
                work()
            finally:
                connection.close()  # this thread's, opened by ``wait_for_celery``

        pool = [threading.Thread(target=run_work) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        if self.errors:
            raise SystemExit(f"{len(self.errors)} orders failed, e.g. {self.errors[:3]}")
        return time.monotonic() - started

    def wait_for_celery(self) -> None:
        """Pace the load to what the Celery worker keeps up with: wait while more than
        ``max_backlog`` paid orders wait for their notification to be processed (a backlog
        that grows without end is no steady state, and would only time the drain)."""
        from orders.models import Order, Status
        from tenants.scope import cross_tenant_scope

        while True:
            with cross_tenant_scope():
                backlog = Order.objects.filter(status=Status.CREATED).count()
            if backlog <= self.max_backlog:
                return
            time.sleep(0.5)

    def order(self, client, number: int) -> None:
        payload = {
            "pos": self.pos_id,
            "api": self.apis[number % len(self.apis)],
            "mode": "dynamic",
            "external_reference": f"memory-{number}",
            "title": "Mesa 4",
            "items": ITEMS,
        }
        created = client.post("/api/v1/orders", json=payload)
        if created.status_code != 201:
            raise RuntimeError(f"create answered {created.status_code}: {created.text[:200]}")
        paid = client.post("/sandbox/wallet/pay", json={"qr_data": created.json()["qr_data"]})
        if paid.status_code != 200:
            raise RuntimeError(f"pay answered {paid.status_code}: {paid.text[:200]}")


def wait_until_processed(expected: int, timeout: float) -> float:
    """Wait until ``expected`` orders are processed, no notification waits for processing and
    Celery holds no message (queued, or reserved and not yet acknowledged); the seconds."""
    return wait_for_processing(expected, REDIS_DB, timeout)


def wait_for_pool(celery_main: int, concurrency: int, timeout: float = 120) -> None:
    """Wait until Celery's main process has forked its pool."""
    deadline = time.monotonic() + timeout
    while len(children(celery_main)) < concurrency:
        if time.monotonic() > deadline:
            raise SystemExit("the Celery worker did not start its pool; see its log")
        time.sleep(0.5)
    time.sleep(2)  # the pool processes finish their start


def snapshot(web_master: int, celery_main: int) -> dict[str, dict[int, dict[str, int]]]:
    """VmRSS and VmHWM (KiB) of each web worker and each Celery process (main and pool)."""
    return {
        "web": {pid: memory_kib(pid) for pid in children(web_master)},
        "celery": {pid: memory_kib(pid) for pid in [celery_main, *children(celery_main)]},
    }


def outcome() -> str:
    """What the database holds: orders by API and status, notifications by kind and status."""
    from collections import Counter

    from orders.models import Notification, Order
    from tenants.scope import cross_tenant_scope

    with cross_tenant_scope():
        orders = Counter(Order.objects.values_list("api", "status"))
    notifications = Counter(Notification.objects.values_list("kind", "status"))

    def listed(counter: Counter) -> str:
        return ", ".join(f"{count} {' '.join(key)}" for key, count in sorted(counter.items()))

    return f"Orders: {listed(orders)}. Notifications: {listed(notifications)}."


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f}"


def report(snapshots: dict, timings: dict, counts: dict, args) -> str:
    start, warm, end = snapshots["start"], snapshots["warm"], snapshots["end"]
    lines = [
        "# Memory: web and Celery workers after many orders",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Linux {platform.release()}; Python {platform.python_version()}, Django "
        f"{version('django')}, gunicorn {version('gunicorn')}, Celery {version('celery')}, "
        f"kombu {version('kombu')}, psycopg {version('psycopg')}, httpx {version('httpx')}.",
        "",
        f"Command: `.venv/bin/python bench/memory.py --orders {args.orders} --api {args.api}`. "
        f"gunicorn with "
        f"{args.workers} sync workers, `celery -A merchant_platform worker --concurrency "
        f"{args.celery_concurrency}` (prefork) on Redis database {REDIS_DB}, PostgreSQL database "
        f"`{DATABASE}`, the production settings (DEBUG off, `CONN_MAX_AGE=60`, the API throttle "
        "off). The sandbox is served by the same gunicorn and reached over HTTP at `SITE_URL`. "
        f"{args.threads} client threads; each order ({API_WORDS[args.api]}, dynamic QR) is "
        "created through `POST /api/v1/orders` and paid in the sandbox's wallet; its "
        "notifications go through Celery (`sandbox.deliver_event` → the webhook view → "
        "`orders.process_notification`). "
        f"The load pauses while more than {args.max_backlog} paid orders wait for Celery. "
        f"Warm-up: {WARM_UP_ORDERS} orders. No `--max-requests` (gunicorn) nor "
        "`--max-tasks-per-child` (Celery): nothing is recycled, so a leak would show.",
        "",
        f"{args.orders} orders created and paid in {timings['load']:.0f} s "
        f"({args.orders / timings['load']:.1f} orders/s), every notification processed "
        f"{timings['drain']:.0f} s later. {counts} CPU time per order: web workers "
        + " ms, Celery ".join(f"{ms:.1f}" for ms in timings["cpu_ms_per_order"][:2])
        + f" ms, PostgreSQL backends {timings['cpu_ms_per_order'][2]:.1f} ms (their sum over "
        "the machine's cores bounds the rate).",
        "",
        "MiB. *start*: idle, after boot; *warm*: after the warm-up; *end*: after every order. "
        "RSS: `VmRSS`; peak: `VmHWM` (the largest resident set the process ever had).",
        "",
        "| process | RSS start | RSS warm | RSS end | growth warm → end | peak (VmHWM) |",
        "|---|---|---|---|---|---|",
    ]
    for kind in ("web", "celery"):
        for number, pid in enumerate(sorted(end[kind]), start=1):
            name = f"{kind} worker {number}" if kind == "web" else "celery"
            if kind == "celery":
                name = "celery main" if number == 1 else f"celery pool process {number - 1}"
            first = start[kind].get(pid, {}).get("VmRSS")
            warm_rss = warm[kind].get(pid, {}).get("VmRSS")
            last = end[kind][pid]
            growth = "" if warm_rss is None else f"{(last['VmRSS'] - warm_rss) / 1024:+.1f}"
            lines.append(
                f"| {name} (pid {pid}) | {mib(first) if first else '—'} "
                f"| {mib(warm_rss) if warm_rss else '—'} | {mib(last['VmRSS'])} | {growth} "
                f"| {mib(last['VmHWM'])} |"
            )
    web_peak = max(value["VmHWM"] for value in end["web"].values())
    celery_peak = max(value["VmHWM"] for value in end["celery"].values())
    lines += [
        "",
        f"Peak RSS of a web worker: **{mib(web_peak)} MiB**; of a Celery process: "
        f"**{mib(celery_peak)} MiB**.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=3, help="client threads")
    parser.add_argument("--workers", type=int, default=2 * os.cpu_count() + 1)
    parser.add_argument("--celery-concurrency", type=int, default=os.cpu_count())
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds to wait for Celery at the end"
    )
    parser.add_argument(
        "--max-backlog",
        type=int,
        default=200,
        help="paid orders whose notification waits for Celery before the load pauses",
    )
    parser.add_argument(
        "--api",
        choices=["both", "v1", "instore"],
        default="v1",
        help="the orders' API: v1 (default), instore, or both alternately (about twice the "
        "CPU time per order: legacy orders bring two IPN each)",
    )
    args = parser.parse_args()
    if args.threads >= args.workers:
        raise SystemExit(
            "--threads must stay below --workers: each create waits for a sandbox call"
        )

    port = free_port()
    env = environment(database=DATABASE, redis_db=REDIS_DB, port=port, API_THROTTLE_RATE="")
    recreate_database(DATABASE)
    setup_django(env)
    empty_queues(REDIS_DB)
    base_url = env["SITE_URL"]
    log_dir = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    snapshots, timings = {}, {}
    with Processes(log_dir) as processes:
        web = processes.gunicorn(env, workers=args.workers)
        celery = processes.celery_worker(env, concurrency=args.celery_concurrency)
        wait_for_pool(celery.pid, args.celery_concurrency)
        snapshots["start"] = snapshot(web.pid, celery.pid)
        pos_id, token = prepare(base_url)
        apis = ("v1", "instore") if args.api == "both" else (args.api,)
        load = Load(base_url, pos_id, token, apis, args.max_backlog)
        load.run(WARM_UP_ORDERS, args.threads)
        wait_until_processed(WARM_UP_ORDERS, args.timeout)
        snapshots["warm"] = snapshot(web.pid, celery.pid)
        print(f"warm-up done; creating and paying {args.orders} orders", flush=True)
        meters = [
            CpuMeter(lambda: children(web.pid)),
            CpuMeter(lambda: [celery.pid, *children(celery.pid)]),
            CpuMeter(lambda: database_backends(DATABASE)),
        ]
        with meters[0], meters[1], meters[2]:
            timings["load"] = load.run(args.orders, args.threads)
            timings["drain"] = wait_until_processed(WARM_UP_ORDERS + args.orders, args.timeout)
        timings["cpu_ms_per_order"] = [meter.total * 1000 / args.orders for meter in meters]
        snapshots["end"] = snapshot(web.pid, celery.pid)
    counts = outcome()
    empty_queues(REDIS_DB)
    text = report(snapshots, timings, counts, args)
    print(text, end="")
    write_report(REPORT, text)
    print(f"Server logs in {log_dir}")


if __name__ == "__main__":
    main()
