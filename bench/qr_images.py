"""An order's QR image: the first fetch (rendered) against a repeated one (cache) and a 304.

Run: ``.venv/bin/python bench/qr_images.py [--rounds N]``. It builds a throw-away test database,
creates a dynamic order against the in-process sandbox, and fetches its PNG and SVG through the
Django test client (middleware, session, tenant scope and all). Each round empties the image cache,
fetches the image (rendered), fetches it again (served from the cache) and once more with its
ETag (304). It prints the p50 of each and their ratios and writes them to
``bench/reports/qr_images.md``.
"""

import argparse
import functools
import logging
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import version
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.test import Client

from harness import ROOT, in_process_django, write_report

REPORT = ROOT / "bench" / "reports" / "qr_images.md"
WARM_UP_ROUNDS = 5


def elapsed_ms(fetch: Callable[[], object]) -> float:
    """How long one ``fetch()`` takes, in milliseconds."""
    started = time.perf_counter_ns()
    fetch()
    return (time.perf_counter_ns() - started) / 1e6


def measure(client: "Client", url: str, rounds: int) -> dict[str, float]:
    """p50 in milliseconds of the rendered, cached and 304 fetches of ``url``."""
    from pos import qr

    etag = client.get(url)["ETag"]
    samples: dict[str, list[float]] = {"rendered": [], "cached": [], "304": []}
    for round_number in range(WARM_UP_ROUNDS + rounds):
        qr.render.cache_clear()
        timings = {
            "rendered": elapsed_ms(lambda: client.get(url)),
            "cached": elapsed_ms(lambda: client.get(url)),
            "304": elapsed_ms(lambda: client.get(url, headers={"if-none-match": etag})),
        }
        if round_number >= WARM_UP_ROUNDS:
            for kind, milliseconds in timings.items():
                samples[kind].append(milliseconds)
    info = qr.render.cache_info()
    assert (info.misses, info.hits) == (1, 1), info  # the last round: one render, one cache hit
    return {kind: statistics.median(values) for kind, values in samples.items()}


def measure_render(payload: str, rounds: int) -> dict[str, dict[str, float]]:
    """p50 in milliseconds of ``pos.qr.render`` drawing an image and answering from its cache:
    the cache alone, without the request around it."""
    from pos import qr

    figures = {}
    for image_format in (qr.PNG, qr.SVG):
        samples: dict[str, list[float]] = {"rendered": [], "cached": []}
        for round_number in range(WARM_UP_ROUNDS + rounds):
            qr.render.cache_clear()
            draw = functools.partial(qr.render, payload, image_format, qr.ImageOptions())
            timings = {"rendered": elapsed_ms(draw), "cached": elapsed_ms(draw)}
            if round_number >= WARM_UP_ROUNDS:
                for kind, milliseconds in timings.items():
                    samples[kind].append(milliseconds)
        figures[image_format.name] = {k: statistics.median(v) for k, v in samples.items()}
    return figures


def run(rounds: int) -> tuple[dict[str, dict[str, float]], int]:
    """The figures per image format, and the length of the order's ``qr_data``."""
    from django.test import Client
    from django.urls import reverse

    from orders import services
    from orders.validation import ItemInput
    from tests.factories import make_connected_tenant, make_member
    from tests.orders.conftest import synced_pos

    seller = make_connected_tenant("Bench", site="MLA")
    order = services.create_order(
        tenant=seller,
        pos=synced_pos(seller),
        api="v1",
        mode="dynamic",
        external_reference="bench-qr",
        title="Mesa 4",
        items=[ItemInput("Bife de chorizo", Decimal("60.00"))],
    )
    client = Client()
    client.force_login(make_member(seller, "cashier"))
    figures = {
        name: measure(client, reverse(f"orders:qr-{name}", args=[order.pk]), rounds)
        for name in ("png", "svg")
    }
    for name, layer in measure_render(order.qr_data, rounds).items():
        figures[f"{name}, image cache only"] = layer | {"304": float("nan")}
    return figures, len(order.qr_data)


def report(figures: dict[str, dict[str, float]], rounds: int, payload_length: int) -> str:
    """The figures as a short Markdown report, with the versions they were measured with."""
    lines = [
        "# QR images: rendered vs. cached fetch of an order's QR",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"Django {version('django')}, qrcode {version('qrcode')}, Pillow {version('pillow')}; "
        f"{rounds} rounds, qr_data of {payload_length} characters, default options, "
        "through Django's test client. p50 in milliseconds.",
        "",
        "| format | rendered | cached | 304 | rendered / cached | rendered / 304 |",
        "|---|---|---|---|---|---|",
    ]
    for name, p50 in figures.items():
        not_modified = "—" if p50["304"] != p50["304"] else f"{p50['304']:.2f}"
        not_modified_ratio = (
            "—" if p50["304"] != p50["304"] else f"{p50['rendered'] / p50['304']:.1f}x"
        )
        lines.append(
            f"| {name} | {p50['rendered']:.3f} | {p50['cached']:.3f} | {not_modified} "
            f"| {p50['rendered'] / p50['cached']:.1f}x | {not_modified_ratio} |"
        )
    lines += [
        "",
        "The *image cache only* rows time `pos.qr.render` itself: a drawing against a hit of its",
        "cache. The other rows are whole requests of a signed-in cashier, where the session, user,",
        "seller and order lookups (four queries) cost about as much as a cached answer: they bound",
        "the ratio of a fetch, whatever the cache does.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure in a throw-away test database, print the report and write it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="measured rounds per format")
    rounds = parser.parse_args().rounds

    in_process_django()
    from django.db import connection

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per sandbox call otherwise
    test_database = connection.creation.create_test_db(verbosity=0)
    try:
        figures, payload_length = run(rounds)
    finally:
        connection.creation.destroy_test_db(test_database, verbosity=0)

    text = report(figures, rounds, payload_length)
    print(text, end="")
    write_report(REPORT, text)


if __name__ == "__main__":
    main()
