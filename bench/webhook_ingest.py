"""Signed Mercado Pago webhook ingest under gunicorn against a bare Django view that answers 200.

Run: ``.venv/bin/python bench/webhook_ingest.py [--seconds N --connections C --rounds R
--workers 2,5]`` (needs ``wrk``: ``apt-get install -y wrk``; PostgreSQL and Redis on 127.0.0.1).

It recreates the PostgreSQL database ``bench_webhooks`` (migrated; a seller connected with the
sandbox's seller token), starts gunicorn on a free loopback port (sync workers: 2, then
docs/deploy.md's ``2 x cores + 1``, one gunicorn after the other) with the project's WSGI app and
the production settings (DEBUG off, ``bench/server_settings.py``: the product's URLs plus the bare
view ``POST /bench/bare/``), persistent database connections (``CONN_MAX_AGE=60``) and Celery's
broker on Redis (database 7): the webhook view stores the inbox row and enqueues its task, as in
production. No Celery worker runs, so the queue keeps one message per enqueued task, counted at
the end.

Requests are signed in advance (the sandbox's webhook secret; ``ts`` a few seconds before they
are sent, well inside the 300 s tolerance) and each is sent exactly once by ``wrk``
(``bench/webhook_ingest.lua``): 80 % v1 ``order`` webhooks, 5 % legacy IPN ``merchant_order``,
5 % IPN ``payment``, each with its own ``x-request-id``, and 10 % exact copies (same request id,
same signature) of a request sent shortly before. The bare view gets the same requests. After a
warm-up, each round runs the bare view then the ingest for ``--seconds`` each; rates are compared
within a round, and the CPU time of gunicorn's workers and of their PostgreSQL backends is
counted per answer. Afterwards the inbox is checked against wrk's answers: every notification
answered 2xx is stored once, duplicates are not stored again, and the queue holds one task per
row. Then, in-process, it counts SQL statements per request and times the ingest's pieces (CPU).
It prints the figures and writes them to ``bench/reports/webhook_ingest.md``, keeping what
follows the report's ``<!-- notes -->`` line.
"""

import argparse
import json
import math
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
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
REDIS_DB = 7
REPORT = ROOT / "bench" / "reports" / "webhook_ingest.md"
LUA = ROOT / "bench" / "webhook_ingest.lua"
WEBHOOK = "/webhooks/mercadopago/"
BARE = "/bench/bare/"
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

    target: str  # bare | ingest
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
    database_cpu_s: float = 0.0  # their PostgreSQL backends

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
    path = WEBHOOK if target == "ingest" else BARE
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
                if target == "ingest" and status.startswith("2") and answered_id:
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


def inbox_check(phases: list[Phase], redis_db: int) -> dict:
    """What the inbox holds against what wrk sent and was answered, over every ingest phase."""
    from orders.models import Notification as Row

    ingest = [phase for phase in phases if phase.target == "ingest"]
    sent = [n for phase in ingest for n in phase.sent]
    sent_ids = {n.request_id for n in sent}
    answered = [pk for phase in ingest for pk in phase.answered_ids]
    statuses = sum((phase.statuses for phase in ingest), Counter())
    rows = list(Row.objects.values_list("pk", "request_id", "status", "kind"))
    by_pk = {pk: request_id for pk, request_id, _status, _kind in rows}
    stored = Counter(request_id for _pk, request_id, _status, _kind in rows)
    answered_distinct = set(answered)
    return {
        "requests sent": len(sent),
        "of which exact duplicates": sum(n.duplicate for n in sent),
        "distinct notifications sent": len(sent_ids),
        "answers": dict(sorted(statuses.items())),
        "2xx answers": len(answered),
        "distinct inbox ids in 2xx answers": len(answered_distinct),
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
        "tasks in the Redis queue": redis_client(redis_db).llen("celery"),
    }


def queries_per_request(seller) -> dict[str, int]:
    """SQL statements of one request of each kind, in-process (Django's test client)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    signer = Signer.of(seller, 7)
    client = Client(HTTP_HOST="127.0.0.1")
    webhook, ipn = signer.order_webhook(str(int(time.time() * 1000))), signer.ipn("payment")
    cases = {
        "bare view": (BARE, webhook),
        "v1 order webhook": (WEBHOOK, webhook),
        "its exact duplicate": (WEBHOOK, webhook),
        "legacy IPN": (WEBHOOK, ipn),
        "its exact duplicate ": (WEBHOOK, ipn),
    }
    counts = {}
    for name, (path, notification) in cases.items():
        headers = {"X-Request-Id": notification.request_id}
        if notification.signature:
            headers["X-Signature"] = notification.signature
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                f"{path}?{notification.query}",
                notification.body,
                content_type="application/json",
                headers=headers,
            )
        assert response.status_code == 200, response.content
        counts[name.strip()] = len(queries.captured_queries)
    return counts


def cpu_breakdown(seller, count: int = 300) -> dict[str, float]:
    """CPU time (this process, in-process requests through Django's test client) per request of
    the bare view and the webhook view, and of the pieces of the ingest, in milliseconds: the
    median of three batches of ``count``."""
    from urllib.parse import parse_qsl

    from django.test import Client

    from orders import notifications, tasks
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
        Row.objects.create(kind="webhook", status="queued", request_id=str(uuid.uuid4()))

    pieces = {
        "bare view, whole request": lambda: post(BARE),
        "webhook view, whole request": lambda: post(WEBHOOK),
        "of which: signature check": check_signature,
        "of which: the INSERT (ORM and psycopg)": insert,
        "of which: Celery publish (`delay`)": lambda: tasks.process_notification.delay(0),
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
    configs: dict[int, list[tuple[Phase, Phase]]],
    check: dict,
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
        f"--workers {args.workers}`. gunicorn (sync workers) on 127.0.0.1 with the production "
        "settings (DEBUG off, `CONN_MAX_AGE=60`, the sandbox's identity and webhook secret), "
        f"Celery's broker on Redis (database {REDIS_DB}; no worker runs: the ingest stores the "
        "row and enqueues its task, as in production); PostgreSQL database "
        f"`{DATABASE}`. wrk: {args.threads} thread, {args.connections} connections (gunicorn's "
        f"sync workers close each connection), {args.seconds:g} s per target per round after a "
        f"{WARM_UP_SECONDS} s warm-up of each, for each worker count. Requests: 80 % v1 `order` "
        "webhooks (signed), 10 % legacy IPN (`merchant_order`, `payment`), 10 % exact "
        "duplicates of recent ones (same `x-request-id` and signature); every other request "
        "has its own `x-request-id`. The bare view (`bench/server_urls.py`, same gunicorn, same "
        "middleware) gets the same requests. *CPU/req*: CPU time (user + system) of gunicorn's "
        "workers, and of their PostgreSQL backends, per answer; less sensitive than req/s to "
        "other load on the machine.",
        "",
        "| workers | round | bare req/s | ingest req/s | ratio | bare p50 / p99 ms "
        "| ingest p50 / p99 ms | bare CPU/req ms | ingest CPU/req ms (web + db) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for workers, rounds in configs.items():
        for number, (bare, ingest) in enumerate(rounds, start=1):
            lines.append(
                f"| {workers} | {number} | {bare.rps:.0f} | {ingest.rps:.0f} "
                f"| {ingest.rps / bare.rps:.2f} | {bare.p50_ms:.1f} / {bare.p99_ms:.1f} "
                f"| {ingest.p50_ms:.1f} / {ingest.p99_ms:.1f} | {bare.web_cpu_ms:.2f} "
                f"| {ingest.web_cpu_ms:.2f} + {ingest.database_cpu_ms:.2f} |"
            )
        bare_rps = sum(b.requests for b, _ in rounds) / sum(b.seconds for b, _ in rounds)
        ingest_rps = sum(i.requests for _, i in rounds) / sum(i.seconds for _, i in rounds)
        median = statistics.median(i.rps / b.rps for b, i in rounds)
        lines.append(
            f"| {workers} | all | {bare_rps:.0f} | {ingest_rps:.0f} "
            f"| **{ingest_rps / bare_rps:.2f}** (median of rounds {median:.2f}) "
            f"| {_latency(b for b, _ in rounds)} | {_latency(i for _, i in rounds)} "
            f"| {_cpu(b for b, _ in rounds)} | {_cpu(i for _, i in rounds)} |"
        )
        verdicts.append(
            f"{workers} workers {ingest_rps / bare_rps:.2f} "
            + ("(met)" if ingest_rps / bare_rps >= TARGET_RATIO else "(not met)")
        )
    lines += [
        "",
        f"Target ratio ≥ {TARGET_RATIO}: " + "; ".join(verdicts) + ".",
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
    web = sum(p.web_cpu_s for p in phases) * 1000 / answers
    database = sum(p.database_cpu_s for p in phases) * 1000 / answers
    return f"{web:.2f}" if database < 0.005 else f"{web:.2f} + {database:.2f}"


def check_failures(check: dict) -> list[str]:
    failures = []
    for name in (
        "2xx-answered ids missing from the inbox",
        "request ids stored more than once",
        "rows of requests never sent",
    ):
        if check[name]:
            failures.append(f"{name}: {check[name]}")
    if check["tasks in the Redis queue"] != check["inbox rows"]:
        failures.append("the queue does not hold one task per inbox row")
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
        "--max-rps", type=int, default=6000, help="sizes the pools: requests signed per second"
    )
    args = parser.parse_args()
    worker_counts = [int(count) for count in args.workers.split(",")]
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    if args.seconds > 200:
        raise SystemExit("--seconds must stay well inside the signature tolerance (300 s)")

    port = free_port()
    env = environment(database=DATABASE, redis_db=REDIS_DB, port=port)
    recreate_database(DATABASE)
    setup_django(env)
    empty_queues(REDIS_DB)
    base_url = env["SITE_URL"]
    log_dir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    phases: list[Phase] = []
    configs: dict[int, list[tuple[Phase, Phase]]] = {}
    signer = seller = None
    for workers in worker_counts:
        with Processes(log_dir) as processes:
            master = processes.gunicorn(env, workers=workers, name=f"gunicorn-{workers}")
            if seller is None:
                seller = prepare_seller(base_url)
                signer = Signer.of(seller, 20260101)

            def phase(target: str, seconds: float, workers=workers, master=master, signer=signer):
                per_thread = math.ceil(args.max_rps * seconds / args.threads) + 1000
                pools = [signer.stream(per_thread) for _ in range(args.threads)]
                with (
                    CpuMeter(lambda: children(master.pid)) as web,
                    CpuMeter(lambda: database_backends(DATABASE)) as database,
                ):
                    done = run_wrk(base_url, target, pools, seconds, args.connections)
                done.workers = workers
                done.web_cpu_s, done.database_cpu_s = web.total, database.total
                if done.exhausted:
                    raise SystemExit(f"wrk sent every signed request ({target}): raise --max-rps")
                print(
                    f"{workers} workers {target:>6}: {done.rps:7.0f} req/s  "
                    f"p50 {done.p50_ms:6.1f} ms  p99 {done.p99_ms:6.1f} ms  "
                    f"CPU/req {done.web_cpu_ms:.2f} + {done.database_cpu_ms:.2f} ms  "
                    f"answers {dict(done.statuses)}",
                    flush=True,
                )
                phases.append(done)
                return done

            phase("bare", WARM_UP_SECONDS)
            phase("ingest", WARM_UP_SECONDS)
            configs[workers] = [
                (phase("bare", args.seconds), phase("ingest", args.seconds))
                for _ in range(args.rounds)
            ]
            time.sleep(1)  # the last answers wrk did not wait for
    check = inbox_check(phases, REDIS_DB)
    queries = queries_per_request(seller)
    breakdown = cpu_breakdown(seller)
    empty_queues(REDIS_DB)
    text = report(configs, check, queries, breakdown, args)
    print(text, end="")
    write_report(REPORT, text)
    print(f"Server logs in {log_dir}")
    failures = check_failures(check)
    if failures:
        raise SystemExit("Inbox check failed: " + "; ".join(failures))


if __name__ == "__main__":
    main()
