"""Signed Mercado Pago webhook ingest under gunicorn against a bare Django view that answers 200.

Run: ``.venv/bin/python bench/webhook_ingest.py [--seconds N --connections C --rounds R
--workers 2,5]`` (needs ``wrk``: ``apt-get install -y wrk``; PostgreSQL and Redis on 127.0.0.1).

It recreates the PostgreSQL database ``bench_webhooks`` (migrated; a seller connected with the
sandbox's seller token) and, for each worker count (sync workers: 2, then docs/deploy.md's
``2 x cores + 1``), starts two gunicorns on free loopback ports with the project's WSGI app and
the production settings (DEBUG off, ``bench/server_settings.py``: the product's URLs plus the bare
view ``POST /bench/bare/``), persistent database connections (``CONN_MAX_AGE=60``) and Celery's
broker on Redis (database 10). The first has ``NOTIFICATIONS_RELAY`` off: the webhook view stores
the inbox row and publishes its task (*enqueue*). The second has it on, with the relay process
(``manage.py run_notification_relay``) running: the view only stores the row and the relay,
woken by ``NOTIFY``, publishes its task (*relay*). No Celery worker runs, so the queue keeps
every published task, read at the end.

Requests are signed in advance (the sandbox's webhook secret; ``ts`` a few seconds before they
are sent, well inside the 300 s tolerance) and each is sent exactly once by ``wrk``
(``bench/webhook_ingest.lua``): 80 % v1 ``order`` webhooks, 5 % legacy IPN ``merchant_order``,
5 % IPN ``payment``, each with its own ``x-request-id``, and 10 % exact copies (same request id,
same signature) of a request sent shortly before. The bare view gets the same requests. After a
warm-up, each round runs the bare view, the ingest with *enqueue* and the ingest with *relay* for
``--seconds`` each; rates are compared within a round, and the CPU time of gunicorn's workers, of
the relay and of their PostgreSQL backends is counted per answer. Afterwards the inbox is checked
against wrk's answers: every notification answered 2xx is stored once, duplicates are not stored
again, every row has its task in the queue and the relay left none behind; the relay's delay
(the row stored to its task published) is read from the rows, under load and for webhooks sent
one at a time. Then, in-process, it counts SQL statements per request and times the ingest's
pieces (CPU).
It prints the figures and writes them to ``bench/reports/webhook_ingest.md``, keeping what
follows the report's ``<!-- notes -->`` line.
"""

import argparse
import base64
import json
import math
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
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
    recreate_database,
    redis_client,
    setup_django,
)

DATABASE = "bench_webhooks"
REDIS_DB = 10  # the other benchmarks use 6 to 9
REPORT = ROOT / "bench" / "reports" / "webhook_ingest.md"
LUA = ROOT / "bench" / "webhook_ingest.lua"
WEBHOOK = "/webhooks/mercadopago/"
BARE = "/bench/bare/"
MODES = ("enqueue", "relay")  # NOTIFICATIONS_RELAY off, on
IDLE_PROBES = 50  # webhooks sent one at a time to time the relay's delay without load
DUPLICATE_SHARE = 0.10
IPN_SHARE = 0.10  # half merchant_order, half payment
DUPLICATE_WINDOW = 200  # a duplicate copies one of the last this many requests of its thread
WARM_UP_SECONDS = 3
TARGET_RATIO = 0.6
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class Notification:
    """One request as Mercado Pago would send it: its query, headers and body."""

    query: str
    request_id: str
    signature: str  # "" for legacy IPN
    body: str
    kind: str  # webhook | ipn
    duplicate: bool = False

    def line(self, path: str) -> str:
        return f"{path}?{self.query}\t{self.request_id}\t{self.signature}\t{self.body}\n"


@dataclass
class Phase:
    """One wrk run: its figures and, per thread, what it sent and what came back."""

    target: str  # bare | enqueue | relay
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int
    statuses: Counter = field(default_factory=Counter)
    answered_ids: list[int] = field(default_factory=list)
    sent: list[Notification] = field(default_factory=list)
    exhausted: bool = False
    workers: int = 0
    web_cpu_s: float = 0.0  # gunicorn's workers
    database_cpu_s: float = 0.0  # their PostgreSQL backends (and the relay's)
    relay_cpu_s: float = 0.0  # the relay process

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def web_cpu_ms(self) -> float:
        """CPU time of gunicorn's workers per answered request, in milliseconds."""
        return self.web_cpu_s * 1000 / max(self.answers, 1)

    @property
    def database_cpu_ms(self) -> float:
        return self.database_cpu_s * 1000 / max(self.answers, 1)

    @property
    def relay_cpu_ms(self) -> float:
        return self.relay_cpu_s * 1000 / max(self.answers, 1)

    @property
    def answers(self) -> int:
        return sum(self.statuses.values())


class Signer:
    """Builds notifications of the sandbox's seller, signed with the sandbox's webhook secret."""

    def __init__(self, *, secret: str, seller_id: int, mp_user_id: int, rng: random.Random):
        self.secret, self.seller_id, self.mp_user_id, self.rng = secret, seller_id, mp_user_id, rng
        self.resource = 10**9

    @classmethod
    def of(cls, seller, seed: int) -> "Signer":
        """A signer for ``seller``, drawing its ids from ``seed`` (a reproducible load)."""
        rng = random.Random(seed)  # noqa: S311 (reproducible load, not secrets)
        return cls(
            secret=webhook_secret(), seller_id=seller.pk, mp_user_id=seller.mp_user_id, rng=rng
        )

    def order_webhook(self, ts: str) -> Notification:
        from mpapi import webhooks

        data_id = "ORD" + "".join(self.rng.choice(CROCKFORD) for _ in range(26))
        request_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        body = {
            "action": "order.processed",
            "api_version": "v1",
            "application_id": "8000000000000001",
            "data": {
                "id": data_id,
                "external_reference": f"bench-{data_id[-8:]}",
                "status": "processed",
                "status_detail": "accredited",
                "total_amount": "30.00",
                "total_paid_amount": "30.00",
                "transactions": {
                    "payments": [
                        {
                            "id": "PAY" + data_id[3:],
                            "amount": "30.00",
                            "paid_amount": "30.00",
                            "payment_method": {
                                "id": "account_money",
                                "type": "account_money",
                                "installments": 1,
                            },
                            "status": "processed",
                            "status_detail": "accredited",
                        }
                    ]
                },
                "type": "qr",
                "version": 2,
            },
            "date_created": datetime.now(UTC).isoformat(),
            "live_mode": False,
            "type": "order",
            "user_id": str(self.mp_user_id),
        }
        return Notification(
            query=f"data.id={data_id}&type=order",
            request_id=request_id,
            signature=webhooks.sign(self.secret, data_id=data_id, request_id=request_id, ts=ts),
            body=json.dumps(body, separators=(",", ":")),
            kind="webhook",
        )

    def ipn(self, topic: str) -> Notification:
        self.resource += 1
        return Notification(
            query=f"seller={self.seller_id}&topic={topic}&id={self.resource}",
            request_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            signature="",
            body=json.dumps({"resource": str(self.resource), "topic": topic}),
            kind="ipn",
        )

    def stream(self, count: int) -> list[Notification]:
        """``count`` requests: webhooks, IPN and exact duplicates of recent ones, signed now."""
        ts = str(int(time.time() * 1000))
        sent: list[Notification] = []
        for _ in range(count):
            draw = self.rng.random()
            originals = [n for n in sent[-DUPLICATE_WINDOW:] if not n.duplicate]
            if draw < DUPLICATE_SHARE and originals:
                original = self.rng.choice(originals)
                sent.append(Notification(**{**original.__dict__, "duplicate": True}))
            elif draw < DUPLICATE_SHARE + IPN_SHARE:
                sent.append(self.ipn("merchant_order" if draw < 0.15 else "payment"))
            else:
                sent.append(self.order_webhook(ts))
        return sent


def run_wrk(
    base_url: str, target: str, pools: list[list[Notification]], seconds: float, connections: int
) -> Phase:
    """Send each thread's pool (to the webhook, or the bare view) for ``seconds``."""
    path = BARE if target == "bare" else WEBHOOK
    work = Path(tempfile.mkdtemp(prefix="bench-wrk-"))
    try:
        for number, pool in enumerate(pools):
            (work / f"requests-{number}.txt").write_text("".join(n.line(path) for n in pool))
        command = [
            "wrk",
            f"-t{len(pools)}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout=10s",
            f"--script={LUA}",
            base_url,
            "--",
            str(work),
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
        run = json.loads(re.search(r"^WRK-RUN (.*)$", output, re.M).group(1))
        phase = Phase(
            target=target,
            requests=run["requests"],
            seconds=run["duration_us"] / 1e6,
            p50_ms=run["p50_us"] / 1000,
            p90_ms=run["p90_us"] / 1000,
            p99_ms=run["p99_us"] / 1000,
            max_ms=run["max_us"] / 1000,
            socket_errors=sum(
                run[name] for name in ("connect_errors", "read_errors", "write_errors", "timeouts")
            ),
        )
        for line in re.findall(r"^WRK-THREAD (.*)$", output, re.M):
            thread = json.loads(line)
            phase.sent += pools[thread["id"]][: thread["sent"]]
            phase.exhausted |= bool(thread["exhausted"])
        for number in range(len(pools)):
            for answer in (work / f"answers-{number}.txt").read_text().splitlines():
                status, _, answered_id = answer.partition("\t")
                phase.statuses[int(status)] += 1
                if target != "bare" and status.startswith("2") and answered_id:
                    phase.answered_ids.append(int(answered_id))
        return phase
    finally:
        shutil.rmtree(work)


def prepare_seller(site_url: str):
    """A seller connected to the sandbox's test seller, its token checked over HTTP."""
    from sandbox.seed import seller_access_token
    from tenants import services

    tenant = services.create_tenant(name="Bench webhooks", site="MLA")
    services.connect_with_access_token(tenant=tenant, access_token=seller_access_token("MLA"))
    tenant.refresh_from_db()
    assert tenant.mp_user_id, "the seller is not connected"
    return tenant


def queued_tasks(redis_db: int) -> Counter:
    """How many ``orders.process_notification`` messages wait in the queue, per inbox id."""
    tasks: Counter = Counter()
    for raw in redis_client(redis_db).lrange("celery", 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == "orders.process_notification":
            args = json.loads(base64.b64decode(message["body"]))[0]
            tasks[args[0]] += 1
    return tasks


def wait_for_relay(timeout: float = 60) -> int:
    """Wait until the relay has published every row stored ``received``; how many are left."""
    from orders.models import Notification as Row

    deadline = time.monotonic() + timeout
    while (left := Row.objects.filter(status="received").count()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def inbox_check(phases: list[Phase], redis_db: int) -> dict:
    """What the inbox holds against what wrk sent and was answered, over every ingest phase,
    and the tasks the queue holds per row."""
    from orders.models import Notification as Row

    ingest = [phase for phase in phases if phase.target != "bare"]
    sent = [n for phase in ingest for n in phase.sent]
    sent_ids = {n.request_id for n in sent}
    answered = [pk for phase in ingest for pk in phase.answered_ids]
    statuses = sum((phase.statuses for phase in ingest), Counter())
    rows = list(Row.objects.values_list("pk", "request_id", "status", "kind"))
    by_pk = {pk: request_id for pk, request_id, _status, _kind in rows}
    stored = Counter(request_id for _pk, request_id, _status, _kind in rows)
    answered_distinct = set(answered)
    tasks = queued_tasks(redis_db)
    relayed = {pk for phase in ingest if phase.target == "relay" for pk in phase.answered_ids}
    return {
        "requests sent": len(sent),
        "of which exact duplicates": sum(n.duplicate for n in sent),
        "distinct notifications sent": len(sent_ids),
        "answers": dict(sorted(statuses.items())),
        "2xx answers": len(answered),
        "distinct inbox ids in 2xx answers": len(answered_distinct),
        "of which answered by the relay mode's server": len(relayed),
        "2xx answers naming a row already answered (duplicates)": len(answered)
        - len(answered_distinct),
        "inbox rows": len(rows),
        "rows by status": dict(Counter(status for _pk, _rid, status, _kind in rows)),
        "rows by kind": dict(Counter(kind for _pk, _rid, _status, kind in rows)),
        "2xx-answered ids missing from the inbox": len(answered_distinct - by_pk.keys()),
        "request ids stored more than once": sum(1 for count in stored.values() if count > 1),
        "extra rows of request ids stored more than once": sum(
            count - 1 for count in stored.values() if count > 1
        ),
        "rows of requests never sent": sum(1 for rid in stored if rid not in sent_ids),
        "rows whose answer wrk did not read (in flight when a phase ended)": len(
            by_pk.keys() - answered_distinct
        ),
        "distinct notifications sent but not stored": len(sent_ids - stored.keys()),
        "tasks in the Redis queue": sum(tasks.values()),
        "rows without a task in the queue": len(by_pk.keys() - tasks.keys()),
        "tasks naming no row": len(tasks.keys() - by_pk.keys()),
        "rows with more than one task (a duplicate came while the row waited: queued again)": sum(
            1 for count in tasks.values() if count > 1
        ),
    }


def relay_delay(answered: list[int]) -> dict[str, float]:
    """Milliseconds from a row's storing (``received_at``, the web process's clock) to its task
    published and the row marked queued (``touched_at``, the relay's): p50, p95, max. Rows
    answered more than once are left out (a duplicate may have handed them back)."""
    from orders.models import Notification as Row

    once = [pk for pk, count in Counter(answered).items() if count == 1]
    delays = sorted(
        (touched - received).total_seconds() * 1000
        for received, touched in Row.objects.filter(pk__in=once, status="queued").values_list(
            "received_at", "touched_at"
        )
    )
    if not delays:
        return {}
    return {
        "rows": len(delays),
        "p50": delays[len(delays) // 2],
        "p95": delays[min(len(delays) - 1, math.ceil(len(delays) * 0.95) - 1)],
        "max": delays[-1],
    }


def probe_idle_relay(base_url: str, signer: "Signer") -> Phase:
    """Send ``IDLE_PROBES`` webhooks one at a time, a little apart (the relay idle between them);
    what was sent and answered, for the inbox check."""
    import httpx

    probes = Phase("relay", 0, 1.0, 0, 0, 0, 0, 0)
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for notification in signer.stream(IDLE_PROBES * 2):
            if notification.kind != "webhook" or notification.duplicate:
                continue
            answer = client.post(
                f"{WEBHOOK}?{notification.query}",
                content=notification.body,
                headers={
                    "Content-Type": "application/json",
                    "X-Request-Id": notification.request_id,
                    "X-Signature": notification.signature,
                },
            )
            probes.sent.append(notification)
            probes.statuses[answer.status_code] += 1
            probes.answered_ids.append(answer.json()["id"])
            time.sleep(0.05)
            if len(probes.sent) == IDLE_PROBES:
                break
    return probes


def queries_per_request(seller) -> dict[str, int]:
    """SQL statements of one request of each kind, in-process (Django's test client), with
    ``NOTIFICATIONS_RELAY`` off and on."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    signer = Signer.of(seller, 7)
    client = Client(HTTP_HOST="127.0.0.1")
    counts = {"bare view": 0}
    for mode in MODES:
        webhook, ipn = signer.order_webhook(str(int(time.time() * 1000))), signer.ipn("payment")
        cases = {
            "v1 order webhook": webhook,
            "its exact duplicate": webhook,
            "legacy IPN": ipn,
            "its exact duplicate ": ipn,
        }
        for name, notification in cases.items():
            headers = {"X-Request-Id": notification.request_id}
            if notification.signature:
                headers["X-Signature"] = notification.signature
            with (
                override_settings(NOTIFICATIONS_RELAY=mode == "relay"),
                CaptureQueriesContext(connection) as queries,
            ):
                response = client.post(
                    f"{WEBHOOK}?{notification.query}",
                    notification.body,
                    content_type="application/json",
                    headers=headers,
                )
            assert response.status_code == 200, response.content
            counts[f"{name.strip()} ({mode})"] = len(queries.captured_queries)
    return counts


def cpu_breakdown(seller, count: int = 300) -> dict[str, float]:
    """CPU time (this process, in-process requests through Django's test client) per request of
    the bare view and the webhook view, and of the pieces of the ingest, in milliseconds: the
    median of three batches of ``count``."""
    from urllib.parse import parse_qsl

    from django.test import Client, override_settings

    from orders import notifications, relay, tasks
    from orders.models import Notification as Row

    signer = Signer.of(seller, 8)
    client = Client(HTTP_HOST="127.0.0.1")
    ts = str(int(time.time() * 1000))
    fresh = (signer.order_webhook(ts) for _ in range(10**9))

    def post(path: str) -> None:
        notification = next(fresh)
        headers = {"X-Request-Id": notification.request_id, "X-Signature": notification.signature}
        response = client.post(
            f"{path}?{notification.query}",
            notification.body,
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 200, response.content

    def check_signature() -> None:
        notification = next(fresh)
        row = Row(
            query=dict(parse_qsl(notification.query)),
            headers={
                "x-signature": notification.signature,
                "x-request-id": notification.request_id,
            },
        )
        assert notifications._signature_problem(row) == ""

    def insert() -> None:
        notifications._insert(Row(kind="webhook", status="queued", request_id=str(uuid.uuid4())))

    def post_relayed() -> None:
        with override_settings(NOTIFICATIONS_RELAY=True):
            post(WEBHOOK)

    pieces = {
        "bare view, whole request": lambda: post(BARE),
        "webhook view (enqueue), whole request": lambda: post(WEBHOOK),
        "webhook view (relay), whole request": post_relayed,
        "of which: signature check": check_signature,
        "of which: the INSERT (one statement, psycopg)": insert,
        "of which (enqueue only): Celery publish (`delay`)": lambda: (
            tasks.process_notification.delay(0)
        ),
    }
    figures = {}
    for name, piece in pieces.items():
        for _ in range(20):
            piece()
        batches = []
        for _ in range(3):
            started = time.process_time()
            for _ in range(count):
                piece()
            batches.append((time.process_time() - started) * 1000 / count)
        figures[name] = statistics.median(batches)
    relay.drain()  # the rows post_relayed stored: the relay's own cost, measured next
    batches = []
    for _ in range(3):
        with override_settings(NOTIFICATIONS_RELAY=True):
            for _ in range(count):
                post(WEBHOOK)
        started = time.process_time()
        relayed = relay.drain()
        batches.append((time.process_time() - started) * 1000 / relayed)
    figures["relay, per row (claim, publish, mark queued; batches of 500)"] = statistics.median(
        batches
    )
    return figures


def webhook_secret() -> str:
    from merchant_platform.mercadopago import get_config

    return get_config().webhook_secret


def versions() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0].split()[0]
    redis_version = redis_client(REDIS_DB).info("server")["redis_version"]
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1]  # noqa: S607
    return (
        f"Python {platform.python_version()}, Django {version('django')}, gunicorn "
        f"{version('gunicorn')}, psycopg {version('psycopg')}, Celery {version('celery')}, "
        f"redis-py {version('redis')}; PostgreSQL {postgres}, Redis {redis_version}, wrk {wrk}"
    )


def machine() -> str:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.*)$", cpuinfo.read_text(), re.M)
        model = f", {found.group(1)}" if found else ""
    return f"{platform.machine()}, {os.cpu_count()} CPUs{model}, Linux {platform.release()}"


def report(
    configs: dict[int, dict[str, list[tuple[Phase, Phase]]]],
    check: dict,
    delays: dict[str, dict[str, float]],
    queries: dict,
    breakdown: dict[str, float],
    args,
) -> str:
    lines = [
        "# Webhook ingest: signed Mercado Pago notifications vs. a bare Django view",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; {versions()}.",
        "",
        "Command: `.venv/bin/python bench/webhook_ingest.py "
        f"--seconds {args.seconds:g} --connections {args.connections} --rounds {args.rounds} "
        f"--workers {args.workers}"
        + (f" --gunicorn-threads {args.gunicorn_threads}" if args.gunicorn_threads > 1 else "")
        + "`. gunicorn ("
        + (
            "sync workers"
            if args.gunicorn_threads == 1
            else f"gthread, {args.gunicorn_threads} threads"
        )
        + ") on 127.0.0.1 with the production "
        "settings (DEBUG off, `CONN_MAX_AGE=60`, the sandbox's identity and webhook secret), "
        f"Celery's broker on Redis (database {REDIS_DB}; no worker runs); PostgreSQL database "
        f"`{DATABASE}`. Two ingest modes, each on a gunicorn of its own: *enqueue* "
        "(`NOTIFICATIONS_RELAY` off: the view stores the row and publishes its task) and *relay* "
        "(`NOTIFICATIONS_RELAY` on: the view only stores the row; the relay process, woken by "
        f"`NOTIFY`, publishes the task). wrk: {args.threads} thread, {args.connections} "
        "connections (one request per connection), "
        f"{args.seconds:g} s per target per round after a {WARM_UP_SECONDS} s warm-up of each, "
        "for each worker count. Requests: 80 % v1 `order` webhooks (signed), 10 % legacy IPN "
        "(`merchant_order`, `payment`), 10 % exact duplicates of recent ones (same "
        "`x-request-id` and signature); every other request has its own `x-request-id`. The "
        "bare view (`bench/server_urls.py`, same gunicorn, same middleware) gets the same "
        "requests. *CPU/req*: CPU time (user + system) per answer of gunicorn's workers, of "
        "the PostgreSQL backends (the relay's included) and of the relay process; less "
        "sensitive than req/s to other load on the machine.",
        "",
        "| workers | round | enqueue: bare req/s | ingest req/s | ratio | relay: bare req/s "
        "| ingest req/s | ratio | p50 / p99 ms: bare, enqueue; bare, relay | CPU/req ms: bare "
        "| enqueue (web + db) | relay (web + db + relay) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for workers, modes in configs.items():
        for number in range(len(modes["relay"])):
            (bare_e, enqueue), (bare_r, relayed) = modes["enqueue"][number], modes["relay"][number]
            lines.append(
                f"| {workers} | {number + 1} | {bare_e.rps:.0f} | {enqueue.rps:.0f} "
                f"| {enqueue.rps / bare_e.rps:.2f} | {bare_r.rps:.0f} | {relayed.rps:.0f} "
                f"| {relayed.rps / bare_r.rps:.2f} | {_latency([bare_e])}, {_latency([enqueue])}; "
                f"{_latency([bare_r])}, {_latency([relayed])} | {_cpu([bare_e, bare_r])} "
                f"| {_cpu([enqueue])} | {_cpu([relayed])} |"
            )
        cells, ratios = [], {}
        for mode in MODES:
            rounds = modes[mode]
            bare = sum(b.requests for b, _ in rounds) / sum(b.seconds for b, _ in rounds)
            ingest = sum(i.requests for _, i in rounds) / sum(i.seconds for _, i in rounds)
            median = statistics.median(i.rps / b.rps for b, i in rounds)
            ratios[mode] = ingest / bare
            cells += [
                f"{bare:.0f}",
                f"{ingest:.0f}",
                f"**{ingest / bare:.2f}** (median {median:.2f})",
            ]
        latencies = "; ".join(
            f"{_latency(b for b, _ in modes[mode])}, {_latency(i for _, i in modes[mode])}"
            for mode in MODES
        )
        bares = [b for mode in MODES for b, _ in modes[mode]]
        lines.append(
            f"| {workers} | all | {' | '.join(cells)} | {latencies} | {_cpu(bares)} "
            f"| {_cpu(i for _, i in modes['enqueue'])} | {_cpu(i for _, i in modes['relay'])} |"
        )
        verdicts.append(
            f"{workers} workers {ratios['relay']:.2f} "
            + ("(met)" if ratios["relay"] >= TARGET_RATIO else "(not met)")
            + f", against {ratios['enqueue']:.2f} with enqueue"
        )
    lines += [
        "",
        f"Target ratio (relay mode) ≥ {TARGET_RATIO}: " + "; ".join(verdicts) + ".",
        "",
        "The relay's delay, from a row stored (`received_at`, the web process's clock) to its "
        "task published and the row marked queued (`touched_at`, the relay's), ms:",
        "",
        "| | rows | p50 | p95 | max |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {figures.get('rows', 0)} | {figures.get('p50', 0):.1f} "
            f"| {figures.get('p95', 0):.1f} | {figures.get('max', 0):.1f} |"
            for name, figures in delays.items()
        ),
        "",
        "SQL statements per request (in-process, Django's test client, autocommit; Django's "
        "connection health check adds a `SELECT 1` per request on a reused connection, not "
        "counted): " + ", ".join(f"{name} {count}" for name, count in queries.items()) + ".",
        "",
        "CPU time per request in-process (this process, Django's test client, the same "
        "database and Redis; median of 3 batches of 300), ms:",
        "",
        "| | CPU ms |",
        "|---|---|",
        *(f"| {name} | {ms:.2f} |" for name, ms in breakdown.items()),
        "",
        "## Inbox check (every ingest phase, warm-ups included)",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in check.items()]
    return "\n".join(lines) + "\n"


def _latency(phases) -> str:
    """p50 / p99 over rounds: the median of the rounds' p50, the largest p99."""
    phases = list(phases)
    return (
        f"{statistics.median(p.p50_ms for p in phases):.1f} / {max(p.p99_ms for p in phases):.1f}"
    )


def _cpu(phases) -> str:
    phases = list(phases)
    answers = sum(p.answers for p in phases)
    figures = [
        sum(getattr(p, name) for p in phases) * 1000 / answers
        for name in ("web_cpu_s", "database_cpu_s", "relay_cpu_s")
    ]
    while len(figures) > 1 and figures[-1] < 0.005:
        figures.pop()
    return " + ".join(f"{figure:.2f}" for figure in figures)


def check_failures(check: dict) -> list[str]:
    failures = []
    for name in (
        "2xx-answered ids missing from the inbox",
        "request ids stored more than once",
        "rows of requests never sent",
        "rows without a task in the queue",
        "tasks naming no row",
    ):
        if check[name]:
            failures.append(f"{name}: {check[name]}")
    if check["rows by status"].get("received"):
        failures.append("the relay left rows received")
    if any(not str(status).startswith("2") for status in check["answers"]):
        failures.append(f"answers other than 2xx: {check['answers']}")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="per target and round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--workers",
        default=f"2,{2 * os.cpu_count() + 1}",
        help="gunicorn sync worker counts to measure, comma-separated (default: 2 and "
        "docs/deploy.md's 2 x cores + 1)",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument(
        "--gunicorn-threads",
        type=int,
        default=1,
        help="threads per gunicorn worker: 1, sync workers (default, as the first round); more, "
        "gthread (gunicorn.conf.py has 8)",
    )
    parser.add_argument(
        "--max-rps", type=int, default=6000, help="sizes the pools: requests signed per second"
    )
    args = parser.parse_args()
    worker_counts = [int(count) for count in args.workers.split(",")]
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    if args.seconds > 200:
        raise SystemExit("--seconds must stay well inside the signature tolerance (300 s)")

    ports = {mode: free_port() for mode in MODES}
    envs = {
        mode: environment(
            database=DATABASE,
            redis_db=REDIS_DB,
            port=ports[mode],
            NOTIFICATIONS_RELAY="true" if mode == "relay" else "false",
        )
        for mode in MODES
    }
    recreate_database(DATABASE)
    setup_django(envs["enqueue"])
    empty_queues(REDIS_DB)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    phases: list[Phase] = []
    configs: dict[int, dict[str, list[tuple[Phase, Phase]]]] = {}
    signer = seller = None
    delays: dict[str, dict[str, float]] = {}
    for workers in worker_counts:
        configs[workers] = {}
        for mode in MODES:  # one gunicorn at a time: each thread keeps a database connection
            with Processes(log_dir) as processes:
                master = processes.gunicorn(
                    envs[mode],
                    workers=workers,
                    threads=args.gunicorn_threads,
                    name=f"{mode}-{workers}",
                )
                relay_pid = None
                if mode == "relay":
                    relay_pid = processes.start(
                        f"relay-{workers}",
                        [str(Path(sys.executable)), "manage.py", "run_notification_relay"],
                        envs["relay"],
                    ).pid
                if seller is None:
                    seller = prepare_seller(envs[mode]["SITE_URL"])
                    signer = Signer.of(seller, 20260101)

                def phase(
                    target: str,
                    seconds: float,
                    workers=workers,
                    mode=mode,
                    master=master,
                    relay_pid=relay_pid,
                    signer=signer,
                ):
                    per_thread = math.ceil(args.max_rps * seconds / args.threads) + 1000
                    pools = [signer.stream(per_thread) for _ in range(args.threads)]
                    with (
                        CpuMeter(lambda: children(master.pid)) as web,
                        CpuMeter(lambda: database_backends(DATABASE)) as database,
                        CpuMeter(lambda: [relay_pid] if relay_pid else []) as relay_cpu,
                    ):
                        done = run_wrk(
                            envs[mode]["SITE_URL"], target, pools, seconds, args.connections
                        )
                    done.workers = workers
                    done.web_cpu_s, done.database_cpu_s = web.total, database.total
                    done.relay_cpu_s = relay_cpu.total if target == "relay" else 0.0
                    if done.exhausted:
                        raise SystemExit(
                            f"wrk sent every signed request ({target}): raise --max-rps"
                        )
                    print(
                        f"{workers} workers {mode:>7} {target:>7}: {done.rps:7.0f} req/s  "
                        f"p50 {done.p50_ms:6.1f} ms  p99 {done.p99_ms:6.1f} ms  "
                        f"CPU/req {_cpu([done])} ms  answers {dict(done.statuses)}",
                        flush=True,
                    )
                    phases.append(done)
                    return done

                phase("bare", WARM_UP_SECONDS)
                phase(mode, WARM_UP_SECONDS)
                configs[workers][mode] = [
                    (phase("bare", args.seconds), phase(mode, args.seconds))
                    for _ in range(args.rounds)
                ]
                time.sleep(1)  # the last answers wrk did not wait for
                if mode == "relay":
                    left = wait_for_relay()
                    if left:
                        raise SystemExit(f"the relay left {left} rows received")
                    under_load = [
                        pk
                        for p in phases
                        if p.target == "relay" and p.workers == workers
                        for pk in p.answered_ids
                    ]
                    delays[f"under load ({workers} workers, every relay phase)"] = relay_delay(
                        under_load
                    )
                    probes = probe_idle_relay(envs[mode]["SITE_URL"], signer)
                    wait_for_relay()
                    delays[f"idle ({workers} workers, {IDLE_PROBES} webhooks one at a time)"] = (
                        relay_delay(probes.answered_ids)
                    )
                    phases.append(probes)
    check = inbox_check(phases, REDIS_DB)
    queries = queries_per_request(seller)
    breakdown = cpu_breakdown(seller)
    empty_queues(REDIS_DB)
    text = report(configs, check, delays, queries, breakdown, args)
    print(text, end="")
    write_report(REPORT, text)
    print(f"Server logs in {log_dir}")
    failures = check_failures(check)
    if failures:
        raise SystemExit("Inbox check failed: " + "; ".join(failures))


if __name__ == "__main__":
    main()
