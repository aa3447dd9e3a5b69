"""The platform's CPU time per paid order, end to end, the sandbox apart (issue 21, target 6).

Run: ``.venv/bin/python bench/paid_order_cost.py --orders 300 --api both`` (PostgreSQL and
Redis on 127.0.0.1; ``--orders`` per API, 500 by default; ``--quick``: 60 orders per API;
``--profile``: where the CPU goes, no report; ``--keep-connections``: a proposal measured, its
report apart).

The platform runs as production runs it, each process by its ``deploy/`` script with the
production settings (DEBUG off, ``LOG_LEVEL=INFO``, PostgreSQL database ``bench_cost_platform``,
Redis database 6 as broker, cache and live status): ``web.sh`` (gunicorn, ``gunicorn.conf.py``:
``WEB_CONCURRENCY`` = the cores, 8 threads each), ``worker.sh`` (Celery, prefork, one process per
core), ``relay.sh`` (``NOTIFICATIONS_RELAY=true``, as docs/deploy.md asks of production),
``beat.sh`` and ``live.sh`` (one uvicorn worker; no page is open, so it only idles). The API
throttle and the seller's IPN look-up budget are off (one seller at the bench's rate);
``CONN_MAX_AGE=3600``, so that a web thread's backend lasts the run (Celery closes its
connection around every task regardless: the report counts the backends that ended).

The sandbox runs apart, as Mercado Pago would: a gunicorn of the same project on another port
(``SANDBOX_ENABLED=true``), with its own PostgreSQL database (``bench_cost_sandbox``) and its own
Celery worker (its own queue on the same Redis database; ``sandbox.deliver_event`` sends its
webhooks to the platform). The platform reaches it at ``MERCADOPAGO_API_BASE_URL`` with the
sandbox's identity (``bench/split_settings.py``).

After a warm-up, client threads create orders through ``POST /api/v1/orders`` (a partner's
token; dynamic QR) and pay each in the sandbox's wallet (``memory.Load``); each window ends once
every notification is processed. CPU time (user + system, from ``/proc``) is read for each
process tree at the window's start and end (exited children included, through ``cutime``), and
sampled every second for the PostgreSQL backends of each database (``pg_stat_activity``; this
process's own connections, named ``bench_cost_driver``, left out). Inside the platform's web and
Celery processes ``bench/cpu_accounting.py`` counts each request's CPU by route and each task's by
name. Redis is shared with other work on the machine and not counted. It writes
``bench/reports/paid_order_cost.md``, keeping what follows its ``<!-- notes -->`` line.
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cpu_accounting
from harness import ROOT, write_report
from memory import Load, outcome, prepare, wait_for_pool
from servers import (
    CpuMeter,
    Processes,
    database_backends_excluding,
    environment,
    free_port,
    recreate_database,
    redis_client,
    setup_django,
    tree_cpu_seconds,
    versions,
    wait_for_processing,
    wait_until_listening,
)

DATABASE = "bench_cost_platform"
SANDBOX_DATABASE = "bench_cost_sandbox"
REDIS_DB = 6
SANDBOX_QUEUE = "bench_cost_sandbox"  # the sandbox's Celery queue and cache prefix
DRIVER = "bench_cost_driver"  # this process's connections: never counted
REPORT = ROOT / "bench" / "reports" / "paid_order_cost.md"
KEEP_CONNECTIONS_REPORT = ROOT / "bench" / "reports" / "paid_order_cost_keep_connections.md"
TARGET_MS = 30.0
IDLE_SECONDS = 10
PLATFORM = ("web", "celery", "relay", "beat", "live", "postgres")
SANDBOX = ("sandbox web", "sandbox celery", "sandbox postgres")
API_WORDS = {"v1": "Orders API v1 (one signed webhook)", "instore": "legacy in-store (two IPN)"}


def environments(cores: int, cpu_dir: Path, args) -> tuple[dict, dict, dict]:
    """The platform's processes', the sandbox's, and this process's environments."""
    from cryptography.fernet import Fernet

    from merchant_platform import mercadopago

    platform_port, sandbox_port, live_port = free_port(), free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    platform = environment(
        database=DATABASE,
        redis_db=REDIS_DB,
        port=platform_port,
        DJANGO_SETTINGS_MODULE="bench.split_settings",
        SANDBOX_ENABLED="false",
        MERCADOPAGO_API_BASE_URL=f"{sandbox_url}/sandbox",
        MERCADOPAGO_CLIENT_ID=mercadopago.SANDBOX_CLIENT_ID,
        MERCADOPAGO_CLIENT_SECRET=mercadopago.SANDBOX_CLIENT_SECRET,
        MERCADOPAGO_SPONSOR_ID=mercadopago.SANDBOX_SPONSOR_ID,
        MERCADOPAGO_WEBHOOK_SECRET=mercadopago.SANDBOX_WEBHOOK_SECRET,
        MERCADOPAGO_CREDENTIAL_KEYS=Fernet.generate_key().decode(),
        NOTIFICATIONS_RELAY="true",
        API_THROTTLE_RATE="",
        NOTIFICATIONS_IPN_SELLER_RATE="",  # one seller at the bench's rate: every IPN looked up
        CONN_MAX_AGE="3600",
        LOG_LEVEL="INFO",
        GUNICORN_BIND=f"127.0.0.1:{platform_port}",
        WEB_CONCURRENCY=str(cores),
        LIVE_HOST="127.0.0.1",
        LIVE_PORT=str(live_port),
        LIVE_WORKERS="1",
        BENCH_CPU_DIR=str(cpu_dir),
        BENCH_PROFILE="1" if args.profile else "",
        BENCH_KEEP_CONNECTIONS="1" if args.keep_connections else "",
    )
    sandbox = environment(
        database=SANDBOX_DATABASE,
        redis_db=REDIS_DB,
        port=sandbox_port,
        BENCH_QUEUE=SANDBOX_QUEUE,
        DJANGO_SETTINGS_MODULE="bench.split_settings",
        BENCH_WEBHOOK_URL=f"{platform['SITE_URL']}/webhooks/mercadopago/",
        CONN_MAX_AGE="3600",
        GUNICORN_ACCESS_LOG="",
    )
    driver = platform | {
        "DATABASE_URL": f"{platform['DATABASE_URL']}?application_name={DRIVER}",
        "LOG_LEVEL": "WARNING",
    }
    return platform, sandbox, driver


class SplitLoad(Load):
    """``memory.Load`` with the wallet's payments sent to the sandbox's own server."""

    def __init__(self, *args, sandbox_url: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.sandbox_url = sandbox_url
        self.local = threading.local()
        self.wallets: list = []

    def order(self, client, number: int) -> None:
        import httpx

        wallet = getattr(self.local, "wallet", None)
        if wallet is None:
            wallet = self.local.wallet = httpx.Client(base_url=self.sandbox_url, timeout=60)
            with self.lock:
                self.wallets.append(wallet)
        super().order(_Routed(client, wallet), number)

    def close(self) -> None:
        for wallet in self.wallets:
            wallet.close()


class _Routed:
    """Posts to the sandbox's paths go to the sandbox's server, the others to the platform's."""

    def __init__(self, platform, sandbox):
        self.platform, self.sandbox = platform, sandbox

    def post(self, url: str, **kwargs):
        return (self.sandbox if url.startswith("/sandbox/") else self.platform).post(url, **kwargs)


@dataclass
class Window:
    """What one measured stretch of time cost: CPU seconds by group, and by route and task."""

    orders: int
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    routes: dict[str, tuple[int, float]] = field(default_factory=dict)
    tasks: dict[str, tuple[int, float]] = field(default_factory=dict)
    backends: dict[str, tuple[int, int]] = field(default_factory=dict)  # (seen, ended)
    load_average: float = 0.0
    driver: float = 0.0

    def ms(self, group: str) -> float:
        return self.cpu[group] * 1000 / self.orders

    def platform_ms(self) -> float:
        return sum(self.ms(group) for group in PLATFORM)


class Meters:
    """Every group's CPU time over a piece of work, and the platform's by route and task."""

    def __init__(self, trees: dict[str, int], cpu_dir: Path):
        self.trees, self.cpu_dir = trees, cpu_dir

    def measure(self, window: Window, work) -> Window:
        databases = {"postgres": DATABASE, "sandbox postgres": SANDBOX_DATABASE}
        meters = {
            name: CpuMeter(lambda database=database: database_backends_excluding(database, DRIVER))
            for name, database in databases.items()
        }
        time.sleep(cpu_accounting.FLUSH_SECONDS * 2)  # the processes' last counts written
        routes = cpu_accounting.read_totals(self.cpu_dir, "web")
        tasks = cpu_accounting.read_totals(self.cpu_dir, "celery")
        trees = {name: tree_cpu_seconds(pid) for name, pid in self.trees.items()}
        driver = _own_cpu()
        started = time.monotonic()
        with meters["postgres"], meters["sandbox postgres"]:
            work()
            window.seconds = time.monotonic() - started
            window.cpu = {
                name: tree_cpu_seconds(pid) - trees[name] for name, pid in self.trees.items()
            }
        window.driver = _own_cpu() - driver
        window.load_average = os.getloadavg()[0]
        for name, meter in meters.items():
            window.cpu[name] = meter.total
            ended = sum(1 for pid in meter.last if not Path(f"/proc/{pid}").exists())
            window.backends[name] = (len(meter.last), ended)
        time.sleep(cpu_accounting.FLUSH_SECONDS * 2)
        window.routes = _difference(cpu_accounting.read_totals(self.cpu_dir, "web"), routes)
        window.tasks = _difference(cpu_accounting.read_totals(self.cpu_dir, "celery"), tasks)
        return window


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _difference(after: dict, before: dict) -> dict[str, tuple[int, float]]:
    return {
        key: (count - before.get(key, (0, 0.0))[0], seconds - before.get(key, (0, 0.0))[1])
        for key, (count, seconds) in after.items()
        if count > before.get(key, (0, 0.0))[0]
    }


def migrate_sandbox(env: dict[str, str]) -> subprocess.Popen:
    """The sandbox's database migrated (and seeded: its application's webhook URL is the
    platform's) by a process of its own, on the sandbox's environment."""
    command = [sys.executable, "manage.py", "migrate", "--no-input", "-v0", "--skip-checks"]
    return subprocess.Popen(command, cwd=ROOT, env=os.environ | env)  # noqa: S603


def start_platform(processes: Processes, env: dict[str, str], cores: int) -> dict[str, int]:
    """The platform's processes, each by its deploy script; {group: pid of the tree's root}."""
    web = processes.deployed("web", "web.sh", env, "--config", "bench/gunicorn_cpu.py")
    wait_until_listening(env["SITE_URL"], web)
    celery = processes.deployed("celery", "worker.sh", env)
    relay = processes.deployed("relay", "relay.sh", env)
    beat = processes.deployed("beat", "beat.sh", env)
    live = processes.deployed("live", "live.sh", env)
    wait_for_pool(celery.pid, cores)
    return {
        "web": web.pid,
        "celery": celery.pid,
        "relay": relay.pid,
        "beat": beat.pid,
        "live": live.pid,
    }


def start_sandbox(processes: Processes, env: dict[str, str], workers: int, cores: int) -> dict:
    web = processes.gunicorn(env, workers=workers, name="sandbox-web")
    celery = processes.celery_worker(env, concurrency=cores, name="sandbox-celery")
    wait_for_pool(celery.pid, cores)
    return {"sandbox web": web.pid, "sandbox celery": celery.pid}


def run(args) -> tuple[dict[str, Window], Window, str, Path]:
    cores = os.cpu_count() or 1
    cpu_dir = Path(tempfile.mkdtemp(prefix="bench-cost-cpu-"))
    platform, sandbox, driver = environments(cores, cpu_dir, args)
    recreate_database(DATABASE)
    recreate_database(SANDBOX_DATABASE)
    redis_client(REDIS_DB).flushdb()  # this bench's own: queues, caches, beat's lock
    if migrate_sandbox(sandbox).wait() != 0:
        raise SystemExit("the sandbox's database did not migrate")
    log_dir = Path(tempfile.mkdtemp(prefix="bench-cost-"))
    apis = ("v1", "instore") if args.api == "both" else (args.api,)
    windows: dict[str, Window] = {}
    with Processes(log_dir) as processes:
        # Before Django is set up here: this process's environment, the platform's, stays out.
        trees = start_sandbox(processes, sandbox, args.sandbox_workers, cores)
        setup_django(driver)
        trees |= start_platform(processes, platform, cores)
        meters = Meters(trees, cpu_dir)
        pos_id, token = prepare(platform["SITE_URL"])
        load = SplitLoad(
            platform["SITE_URL"],
            pos_id,
            token,
            apis,
            args.max_backlog,
            sandbox_url=sandbox["SITE_URL"],
        )
        done = 0
        try:
            load.run(args.warm_up * len(apis), args.threads)
            done += args.warm_up * len(apis)
            wait_for_processing(done, REDIS_DB, args.timeout)
            print(f"warm-up done; idle for {IDLE_SECONDS} s", flush=True)
            idle = meters.measure(Window(orders=1), lambda: time.sleep(IDLE_SECONDS))
            for api in apis:
                print(f"{api}: creating and paying {args.orders} orders", flush=True)
                load.apis = (api,)

                def work(count=args.orders, expected=done + args.orders) -> None:
                    load.run(count, args.threads)
                    wait_for_processing(expected, REDIS_DB, args.timeout)

                windows[api] = meters.measure(Window(orders=args.orders), work)
                done += args.orders
        finally:
            load.close()
    counts = outcome()
    if args.profile:
        print_profiles(cpu_dir)
    shutil.rmtree(cpu_dir, ignore_errors=True)
    return windows, idle, counts, log_dir


def print_profiles(cpu_dir: Path) -> None:
    """The functions that took the most CPU in the platform's web and Celery processes."""
    import pstats

    for kind in ("web", "celery"):
        files = [str(path) for path in cpu_dir.glob(f"{kind}-*.prof")]
        if not files:
            print(f"no profile of {kind}")
            continue
        stats = pstats.Stats(*files)
        stats.strip_dirs()
        for order in ("tottime", "cumulative"):
            print(f"=== {kind}, by {order}")
            stats.sort_stats(order).print_stats(45)


def report(windows: dict[str, Window], idle: Window, counts: str, args) -> str:
    command = f".venv/bin/python bench/paid_order_cost.py --orders {args.orders} --api {args.api}"
    if args.keep_connections:
        command += " --keep-connections"
    lines = [
        "# Cost of a paid order: the platform's CPU time per order, the sandbox apart",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {versions()}",
        "",
        f"Command: `{command}`{' (`--quick`)' if args.quick else ''}. The platform as production "
        "runs it, each process by its `deploy/` script: `web.sh` (gunicorn, "
        f"`gunicorn.conf.py`: {os.cpu_count()} workers of 8 threads), `worker.sh` (Celery, "
        "prefork, one process per core), `relay.sh` (`NOTIFICATIONS_RELAY=true`), `beat.sh`, "
        "`live.sh` (1 uvicorn worker; no page open); DEBUG off, `LOG_LEVEL=INFO`, PostgreSQL "
        f"database `{DATABASE}`, Redis database {REDIS_DB}, `CONN_MAX_AGE=3600`, the API "
        "throttle and the seller's IPN look-up budget off (one seller at the bench's rate). "
        "The sandbox apart: its own gunicorn "
        f"({args.sandbox_workers} workers), Celery worker (queue `{SANDBOX_QUEUE}`) "
        f"and PostgreSQL database `{SANDBOX_DATABASE}`, reached at `MERCADOPAGO_API_BASE_URL`. "
        f"{args.threads} client threads create orders through `POST /api/v1/orders` (a "
        "partner's token, dynamic QR) and pay each in the sandbox's wallet; a window ends when "
        f"every notification is processed. Warm-up: {args.warm_up} orders per API.",
        "",
        "CPU time (user + system) of each process tree from `/proc` (ended children included), "
        "and of the PostgreSQL backends of each database sampled every second (the bench's own "
        "connections left out): a backend that ends loses what it used since the last sample, "
        "so with backends ending (Celery opens one per task unless `--keep-connections`) the "
        "PostgreSQL lines are lower bounds. Not counted: Redis (shared with other work on this "
        "machine) and the TLS proxy (Caddy; not run on loopback).",
        "",
        "## Per paid order (ms of CPU)",
        "",
        "| | " + " | ".join(API_WORDS[api] for api in windows) + " |",
        "|---|" + "---|" * len(windows),
    ]
    for group in (*PLATFORM, "**platform total**", *SANDBOX, "bench client (not counted)"):
        if group == "**platform total**":
            cells = [f"**{window.platform_ms():.1f}**" for window in windows.values()]
        elif group.startswith("bench client"):
            cells = [f"{w.driver * 1000 / w.orders:.1f}" for w in windows.values()]
        else:
            cells = [f"{window.ms(group):.1f}" for window in windows.values()]
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    lines += [
        "| target (platform) | " + " | ".join(f"≤ {TARGET_MS:.0f}" for _ in windows) + " |",
        "| met | "
        + " | ".join("yes" if w.platform_ms() <= TARGET_MS else "no" for w in windows.values())
        + " |",
        "",
    ]
    for api, window in windows.items():
        lines.append(
            f"- {api}: {window.orders} orders in {window.seconds:.0f} s "
            f"({window.orders / window.seconds:.1f} orders/s), load average "
            f"{window.load_average:.1f} at the end; PostgreSQL backends seen (ended during the "
            "window): platform {}, sandbox {}.".format(
                *(f"{seen} ({ended})" for seen, ended in window.backends.values())
            )
        )
    lines += [
        f"- Idle, for {IDLE_SECONDS} s after the warm-up (ms of CPU per second): "
        + ", ".join(
            f"{group} {idle.cpu[group] * 1000 / IDLE_SECONDS:.1f}"
            for group in (*PLATFORM, *SANDBOX)
        )
        + ".",
        f"- {counts}",
        "",
        "## Where the platform's CPU goes",
        "",
        "Counted inside the processes (`bench/cpu_accounting.py`): the CPU time of the thread "
        "serving each request, by route, and of each Celery task, by name. *other* is the rest "
        "of the process tree's time: gunicorn's parsing, accepting and idle loop, Celery's "
        "consumer and pool, logging outside requests and tasks.",
        "",
    ]
    for api, window in windows.items():
        lines += [
            f"### {API_WORDS[api]}",
            "",
            "| where | calls per order | ms per call | ms per order |",
            "|---|---|---|---|",
        ]
        for group, counted in (("web", window.routes), ("celery", window.tasks)):
            for key, (count, seconds) in sorted(counted.items(), key=lambda item: -item[1][1]):
                lines.append(
                    f"| {group}: `{key}` | {count / window.orders:.2f} | "
                    f"{seconds * 1000 / count:.2f} | {seconds * 1000 / window.orders:.1f} |"
                )
            other = window.cpu[group] - sum(seconds for _count, seconds in counted.values())
            lines.append(f"| {group}: other | | | {other * 1000 / window.orders:.1f} |")
        for group in ("relay", "beat", "live", "postgres"):
            lines.append(f"| {group} | | | {window.ms(group):.1f} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500, help="orders per API")
    parser.add_argument("--api", choices=["v1", "instore", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="60 orders, 10 of warm-up")
    parser.add_argument("--threads", type=int, default=3, help="client threads")
    parser.add_argument("--warm-up", type=int, default=50, help="orders per API")
    parser.add_argument("--sandbox-workers", type=int, default=3)
    parser.add_argument("--max-backlog", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile every request and task (cProfile; slow): prints where the time goes and "
        "writes no report",
    )
    parser.add_argument(
        "--keep-connections",
        action="store_true",
        help="Celery keeps its database connections across tasks (a proposal, measured: "
        "bench/cpu_accounting.py)",
    )
    args = parser.parse_args()
    if args.quick:
        args.orders, args.warm_up = 60, 10
    windows, idle, counts, log_dir = run(args)
    if args.profile:
        return
    text = report(windows, idle, counts, args)
    print(text, end="")
    # A proposal's figures go apart, never over the platform's own.
    write_report(KEEP_CONNECTIONS_REPORT if args.keep_connections else REPORT, text)
    print(f"Server logs in {log_dir}")


if __name__ == "__main__":
    main()
