"""CPU time by web request and by Celery task, counted inside the benchmark's processes.

gunicorn (its configuration ``bench/gunicorn_cpu.py``) counts the CPU time of the thread serving
each request (``time.thread_time``: its parsing before, and the worker's idle loop, are not in
it) by method and path, ids replaced by ``<id>``; Celery (imported through ``CELERY_IMPORTS``,
``bench/split_settings.py``) counts each task's by its name. Each process writes its totals to
``BENCH_CPU_DIR/<kind>-<pid>.json`` every half second and when it ends; :func:`read_totals` adds
up those of one kind. Two ``thread_time`` calls per request or task: about a microsecond.

With ``BENCH_PROFILE`` set, each request and task also runs under ``cProfile`` (thread CPU time
as its clock: slow, for where the time goes, never for totals), and each process dumps its
profile to ``BENCH_CPU_DIR/<kind>-<pid>.prof`` when it ends.

With ``BENCH_KEEP_CONNECTIONS`` set, a Celery worker keeps its database connection across tasks
under Django's own policy (``CONN_MAX_AGE``, health checks: ``close_old_connections`` before each
task) instead of Celery's, which closes it before and after every task: the saving a change of
``merchant_platform/celery.py`` would bring, measured here only.
"""

import cProfile
import json
import os
import pstats
import re
import threading
import time
from pathlib import Path

FLUSH_SECONDS = 0.5
_ID = re.compile(r"/(?:\d+|[0-9a-fA-F-]{8,}|[A-Za-z0-9_-]{20,}|[^/]*\d[^/]*\d[^/]*)(?=/|$)")

_totals: dict[str, list] = {}
_lock = threading.Lock()
_local = threading.local()
_writer = {"pid": 0, "kind": "", "dirty": False}
_profilers: list[cProfile.Profile] = []
PROFILE = bool(os.environ.get("BENCH_PROFILE"))


def route(method: str, path: str) -> str:
    """``POST /api/v1/orders/<id>/cancel``: the request's method and path, ids replaced."""
    return f"{method} {_ID.sub('/<id>', path)}"


def add(kind: str, key: str, seconds: float) -> None:
    """Count one request or task of ``key`` that took ``seconds`` of CPU."""
    with _lock:
        total = _totals.setdefault(key, [0, 0.0])
        total[0] += 1
        total[1] += seconds
        _writer["dirty"] = True
        if _writer["pid"] != os.getpid():  # the first in this process (a forked worker)
            _writer.update(pid=os.getpid(), kind=kind)
            threading.Thread(target=_flush_every, daemon=True).start()


def _flush_every() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        flush()


def flush() -> None:
    """Write this process's totals, if it counted anything since the last write."""
    directory = os.environ.get("BENCH_CPU_DIR")
    with _lock:
        if not directory or not _writer["dirty"] or _writer["pid"] != os.getpid():
            return
        text = json.dumps(_totals)
        _writer["dirty"] = False
    path = Path(directory) / f"{_writer['kind']}-{os.getpid()}.json"
    partial = path.with_suffix(".tmp")
    partial.write_text(text)
    partial.replace(path)


def _start_profile() -> None:
    if PROFILE:
        profiler = getattr(_local, "profiler", None)
        if profiler is None:
            profiler = _local.profiler = cProfile.Profile(time.thread_time)
            with _lock:
                _profilers.append(profiler)
        profiler.enable()


def _stop_profile() -> None:
    if PROFILE and (profiler := getattr(_local, "profiler", None)) is not None:
        profiler.disable()


def dump_profile() -> None:
    """Write this process's profile (with ``BENCH_PROFILE``), if it profiled anything."""
    directory = os.environ.get("BENCH_CPU_DIR")
    if not (PROFILE and directory and _profilers and _writer["pid"] == os.getpid()):
        return
    for profiler in _profilers:
        profiler.create_stats()
    stats = pstats.Stats(*_profilers)
    stats.dump_stats(Path(directory) / f"{_writer['kind']}-{os.getpid()}.prof")


def read_totals(directory: Path, kind: str) -> dict[str, tuple[int, float]]:
    """``{key: (count, CPU seconds)}`` of every process of ``kind`` that wrote to ``directory``."""
    totals: dict[str, tuple[int, float]] = {}
    for path in directory.glob(f"{kind}-*.json"):
        for key, (count, seconds) in json.loads(path.read_text()).items():
            before = totals.get(key, (0, 0.0))
            totals[key] = (before[0] + count, before[1] + seconds)
    return totals


# gunicorn's hooks (bench/gunicorn_cpu.py) ----------------------------------------------------


def request_started(req) -> None:
    _start_profile()
    req.bench_cpu = time.thread_time()


def request_finished(req) -> None:
    if hasattr(req, "bench_cpu"):
        add("web", route(req.method, req.path), time.thread_time() - req.bench_cpu)
        _stop_profile()


# Celery's signals (imported by the workers through CELERY_IMPORTS) ----------------------------

try:
    from celery.signals import task_postrun, task_prerun, worker_process_shutdown
except ImportError:  # gunicorn's processes need no Celery here
    pass
else:

    @task_prerun.connect(weak=False)
    def _task_started(**kwargs) -> None:
        _start_profile()
        _local.started = time.thread_time()

    @task_postrun.connect(weak=False)
    def _task_finished(task=None, **kwargs) -> None:
        started = getattr(_local, "started", None)
        if task is not None and started is not None:
            add("celery", task.name, time.thread_time() - started)
            _local.started = None
            _stop_profile()

    @worker_process_shutdown.connect(weak=False)
    def _flush_at_exit(**kwargs) -> None:
        flush()
        dump_profile()

    if os.environ.get("BENCH_KEEP_CONNECTIONS"):
        import sys

        from django.db import close_old_connections

        from merchant_platform.celery import app

        for _fixup in app._fixups:
            if hasattr(_fixup, "worker_fixup"):  # Django's: closes only every 2 * this many calls
                _fixup.worker_fixup.db_reuse_max = sys.maxsize

        @task_prerun.connect(weak=False)
        def _django_connection_policy(**kwargs) -> None:
            close_old_connections()
