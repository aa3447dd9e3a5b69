"""Sandbox calls in-process: through the whole project's WSGI handler against the sandbox alone.

Run: ``.venv/bin/python bench/in_process_transport.py [--rounds N]``. It builds a throw-away
test database and a seller connected to the sandbox with a synced store and POS, then sends the
same Mercado Pago calls through each transport, alternating: the whole project as a WSGI
application (every middleware of the platform: ``in_process_transport`` before) and the sandbox
alone (``sandbox/wsgi.py``: ``in_process_transport`` now). ``GET /users/me`` and a POS search go
through one ``mpapi`` client per transport; ``get_client() + GET /users/me`` gets a new client
for each call, as every service call of the platform does: the project's handler was built again
for each (logging configured again, every middleware loaded), the sandbox's is built once per
process. It prints p50/p95 in milliseconds and the ratios, and writes them to
``bench/reports/in_process_transport.md``.
"""

import argparse
import functools
import logging
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version

from harness import ROOT, in_process_django, write_report

REPORT = ROOT / "bench" / "reports" / "in_process_transport.md"
WARM_UP_ROUNDS = 20
WHOLE = "whole project"
LEAN = "sandbox alone"
LEAN_FACTORY = "merchant_platform.mercadopago.in_process_transport"
NEW_CLIENT = "get_client() + GET /users/me"


def elapsed_ms(work: Callable[[], object]) -> float:
    """How long one ``work()`` takes, in milliseconds."""
    started = time.perf_counter_ns()
    work()
    return (time.perf_counter_ns() - started) / 1e6


def whole_project_transport():
    """The transport of before: the project's WSGI application, built on each call."""
    import httpx
    from django.core.wsgi import get_wsgi_application

    return httpx.WSGITransport(app=get_wsgi_application())


def quiet_httpx() -> None:
    """No log line per sandbox call."""
    logging.getLogger("httpx").setLevel(logging.WARNING)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": statistics.median(ordered), "p95": ordered[int(len(ordered) * 0.95) - 1]}


def measure_calls(rounds: int) -> dict[str, dict[str, dict[str, float]]]:
    """p50/p95 of each call through each transport, alternating: two calls on one client per
    transport, and one call on a new client, as each service call of the platform makes."""
    from django.conf import settings

    from merchant_platform.mercadopago import get_client, get_config, in_process_transport
    from mpapi import ClientConfig, MercadoPagoClient
    from sandbox.seed import seller_access_token
    from tests.factories import make_connected_tenant
    from tests.orders.conftest import synced_pos

    seller = make_connected_tenant("Bench", site="MLA")
    pos = synced_pos(seller)
    token = seller_access_token("MLA")
    base_url = get_config().api_base_url
    transports = {WHOLE: whole_project_transport(), LEAN: in_process_transport()}
    factories = {WHOLE: f"{__name__}.whole_project_transport", LEAN: LEAN_FACTORY}
    clients = {
        name: MercadoPagoClient(ClientConfig(base_url=base_url, transport=transport))
        for name, transport in transports.items()
    }
    quiet_httpx()  # after the project's handler is built: building it configures logging again

    def on_a_new_client(name: str) -> None:
        settings.MERCADOPAGO_HTTP_TRANSPORT = factories[name]
        with get_client() as mp:
            mp.get_me(token)

    calls = {
        "GET /users/me": lambda name: clients[name].get_me(token),
        "GET /pos?external_id=": lambda name: clients[name].search_pos(
            token, external_id=pos.external_id
        ),
        NEW_CLIENT: on_a_new_client,
    }
    samples = {call: {name: [] for name in clients} for call in calls}
    for round_number in range(WARM_UP_ROUNDS + rounds):
        for call, send in calls.items():
            for name in clients:
                milliseconds = elapsed_ms(functools.partial(send, name))
                if round_number >= WARM_UP_ROUNDS:
                    samples[call][name].append(milliseconds)
        quiet_httpx()
    for mp in clients.values():
        mp.close()
    return {
        call: {name: percentiles(values) for name, values in by_transport.items()}
        for call, by_transport in samples.items()
    }


def report(calls: dict, rounds: int) -> str:
    """The figures as a short Markdown report, with the versions they were measured with."""
    from django.conf import settings

    from sandbox.wsgi import MIDDLEWARE

    lines = [
        "# In-process sandbox: the whole project's WSGI handler vs. the sandbox alone",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"Django {version('django')}, httpx {version('httpx')}, "
        f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[1]}; {rounds} rounds, "
        "alternating; milliseconds. The whole project runs "
        f"{len(settings.MIDDLEWARE)} middleware, the sandbox alone {len(MIDDLEWARE)}.",
        "",
        f"| call (mpapi client) | {WHOLE} p50 | p95 | {LEAN} p50 | p95 | p50 ratio |",
        "|---|---|---|---|---|---|",
    ]
    for name, by_transport in calls.items():
        whole, lean = by_transport[WHOLE], by_transport[LEAN]
        lines.append(
            f"| {name} | {whole['p50']:.3f} | {whole['p95']:.3f} | {lean['p50']:.3f} "
            f"| {lean['p95']:.3f} | {whole['p50'] / lean['p50']:.1f}x |"
        )
    lines += [
        "",
        "Inside the test suite (pytest) the gap is wider: docs/performance.md, section",
        '"In-process sandbox", has the tests\' own timings.',
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure in a throw-away test database, print the report and write it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="measured rounds per call")
    rounds = parser.parse_args().rounds

    in_process_django()
    from django.db import connection

    test_database = connection.creation.create_test_db(verbosity=0)
    try:
        calls = measure_calls(rounds)
    finally:
        connection.creation.destroy_test_db(test_database, verbosity=0)

    text = report(calls, rounds)
    print(text, end="")
    write_report(REPORT, text)


if __name__ == "__main__":
    main()
