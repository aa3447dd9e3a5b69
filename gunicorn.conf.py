"""gunicorn's configuration: ``gunicorn -c gunicorn.conf.py merchant_platform.wsgi:application``.

Every value can be changed in the environment; docs/deploy.md explains each ("gunicorn", and
"Graceful restarts").

Worker class: threads (``gthread``, as ``merchant_platform.server.JSONThreadWorker``). A request
spends most of its time waiting for Mercado Pago or the database, which threads share; and a
gthread worker's heartbeat comes from its main loop, not from the request, so a slow request is
never mistaken for a hung worker. ``timeout`` kills a worker whose process is stuck; what bounds a
request is MERCADOPAGO_REQUEST_BUDGET (all its Mercado Pago calls together); ``on_starting``
refuses a ``timeout`` that does not exceed the longest request (and warns of such a
``graceful_timeout``).
"""

import os
from pathlib import Path


def _number(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = _number("WEB_CONCURRENCY", 2)
worker_class = "merchant_platform.server.JSONThreadWorker"
threads = _number("GUNICORN_THREADS", 8)
timeout = _number("GUNICORN_TIMEOUT", 90)
# A stopping worker (SIGTERM, SIGHUP's old workers, max_requests) finishes its requests within this.
graceful_timeout = _number("GUNICORN_GRACEFUL_TIMEOUT", 60)
keepalive = _number("GUNICORN_KEEPALIVE", 5)  # more than the proxy's idle timeout is useless
# A worker is replaced after so many requests (and a random 0..jitter more, so not all at once).
max_requests = _number("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _number("GUNICORN_MAX_REQUESTS_JITTER", 200)
# Addresses whose X-Forwarded-Proto gunicorn believes: the TLS proxy's. With TRUSTED_PROXY_COUNT
# 0 (no proxy) nobody's; otherwise this host's, or FORWARDED_ALLOW_IPS (the proxy's address or
# network, e.g. compose's).
_behind_proxy = _number("TRUSTED_PROXY_COUNT", 0) > 0
forwarded_allow_ips = os.environ.get(
    "FORWARDED_ALLOW_IPS", "127.0.0.1,::1" if _behind_proxy else ""
)
preload_app = False  # each worker imports the code: SIGHUP then serves a new release
# The workers' heartbeat files, on memory rather than on a container's overlay disk.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
logger_class = "merchant_platform.server.JSONLogger"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None  # empty: no access lines
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def on_starting(server) -> None:
    """Refuse a timeout that would abort requests within their Mercado Pago budget (a graceful
    timeout that short is only warned about: tests stop their servers quickly)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchant_platform.settings")
    from django.conf import settings

    from merchant_platform.server import check_timeouts

    for warning in check_timeouts(
        timeout=server.cfg.timeout,
        graceful_timeout=server.cfg.graceful_timeout,
        budget=settings.MERCADOPAGO_REQUEST_BUDGET,
    ):
        server.log.warning(warning)


def worker_abort(worker) -> None:
    """An aborted worker's requests give up their Idempotency-Keys: a retry need not wait."""
    from partners.idempotency import release_running

    released = release_running()
    worker.log.warning("Worker aborted: released %d idempotency key(s)", released)


def child_exit(server, worker) -> None:
    """A dead worker's live gauges leave the metrics (merchant_platform/metrics.py); its
    counters stay, so that totals never go down."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
