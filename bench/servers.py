"""Helpers of the benchmarks that run the platform as production does: a PostgreSQL database of
their own, gunicorn on a free loopback port, Celery workers on Redis, and process memory.

Every process started here is stopped by :class:`Processes` (a context manager), also on error.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from harness import ROOT

VENV_BIN = Path(sys.executable).parent
POSTGRES = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(*, database: str, redis_db: int, port: int, **extra: str) -> dict[str, str]:
    """The production environment (DEBUG off) of the bench's processes, and of this one.

    ``MERCADOPAGO_API_BASE_URL`` stays empty and ``SANDBOX_ENABLED`` is on, so the platform uses
    the sandbox's identity and webhook secret and reaches the sandbox at ``SITE_URL/sandbox``
    (the same gunicorn, over a real socket; ``bench/server_settings.py`` silences the startup
    errors this brings). TLS is not terminated on loopback, so the HTTPS redirect is off; the
    rest of the hardening stays as in production.
    """
    if database in ("merchant_platform", "postgres"):
        raise SystemExit(f"refusing to use the database {database!r}: it is not the bench's")
    return {
        "DJANGO_SETTINGS_MODULE": "bench.server_settings",
        "PYTHONPATH": str(ROOT),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"{POSTGRES}/{database}",
        "CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": f"{REDIS}/{redis_db}",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "MERCADOPAGO_API_BASE_URL": "",
        "SANDBOX_ENABLED": "true",  # with DEBUG off, only asked for by name
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def recreate_database(name: str) -> None:
    """Drop and create the PostgreSQL database ``name`` (never one the project's runs use)."""
    import psycopg

    if name in ("merchant_platform", "postgres") or not name.startswith("bench_"):
        raise SystemExit(f"refusing to recreate the database {name!r}")
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def setup_django(env: dict[str, str]) -> None:
    """Django in this process, on the bench's database, migrated (checks skipped: with DEBUG off
    they insist on the real Mercado Pago's settings, which the sandbox stands in for)."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0, skip_checks=True)


def redis_client(redis_db: int):
    import redis

    return redis.Redis.from_url(f"{REDIS}/{redis_db}")


def empty_queues(redis_db: int) -> None:
    """Delete Celery's queue and its bookkeeping keys on the bench's Redis database only."""
    client = redis_client(redis_db)
    keys = (
        [key for key in client.keys("*") if key in (b"celery", b"unacked", b"unacked_index")]
        + list(client.keys("_kombu.*"))
        + list(client.keys("celery-task-meta-*"))
    )
    if keys:
        client.delete(*keys)


class Processes:
    """Started processes, each stopped (SIGTERM, then SIGKILL) when the block ends."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[subprocess.Popen] = []
        self.logs: list = []

    def __enter__(self) -> "Processes":
        # ``timeout``, ``kill`` or a CI cancel end this process with SIGTERM: stop ours first.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        return self

    def __exit__(self, *exc) -> None:
        for process in reversed(self.started):
            stop(process)
        for log in self.logs:
            log.close()

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("wb")
        self.logs.append(log)
        process = subprocess.Popen(  # noqa: S603 (our own commands)
            command,
            cwd=ROOT,
            env=os.environ | env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def gunicorn(
        self, env: dict[str, str], *, workers: int, threads: int = 1, name: str = "gunicorn"
    ) -> subprocess.Popen:
        port = urlsplit(env["SITE_URL"]).port
        command = [
            str(VENV_BIN / "gunicorn"),
            "merchant_platform.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            f"--threads={threads}",
            "--backlog=2048",
            "--timeout=120",
        ]
        process = self.start(name, command, env)
        wait_until_listening(env["SITE_URL"], process)
        return process

    def celery_worker(
        self, env: dict[str, str], *, concurrency: int, name: str = "celery"
    ) -> subprocess.Popen:
        command = [
            str(VENV_BIN / "celery"),
            "-A",
            "merchant_platform",
            "worker",
            "-l",
            "warning",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        return self.start(name, command, env)

    def deployed(self, name: str, script: str, env: dict[str, str], *args: str) -> subprocess.Popen:
        """``deploy/<script>`` (with ``args``) as production runs it, on this venv's Python."""
        path = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
        return self.start(
            name, ["bash", str(ROOT / "deploy" / script), *args], env | {"PATH": path}
        )


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def wait_until_listening(site_url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[0]} exited with {process.returncode}; see its log")
        try:
            if httpx.get(f"{site_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{site_url} did not answer within {timeout} s")


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """Stop ``process`` (and the workers it forked: its own session) by its id."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)
    except ProcessLookupError:
        pass


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (gunicorn's or Celery's worker processes)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def memory_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` (now) and ``VmHWM`` (peak resident set) of ``pid``, in KiB."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            figures[name] = int(value.split()[0])
    return figures


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time used so far by ``pids`` (those that still run), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def database_backends(database: str) -> list[int]:
    """Process ids of the PostgreSQL backends serving ``database``, except this process's."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        )
        return [row[0] for row in cursor.fetchall()]


class CpuMeter:
    """CPU time of a changing set of processes, sampled every second by a thread (which takes
    the first sample too, so that ``pids`` is always asked from the same thread): a process that
    ends between two samples loses at most its last second; one that starts counts whole."""

    def __init__(self, pids):
        import threading

        self.pids = pids  # a callable: the process ids to follow now
        self.last: dict[int, float] = {}
        self.total = 0.0
        self.ready = threading.Event()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "CpuMeter":
        self.thread.start()
        self.ready.wait()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()

    def _run(self) -> None:
        from django.db import connection

        try:
            self.sample(baseline=True)
            self.ready.set()
            stopped = False
            while not stopped:
                stopped = self.stopped.wait(1)
                self.sample()  # the last one after the block, before this thread's connection ends
        finally:
            self.ready.set()
            connection.close()  # the sampler's own, if ``pids`` queried the database

    def sample(self, *, baseline: bool = False) -> None:
        for pid in self.pids():
            now = cpu_seconds([pid])
            if not baseline:
                self.total += max(now - self.last.get(pid, 0.0), 0.0)
            self.last[pid] = now


def descendants(pid: int) -> list[int]:
    """The living processes under ``pid``: children (of any of its threads), theirs, and so on."""
    found, waiting = [], [pid]
    while waiting:
        parent = waiting.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                found_here = [int(child) for child in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
            found += found_here
            waiting += found_here
    return found


def tree_cpu_seconds(pid: int) -> float:
    """User and system CPU time of ``pid`` and of every process under it, in seconds, those that
    ended included (a parent's ``cutime``/``cstime`` holds the children it waited for): two
    readings' difference is what the tree used between them, however its workers came and went."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for member in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += sum(int(field) for field in fields[11:15])  # utime, stime, cutime, cstime
    return total / ticks


def database_backends_excluding(database: str, application_name: str) -> list[int]:
    """Process ids of the PostgreSQL backends serving ``database``, except those of connections
    named ``application_name`` (a benchmark's own, so that its queries are not counted)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
            "AND application_name <> %s",
            [database, application_name],
        )
        return [row[0] for row in cursor.fetchall()]


def wait_for_processing(expected: int, redis_db: int, timeout: float) -> float:
    """Wait until ``expected`` orders are processed, no notification waits for processing (nor
    for the relay) and Celery, on ``redis_db``, holds no message; the seconds it took."""
    from orders.models import Notification, Order, Status
    from tenants.scope import cross_tenant_scope

    started = time.monotonic()
    queue = redis_client(redis_db)
    waiting = (Notification.Status.RECEIVED, Notification.Status.QUEUED)
    processed = 0
    while time.monotonic() - started < timeout:
        with cross_tenant_scope():
            processed = Order.objects.filter(status=Status.PROCESSED).count()
        if (
            processed >= expected
            and not Notification.objects.filter(status__in=waiting).exists()
            and queue.llen("celery") == 0
            and queue.hlen("unacked") == 0
        ):
            return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit(f"only {processed} of {expected} orders processed after {timeout:.0f} s")


def versions() -> str:
    """The machine and the versions of what the benchmarks run, as a report's sentence."""
    import platform
    from importlib.metadata import version

    names = ("django", "gunicorn", "celery", "kombu", "psycopg", "httpx", "uvicorn")
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}; Python "
        f"{platform.python_version()}, "
        + ", ".join(f"{name} {version(name)}" for name in names)
        + "."
    )
