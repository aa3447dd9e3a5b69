"""From Mercado Pago's webhook to "paid" on the customer display and the cashier page (issues 17
and 21: within 1 s p95), pushed by the live server (``orders.live``).

Run: ``.venv/bin/python bench/display_latency.py [--payments 50] [--redis-db 9]`` (PostgreSQL
and Redis on 127.0.0.1; Debian's chromium).

It recreates the PostgreSQL database ``bench_display_latency`` (migrated; a seller connected with
the sandbox's seller token, a store and POS synced, a cashier), then starts, with the production
settings (DEBUG off, ``bench/server_settings.py``), gunicorn on a free loopback port and
``celery -A merchant_platform worker`` on Redis, and the live server as ``deploy/live.sh`` runs
it (uvicorn, 2 workers). The sandbox is mounted in the same gunicorn and reached over HTTP, as
Mercado Pago would be; static files are collected first, as a deployment does (into
``STATIC_ROOT``, ``staticfiles/``, which git ignores).

The POS's display page stays open in headless Chromium the whole run, as on a shop's tablet, loaded
from the live server (which serves the whole application: the page's stream is then on its own
origin, as the proxy's path split makes it in production); its script listens to the display's
stream. For each order a thread opens the order's cashier stream, signed in as the cashier, as the
cashier page does (``bench/live_status.py``'s reader). For each payment the bench creates a dynamic
v1 order (``orders.services.create_order``), waits until the display shows its QR, and pays it in
the sandbox's wallet. The sandbox sends its signed webhook (through Celery); the platform's webhook
view stores it (``Notification.received_at``, the start of the measure) and queues
``orders.process_notification``, which reads the order from the sandbox and marks it processed
(``Order.closed_at``); its transition publishes, after the commit, to the live server. The display
page notes (``Date.now()``) when its stream brings "paid" and, by a ``MutationObserver``, when its
content turns to "paid" for that order; the cashier's stream reader notes when it reads
``processed``. Every clock is this machine's.

It prints p50, p95 and max of each delay and writes ``bench/reports/display_latency.md``,
keeping what follows the report's ``<!-- notes -->`` line.
"""

import argparse
import os
import platform
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from harness import ROOT, write_report
from lists import percentile
from live_status import (
    Streams,
    delays_ms,
    figures,
    new_order,
    pay,
    platform_moments,
    start_live_server,
)
from servers import Processes, empty_queues, environment, free_port, recreate_database, setup_django

DATABASE = "bench_display_latency"
REPORT = ROOT / "bench" / "reports" / "display_latency.md"
WARM_UP_PAYMENTS = 3
TARGET_MS = 1000
# Notes, in the display page, when its stream first brings "paid" for an order (by its uid) and
# when the page's content turns to "paid" (after it fetched the screen again).
RECORD_PAID = """
window.paidSeen = {};
window.paidAnswered = {};
const PageEventSource = window.EventSource;
window.EventSource = function (...args) {
  const source = new PageEventSource(...args);
  source.addEventListener("message", (event) => {
    const body = JSON.parse(event.data);
    if (body.state === "paid" && !(body.order.uid in window.paidAnswered)) {
      window.paidAnswered[body.order.uid] = Date.now();
    }
  });
  return source;
};
window.EventSource.CLOSED = PageEventSource.CLOSED;
new MutationObserver(() => {
  const main = document.querySelector("main[data-state=paid]");
  if (main && !(main.dataset.uid in window.paidSeen)) {
    window.paidSeen[main.dataset.uid] = Date.now();
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""


def prepare():
    """A connected seller with a synced POS and a cashier signed in: (tenant, POS, the session's
    cookie)."""
    from django.conf import settings
    from django.test import Client

    from sandbox.seed import seller_access_token
    from tenants import services
    from tests.factories import make_member
    from tests.orders.conftest import synced_pos

    tenant = services.create_tenant(name="Parrilla del Puerto", site="MLA")
    services.connect_with_access_token(tenant=tenant, access_token=seller_access_token("MLA"))
    tenant.refresh_from_db()
    pos = synced_pos(tenant, external_id="DISPLAY1")
    client = Client()
    client.force_login(make_member(tenant, "cashier", "bench-cashier"))
    return (
        tenant,
        pos,
        f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}",
    )


def pay_one(tenant, pos, number: int, display, cashier: Streams, base_url: str) -> dict:
    """Create an order, wait for its QR on the display, pay it; the moments that matter (s)."""
    order = new_order(tenant, pos, f"latency-{number}")
    uid = str(order.uid)
    display.locator(f"main[data-uid='{uid}'][data-state=open] #qr svg").wait_for(timeout=30_000)
    cashier.open([(uid, f"/cashier/orders/{uid}/events")])
    paid_at = pay(base_url, order)
    display.locator(f"main[data-uid='{uid}'][data-state=paid]").wait_for(timeout=30_000)
    told = cashier.wait_for(uid, lambda event: event["status"] == "processed")
    return {
        "paid": paid_at,
        **platform_moments(tenant, order),
        "answered": display.evaluate(f"window.paidAnswered['{uid}']") / 1000,
        "display": display.evaluate(f"window.paidSeen['{uid}']") / 1000,
        "cashier": told,
    }


def report(moments: list[dict], args) -> str:
    display = delays_ms(moments, "webhook", "display")
    cashier = delays_ms(moments, "webhook", "cashier")
    rows = [
        ("webhook received → display shows paid", display),
        (
            "webhook received → the display's stream brings paid",
            delays_ms(moments, "webhook", "answered"),
        ),
        ("webhook received → the cashier's stream reads processed", cashier),
        (
            "webhook received → order processed (`closed_at`), the floor",
            delays_ms(moments, "webhook", "processed"),
        ),
        (
            "order processed → display shows paid (what the push and the swap add)",
            delays_ms(moments, "processed", "display"),
        ),
        (
            "wallet payment → webhook received (the sandbox's delivery)",
            delays_ms(moments, "paid", "webhook"),
        ),
    ]
    met = {
        name: "yes" if percentile(values, 0.95) <= TARGET_MS else "no"
        for name, values in (("display", display), ("cashier", cashier))
    }
    lines = [
        '# Display latency: Mercado Pago\'s webhook to "paid" on the display and the cashier',
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Linux {platform.release()}, load average {os.getloadavg()[0]:.1f}; Python "
        f"{platform.python_version()}, Django {version('django')}, gunicorn "
        f"{version('gunicorn')}, uvicorn {version('uvicorn')}, Celery {version('celery')}, "
        f"Playwright {version('playwright')}.",
        "",
        f"Command: `.venv/bin/python bench/display_latency.py --payments {args.payments}`. "
        f"gunicorn with {args.workers} sync workers, `celery -A merchant_platform worker "
        f"--concurrency {args.celery_concurrency}` on Redis database {args.redis_db}, PostgreSQL "
        f"database `{DATABASE}`, the production settings (DEBUG off); the live server as "
        f"`deploy/live.sh` runs it (uvicorn, {args.live_workers} workers). The display page, in "
        "headless Chromium, listens to its stream; the cashier's stream of each order is read "
        f"as the cashier page's. {args.payments} payments after {WARM_UP_PAYMENTS} of warm-up, "
        "one at a time.",
        "",
        "ms | p50 | p95 | max",
        "---|---|---|---",
        *(f"{name} | {figures(values)}" for name, values in rows),
        "",
        f"Target: p95 ≤ {TARGET_MS} ms from the webhook. Display: **{met['display']}** "
        f"(p95 {percentile(display, 0.95):.0f} ms); cashier's stream: "
        f"**{met['cashier']}** (p95 {percentile(cashier, 0.95):.0f} ms).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn's sync workers")
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--live-workers", type=int, default=2, help="uvicorn's processes")
    parser.add_argument("--redis-db", type=int, default=9, help="Redis database of the queue")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is not installed (apt-get install chromium)")

    port, live_port = free_port(), free_port()
    env = environment(database=DATABASE, redis_db=args.redis_db, port=port)
    recreate_database(DATABASE)
    setup_django(env)
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)  # the pages' JS, as deployed
    empty_queues(args.redis_db)
    base_url = env["SITE_URL"]
    log_dir = Path(tempfile.mkdtemp(prefix="bench-display-"))
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS

    # Playwright's sync API keeps an event loop in this thread; Django's calls here are synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    moments = []
    with Processes(log_dir) as processes, sync_playwright() as playwright:
        processes.gunicorn(env, workers=args.workers)
        processes.celery_worker(env, concurrency=args.celery_concurrency)
        start_live_server(processes, env, live_port, args.live_workers)
        live_url = f"http://127.0.0.1:{live_port}"
        tenant, pos, session = prepare()
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_url, viewport={"width": 1280, "height": 800})
        context.add_init_script(RECORD_PAID)
        display = context.new_page()
        display.goto(f"/display/{pos.display_token}/")
        cashier = Streams(live_url, session)
        try:
            for number in range(WARM_UP_PAYMENTS + args.payments):
                moment = pay_one(tenant, pos, number, display, cashier, base_url)
                if number >= WARM_UP_PAYMENTS:
                    moments.append(moment)
                if (number + 1) % 10 == 0:
                    print(f"  {number + 1} payments", flush=True)
        finally:
            cashier.close()
        if cashier.failures:
            raise SystemExit(f"the cashier's stream failed: {cashier.failures[:3]}")
        browser.close()
    empty_queues(args.redis_db)
    text = report(moments, args)
    print(text, end="")
    write_report(REPORT, text)
    print(f"Server logs in {log_dir}")


if __name__ == "__main__":
    main()
