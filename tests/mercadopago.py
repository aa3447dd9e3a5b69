"""Watching the sandbox requests the platform makes in tests (in-process, through
``merchant_platform.mercadopago.in_process_transport``)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.signals import request_started
from django.db import connection


@contextmanager
def sandbox_requests(look: Callable[[dict], None], *prefixes: str) -> Iterator[None]:
    """Call ``look(environ)`` as each request to a sandbox path starting with one of
    ``prefixes`` (``/sandbox/v1/orders``...) arrives, before its view runs."""

    def started(environ, **_):
        if environ["PATH_INFO"].startswith(prefixes):
            look(environ)

    request_started.connect(started, weak=False)
    try:
        yield
    finally:
        request_started.disconnect(started)


@contextmanager
def transactions_seen_by_the_sandbox(*prefixes: str) -> Iterator[list[bool]]:
    """Whether the caller had a transaction open as each matching sandbox request arrived.

    In-process, the sandbox runs on the caller's thread and database connection, so an open
    transaction of the caller shows there (use it in tests without a wrapping transaction).
    """
    seen: list[bool] = []
    with sandbox_requests(lambda environ: seen.append(connection.in_atomic_block), *prefixes):
        yield seen
