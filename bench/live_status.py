"""Live status at scale (issue 21, target 1): 2,000 open customer displays on one live server,
a payment reaching the display and the cashier page within 1 s p95 of Mercado Pago's webhook,
and no database query while the displays wait.

Run: ``.venv/bin/python bench/live_status.py [--displays 2000] [--payments 30] [--redis-db 9]``
(PostgreSQL and Redis on 127.0.0.1).

It recreates the PostgreSQL database ``bench_live_status`` (a seller connected to the sandbox, one
POS synced with it for the payments, ``--displays`` more saved locally, a cashier) and starts,
with the production settings (DEBUG off, ``bench/server_settings.py``): gunicorn (the pages, the
sandbox and Mercado Pago's webhooks), ``celery -A merchant_platform worker`` on Redis, and the
live server as ``deploy/live.sh`` runs it (uvicorn, ``--live-workers`` processes). A thread of
this process opens one stream (``/display/<token>/events``, server-sent events over a raw
socket each, as a browser's ``EventSource``) per display on the live server, then measures:

1. the database while every display waits: transactions committed in the bench's database over
   ``--idle-seconds`` (PostgreSQL's ``pg_stat_database``; this process's own reads excluded),
   and the live server's CPU and memory;
2. a publish reaching one display among all those open: ``--probes`` messages, each to a display
   picked at random, published as the order transitions publish (``orders.live.publish``); the
   delay from the publish to the event read on that display's socket;
3. payments end to end, with every display still open: for each, an order is created on the
   synced POS (``orders.services.create_order``); once its display's stream shows it open, the
   cashier's stream of the order (``/cashier/orders/<uid>/events``, signed in) is opened and the
   buyer pays in the sandbox's wallet. The sandbox sends its signed webhook; the platform stores
   it (``Notification.received_at``, the start of the measure) and Celery processes it; the
   order's transition publishes, after its commit, to both streams. The delays from the webhook
   to "paid" on the display's stream and "processed" on the cashier's.

Every clock is this machine's; the streams' reader shares the 2 cores with the servers. It prints
the figures and writes ``bench/reports/live_status.md``, keeping what follows its notes marker.
"""

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

from harness import ROOT, write_report
from lists import percentile
from servers import (
    VENV_BIN,
    Processes,
    children,
    cpu_seconds,
    empty_queues,
    environment,
    free_port,
    memory_kib,
    recreate_database,
    setup_django,
    wait_until_listening,
)

DATABASE = "bench_live_status"
REPORT = ROOT / "bench" / "reports" / "live_status.md"
TARGET_MS = 1000
WARM_UP_PAYMENTS = 2


class Streams:
    """Server-sent event streams held by an event loop in a thread of its own; each event read is
    noted with the time it was read (``time.time()``), by the stream's key."""

    def __init__(self, base_url: str, cookie: str = ""):
        url = urlsplit(base_url)
        self.host, self.port, self.cookie = url.hostname, url.port, cookie
        self.events: dict[str, list[tuple[float, dict]]] = defaultdict(list)
        self.failures: list[str] = []
        self.open_count = 0
        self.tasks: set[asyncio.Task] = set()
        self.changed = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        for task in asyncio.all_tasks(self.loop):
            self.loop.call_soon_threadsafe(task.cancel)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def open(self, streams: list[tuple[str, str]], *, at_once: int = 100) -> float:
        """Open each ``(key, path)`` stream, ``at_once`` connecting at a time; the seconds until
        every one has sent its first event."""
        started = time.monotonic()
        asyncio.run_coroutine_threadsafe(self._open(streams, at_once), self.loop).result()
        return time.monotonic() - started

    async def _open(self, streams: list[tuple[str, str]], at_once: int) -> None:
        gate = asyncio.Semaphore(at_once)
        opened = [asyncio.Event() for _ in streams]
        for (key, path), ready in zip(streams, opened, strict=True):
            await gate.acquire()
            # asyncio keeps weak references to tasks only: these are kept until the end.
            self.tasks.add(self.loop.create_task(self._hold(key, path, ready)))
            self.tasks.add(self.loop.create_task(self._release(gate, ready)))
        await asyncio.gather(*(ready.wait() for ready in opened))

    @staticmethod
    async def _release(gate: asyncio.Semaphore, ready: asyncio.Event) -> None:
        await ready.wait()
        gate.release()

    async def _hold(self, key: str, path: str, ready: asyncio.Event) -> None:
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            cookie = f"Cookie: {self.cookie}\r\n" if self.cookie else ""
            request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
            writer.write(f"{request}{cookie}\r\n".encode())
            status = await reader.readline()
            if b" 200 " not in status:
                raise ConnectionError(f"{path}: {status.decode().strip()}")
            self.open_count += 1
            while line := await reader.readline():
                if line.startswith(b"data: "):
                    self._note(key, json.loads(line[6:]))
                    ready.set()
        except (OSError, ConnectionError) as error:
            self.failures.append(f"{key}: {error}")
        finally:
            ready.set()

    def _note(self, key: str, event: dict) -> None:
        with self.changed:
            self.events[key].append((time.time(), event))
            self.changed.notify_all()

    def wait_for(self, key: str, matches, timeout: float = 30) -> float:
        """When the stream ``key`` first read an event that ``matches``."""
        with self.changed:
            found = self.changed.wait_for(
                lambda: next((at for at, event in self.events[key] if matches(event)), None),
                timeout,
            )
        if found is None:
            raise SystemExit(f"stream {key} never read the event awaited")
        return found


def start_live_server(processes: Processes, env: dict, port: int, workers: int):
    """The live server as ``deploy/live.sh`` runs it, on ``port`` of loopback, answering."""
    server = processes.start(
        "live",
        [str(ROOT / "deploy/live.sh")],
        env
        | {
            "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
            "LIVE_HOST": "127.0.0.1",
            "LIVE_PORT": str(port),
            "LIVE_WORKERS": str(workers),
        },
    )
    wait_until_listening(f"http://127.0.0.1:{port}", server)
    return server


def prepare(displays: int):
    """A connected seller with one synced POS, ``displays`` more POS, and a cashier signed in:
    (tenant, synced POS, tokens of the others, session cookie)."""
    from django.conf import settings
    from django.test import Client

    from pos.models import PointOfSale
    from sandbox.seed import seller_access_token
    from tenants import services
    from tenants.scope import tenant_scope
    from tests.factories import make_member, make_store
    from tests.orders.conftest import synced_pos

    tenant = services.create_tenant(name="Parrilla del Puerto", site="MLA")
    services.connect_with_access_token(tenant=tenant, access_token=seller_access_token("MLA"))
    tenant.refresh_from_db()
    pos = synced_pos(tenant, external_id="LIVE1")
    store = make_store(tenant)
    with tenant_scope(tenant):
        others = PointOfSale.objects.bulk_create(
            PointOfSale(tenant=tenant, store=store, name=f"Caja {n}", external_id=f"K{n}")
            for n in range(displays)
        )
    client = Client()
    client.force_login(make_member(tenant, "cashier", "bench-cashier"))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return tenant, pos, others, f"{settings.SESSION_COOKIE_NAME}={session}"


SETTLE_SECONDS = 11
"""PostgreSQL's backends report their counts at most every second, an idle one after 10 s."""


def committed_transactions() -> int:
    """Transactions so far in the bench's database, read from another database's connection so
    that the read itself is not counted."""
    import psycopg
    from servers import POSTGRES

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as stats:
        row = stats.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            [DATABASE],
        ).fetchone()
    return row[0]


def idle_figures(live_pids: list[int], seconds: float) -> dict:
    """The database's transactions and the live server's CPU while every display waits: counted
    from when every count of the streams' connects has reached the statistics until every count
    of the window has (``SETTLE_SECONDS`` after it)."""
    time.sleep(SETTLE_SECONDS)
    before, cpu_before = committed_transactions(), cpu_seconds(live_pids)
    time.sleep(seconds)
    cpu_after = cpu_seconds(live_pids)
    time.sleep(SETTLE_SECONDS)
    return {
        "transactions": committed_transactions() - before,
        "seconds": seconds + SETTLE_SECONDS,
        "cpu": (cpu_after - cpu_before) / seconds,
        "rss_mib": sum(memory_kib(pid)["VmRSS"] for pid in live_pids) / 1024,
    }


def probe(streams: Streams, tokens: list[str], channel_of, count: int) -> list[float]:
    """Publish ``count`` messages, each to a display picked at random; their delays (ms)."""
    from orders import live

    delays = []
    for number in range(count):
        token, pos_id = random.choice(tokens)  # noqa: S311
        sent = time.time()
        live.publish({channel_of(pos_id): {"state": "idle", "probe": number}})
        read = streams.wait_for(token, lambda event, n=number: event.get("probe") == n)
        delays.append((read - sent) * 1000)
        time.sleep(0.02)
    return delays


def new_order(tenant, pos, reference: str):
    """A dynamic Orders API order on ``pos``, created as the cashier page creates one."""
    from orders import services
    from orders.validation import ItemInput
    from tenants.scope import tenant_scope

    with tenant_scope(tenant):
        return services.create_order(
            tenant=tenant,
            pos=pos,
            api="v1",
            mode="dynamic",
            external_reference=reference,
            title="Mesa 4",
            items=[ItemInput(title="Parrillada para dos", unit_price=Decimal("24350.00"))],
        )


def pay(base_url: str, order) -> float:
    """The buyer pays ``order`` in the sandbox's wallet; when (s)."""
    import httpx

    paid_at = time.time()
    answer = httpx.post(f"{base_url}/sandbox/wallet/pay", json={"qr_data": order.qr_data})
    answer.raise_for_status()
    return paid_at


def platform_moments(tenant, order) -> dict:
    """When the webhook of ``order``'s payment was received and the order processed (s)."""
    from orders.models import Notification, Order
    from tenants.scope import tenant_scope

    with tenant_scope(tenant):
        closed_at = Order.objects.get(pk=order.pk).closed_at
    webhook = Notification.objects.filter(order=order).order_by("received_at").first()
    return {"webhook": webhook.received_at.timestamp(), "processed": closed_at.timestamp()}


def pay_one(tenant, pos, number: int, streams: Streams, cashier: Streams, base_url: str) -> dict:
    """Create an order, wait for it on the display's stream, pay it; the moments that matter."""
    order = new_order(tenant, pos, f"live-{number}")
    uid = str(order.uid)
    display = pos.display_token

    def shows(state: str):
        return lambda event: event["state"] == state and event.get("order", {}).get("uid") == uid

    streams.wait_for(display, shows("open"))
    cashier.open([(uid, f"/cashier/orders/{uid}/events")])
    paid_at = pay(base_url, order)
    displayed = streams.wait_for(display, shows("paid"))
    told = cashier.wait_for(uid, lambda event: event["status"] == "processed")
    return {
        "paid": paid_at,
        **platform_moments(tenant, order),
        "display": displayed,
        "cashier": told,
    }


def delays_ms(moments: list[dict], since: str, until: str) -> list[float]:
    return [(moment[until] - moment[since]) * 1000 for moment in moments]


def figures(values: list[float]) -> str:
    return f"{percentile(values, 0.5):.0f} | {percentile(values, 0.95):.0f} | {max(values):.0f}"


def report(args, opened: int, open_seconds: float, idle: dict, probes, moments) -> str:
    display = delays_ms(moments, "webhook", "display")
    cashier = delays_ms(moments, "webhook", "cashier")
    rows = [
        ("webhook received → the display's stream reads paid", display),
        ("webhook received → the cashier's stream reads processed", cashier),
        (
            "webhook received → order processed (`closed_at`), the floor",
            delays_ms(moments, "webhook", "processed"),
        ),
        (
            "order processed → the display's stream reads paid (what the push adds)",
            delays_ms(moments, "processed", "display"),
        ),
        (
            "wallet payment → webhook received (the sandbox's delivery)",
            delays_ms(moments, "paid", "webhook"),
        ),
        (f"publish → one of the {opened} open displays reads it ({len(probes)} probes)", probes),
    ]
    met = {
        "display": percentile(display, 0.95) <= TARGET_MS,
        "cashier": percentile(cashier, 0.95) <= TARGET_MS,
        "held": opened >= args.displays,
        "idle": idle["transactions"] == 0,
    }
    verdict = "met" if all(met.values()) else "NOT met"
    lines = [
        "# Live status: 2,000 open displays on one live server, and a payment on them",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Linux {platform.release()}, load average {os.getloadavg()[0]:.1f}; Python "
        f"{platform.python_version()}, Django {version('django')}, uvicorn "
        f"{version('uvicorn')} (uvloop, httptools), redis-py {version('redis')}, gunicorn "
        f"{version('gunicorn')}, Celery {version('celery')}.",
        "",
        f"Command: `.venv/bin/python bench/live_status.py --displays {args.displays} --payments "
        f"{args.payments}`. The live server as `deploy/live.sh` runs it: uvicorn with "
        f"{args.live_workers} worker processes on one loopback port; gunicorn ({args.workers} "
        f"workers) for the webhooks and the sandbox; `celery worker --concurrency "
        f"{args.celery_concurrency}` on Redis database {args.redis_db}; PostgreSQL database "
        f"`{DATABASE}`; the production settings (DEBUG off). One process's thread holds every "
        "stream (raw sockets, as `EventSource` reads them) on the same 2 cores.",
        "",
        "## Open displays",
        "",
        f"- Streams open: **{opened}** of {args.displays + 1} asked for ({args.displays} "
        f"displays and the paying POS's), all in {open_seconds:.1f} s; failures: "
        f"{args.failures}.",
        f"- While they all waited, {idle['seconds']:.0f} s: **{idle['transactions']}** "
        "transactions in the bench's database (PostgreSQL's `pg_stat_database`, read from "
        f"another database); the live server used {idle['cpu'] * 100:.1f} % of one core and "
        f"{idle['rss_mib']:.0f} MiB (resident, its {args.live_workers} workers together).",
        "",
        "## Delays",
        "",
        "ms | p50 | p95 | max",
        "---|---|---|---",
        *(f"{name} | {figures(values)}" for name, values in rows),
        "",
        f"{len(moments)} payments after {WARM_UP_PAYMENTS} of warm-up, one at a time, with every "
        "display's stream open.",
        "",
        f"Target: {args.displays} open displays on one 2-core node, no database query while they "
        f"wait, and p95 ≤ {TARGET_MS} ms from the webhook to the display and the cashier: "
        f"**{verdict}** (display p95 {percentile(display, 0.95):.0f} ms, cashier p95 "
        f"{percentile(cashier, 0.95):.0f} ms, {idle['transactions']} transactions idle).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--displays", type=int, default=2000)
    parser.add_argument("--payments", type=int, default=30)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument("--live-workers", type=int, default=2, help="uvicorn's processes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn's workers")
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--redis-db", type=int, default=9, help="Redis database of the queue")
    args = parser.parse_args()

    port, live_port = free_port(), free_port()
    env = environment(database=DATABASE, redis_db=args.redis_db, port=port)
    recreate_database(DATABASE)
    setup_django(env)
    empty_queues(args.redis_db)
    base_url, live_url = env["SITE_URL"], f"http://127.0.0.1:{live_port}"
    log_dir = Path(tempfile.mkdtemp(prefix="bench-live-"))
    sys.path.insert(0, str(ROOT))
    from orders import live

    with Processes(log_dir) as processes:
        processes.gunicorn(env, workers=args.workers)
        processes.celery_worker(env, concurrency=args.celery_concurrency)
        server = start_live_server(processes, env, live_port, args.live_workers)
        tenant, pos, others, cookie = prepare(args.displays)
        streams, cashier = Streams(live_url), Streams(live_url, cookie)
        try:
            paths = [(pos.display_token, f"/display/{pos.display_token}/events")] + [
                (other.display_token, f"/display/{other.display_token}/events") for other in others
            ]
            open_seconds = streams.open(paths)
            print(f"  {streams.open_count} streams open in {open_seconds:.1f} s", flush=True)
            if streams.failures:
                raise SystemExit(f"streams failed: {streams.failures[:3]}")
            live_pids = children(server.pid) or [server.pid]
            idle = idle_figures(live_pids, args.idle_seconds)
            print(f"  idle: {idle}", flush=True)
            tokens = [(other.display_token, other.pk) for other in others]
            probes = probe(streams, tokens, live.display_channel, args.probes)
            moments = []
            for number in range(WARM_UP_PAYMENTS + args.payments):
                moment = pay_one(tenant, pos, number, streams, cashier, base_url)
                if number >= WARM_UP_PAYMENTS:
                    moments.append(moment)
                if (number + 1) % 10 == 0:
                    print(f"  {number + 1} payments", flush=True)
            opened = streams.open_count
            args.failures = len(streams.failures) + len(cashier.failures)
        finally:
            streams.close()
            cashier.close()
    empty_queues(args.redis_db)
    text = report(args, opened, open_seconds, idle, probes, moments)
    print(text, end="")
    write_report(REPORT, text)
    print(f"Server logs in {log_dir}")


if __name__ == "__main__":
    main()
