"""Liveness and readiness probes for load balancers and orchestrators.

``/readyz`` checks what every request needs: the database, the cache (the API's throttle and
the rate limits), the Celery broker, and that every stored secret decrypts. The
checks run side by side, each in its own thread with its own connections, and the probe answers
within ``READINESS_TIMEOUT`` seconds whatever hangs: a check still running then is ``timeout``.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections, transaction
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from merchant_platform.celery import app as celery_app

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request):
    """The process is alive and serving requests; checks nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    """Every dependency answers: 200, else 503 naming the checks that failed (``error``) or did
    not answer in time (``timeout``), and the encrypted fields that no key decrypts any more."""
    outcomes = run_checks(CHECKS, timeout=settings.READINESS_TIMEOUT)
    checks = {name: state for name, (state, _) in outcomes.items()}
    ready = all(state == "ok" for state in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    if undecryptable := outcomes["secrets"][1]:
        body["undecryptable"] = undecryptable
    return JsonResponse(body, status=200 if ready else 503)


def run_checks(
    checks: dict[str, Callable[[], object]], *, timeout: float
) -> dict[str, tuple[str, object]]:
    """Each check's ``(state, detail)``: ``ok`` when it returned nothing, ``error`` when it raised
    or returned a problem (the ``detail``), ``timeout`` when still running after ``timeout`` s.

    Checks run in daemon threads, which a hung check may outlive; its own timeouts end it."""
    outcomes: dict[str, tuple[str, object]] = {}
    threads = [
        threading.Thread(target=_run, args=(name, check, outcomes), daemon=True)
        for name, check in checks.items()
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    finished = dict(outcomes)
    for name in checks.keys() - finished.keys():
        logger.error("readiness: %s check did not answer within %s s", name, timeout)
    return {name: finished.get(name, ("timeout", None)) for name in checks}


def _run(name: str, check: Callable[[], object], outcomes: dict) -> None:
    try:
        problem = check()
    except Exception:
        logger.exception("readiness: %s check failed", name)
        outcomes[name] = ("error", None)
    else:
        outcomes[name] = ("error", problem) if problem else ("ok", None)
    finally:
        connections.close_all()  # this thread's own


def check_database() -> None:
    """``SELECT 1`` on a new connection; on PostgreSQL under a statement timeout."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return
    timeout_ms = max(1, int(settings.READINESS_TIMEOUT * 1000))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(timeout_ms)])
        cursor.execute("SELECT 1")


def check_cache() -> str | None:
    """A value written to the default cache reads back."""
    key, value = f"readyz:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, timeout=60)
    try:
        return None if cache.get(key) == value else "the cache lost a value just written"
    finally:
        cache.delete(key)


def check_broker() -> None:
    """The broker accepts a connection (none to check when tasks run in-process)."""
    if not settings.CELERY_BROKER_URL:
        return
    with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as broker:
        broker.ensure_connection(
            max_retries=1, interval_start=0, timeout=settings.READINESS_TIMEOUT
        )


def check_secrets() -> dict[str, int]:
    """``app_label.Model.field`` -> how many stored values no configured key decrypts."""
    from tenants.crypto import undecryptable_secrets

    return undecryptable_secrets()


CHECKS: dict[str, Callable[[], object]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "secrets": check_secrets,
}
