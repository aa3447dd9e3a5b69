"""From Mercado Pago's webhook to "paid" on the customer display and the cashier's status endpoint
(issue 17: within 1 s p95).

Run: ``.venv/bin/python bench/display_latency.py [--payments 50] [--redis-db 9]`` (PostgreSQL
and Redis on 127.0.0.1; Debian's chromium).

It recreates the PostgreSQL database ``bench_display_latency`` (migrated; a seller connected with
the sandbox's seller token, a store and POS synced, a cashier), then starts, with the production
settings (DEBUG off, ``bench/server_settings.py``), gunicorn on a free loopback port and
``celery -A merchant_platform worker`` on Redis. The sandbox is mounted in the same gunicorn and
reached over HTTP, as Mercado Pago would be; static files are collected first, as a deployment
does (into ``STATIC_ROOT``, ``staticfiles/``, which git ignores).

The POS's display page stays open in headless Chromium the whole run, as on a shop's tablet; a
thread polls the cashier's ``status.json`` of the order in front of the buyer at the cashier
page's interval, signed in as the cashier. For each payment the bench creates a dynamic v1 order
(``orders.services.create_order``), waits until the display shows its QR, and pays it in the
sandbox's wallet. The sandbox sends its signed webhook (through Celery); the platform's webhook
view stores it (``Notification.received_at``, the start of the measure) and queues
``orders.process_notification``, which reads the order from the sandbox and marks it processed
(``Order.closed_at``). The display page notes (``Date.now()``, by a ``MutationObserver``) when
its content turns to "paid" for that order; the poller notes when the endpoint first answers
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
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

from harness import ROOT, write_report
from lists import percentile
from servers import Processes, empty_queues, environment, free_port, recreate_database, setup_django

DATABASE = "bench_display_latency"
REPORT = ROOT / "bench" / "reports" / "display_latency.md"
WARM_UP_PAYMENTS = 3
TARGET_MS = 1000
# Notes, in the display page, when ``state.json`` first answers "paid" for an order (by its uid)
# and when the page's content turns to "paid" (after it fetched the page again).
RECORD_PAID = """
window.paidSeen = {};
window.paidAnswered = {};
const fetchState = window.fetch;
window.fetch = async (...args) => {
  const response = await fetchState(...args);
  if (String(args[0]).endsWith("state.json")) {
    const body = await response.clone().json();
    if (body.state === "paid" && !(body.order.uid in window.paidAnswered)) {
      window.paidAnswered[body.order.uid] = Date.now();
    }
  }
  return response;
};
new MutationObserver(() => {
  const main = document.querySelector("main[data-state=paid]");
  if (main && !(main.dataset.uid in window.paidSeen)) {
    window.paidSeen[main.dataset.uid] = Date.now();
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""


def prepare():
    """A connected seller with a synced POS and a cashier signed in: (tenant, POS, session)."""
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
    return tenant, pos, client.cookies[settings.SESSION_COOKIE_NAME].value


class CashierPoller:
    """A thread that asks the order's ``status.json`` every ``interval`` seconds, as the cashier
    page does, and notes (``time.time()``) when it first answers ``processed``."""

    def __init__(self, base_url: str, session: str, interval: float):
        import httpx
        from django.conf import settings

        self.client = httpx.Client(
            base_url=base_url,
            headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"},
            timeout=30,
        )
        self.interval = interval
        self.uid = ""
        self.seen: dict[str, float] = {}
        self.errors: list[str] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "CashierPoller":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()
        self.client.close()

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            uid = self.uid
            if not uid or uid in self.seen:
                continue
            answer = self.client.get(f"/cashier/orders/{uid}/status.json")
            if answer.status_code != 200:
                self.errors.append(f"{answer.status_code} {answer.text[:200]}")
            elif answer.json()["status"] == "processed":
                self.seen[uid] = time.time()


def pay_one(tenant, pos, number: int, display, poller: CashierPoller, base_url: str) -> dict:
    """Create an order, wait for its QR on the display, pay it; the moments that matter (s)."""
    import httpx

    from orders import services
    from orders.models import Notification, Order
    from orders.validation import ItemInput
    from tenants.scope import tenant_scope

    with tenant_scope(tenant):
        order = services.create_order(
            tenant=tenant,
            pos=pos,
            api="v1",
            mode="dynamic",
            external_reference=f"latency-{number}",
            title="Mesa 4",
            items=[ItemInput(title="Parrillada para dos", unit_price=Decimal("24350.00"))],
        )
    uid = str(order.uid)
    display.locator(f"main[data-uid='{uid}'][data-state=open] #qr svg").wait_for(timeout=30_000)
    poller.uid = uid
    paid_at = time.time()
    answer = httpx.post(f"{base_url}/sandbox/wallet/pay", json={"qr_data": order.qr_data})
    answer.raise_for_status()
    display.locator(f"main[data-uid='{uid}'][data-state=paid]").wait_for(timeout=30_000)
    deadline = time.monotonic() + 30
    while uid not in poller.seen:
        if time.monotonic() > deadline:
            raise SystemExit(f"the cashier's status of {uid} never turned processed")
        time.sleep(0.05)
    with tenant_scope(tenant):
        closed_at = Order.objects.get(pk=order.pk).closed_at
    webhook = Notification.objects.filter(order=order).order_by("received_at").first()
    return {
        "paid": paid_at,
        "webhook": webhook.received_at.timestamp(),
        "processed": closed_at.timestamp(),
        "answered": display.evaluate(f"window.paidAnswered['{uid}']") / 1000,
        "display": display.evaluate(f"window.paidSeen['{uid}']") / 1000,
        "cashier": poller.seen[uid],
    }


def delays_ms(moments: list[dict], since: str, until: str) -> list[float]:
    return [(moment[until] - moment[since]) * 1000 for moment in moments]


def figures(values: list[float]) -> str:
    return f"{percentile(values, 0.5):.0f} | {percentile(values, 0.95):.0f} | {max(values):.0f}"


def report(moments: list[dict], args, display_poll_ms: int) -> str:
    display = delays_ms(moments, "webhook", "display")
    cashier = delays_ms(moments, "webhook", "cashier")
    rows = [
        ("webhook received → display shows paid", display),
        (
            "webhook received → the display's state.json answers paid",
            delays_ms(moments, "webhook", "answered"),
        ),
        ("webhook received → cashier's status.json answers processed", cashier),
        (
            "webhook received → order processed (`closed_at`), the floor",
            delays_ms(moments, "webhook", "processed"),
        ),
        (
            "order processed → display shows paid (what the display's polling adds)",
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
        f"{version('gunicorn')}, Celery {version('celery')}, Playwright {version('playwright')}.",
        "",
        f"Command: `.venv/bin/python bench/display_latency.py --payments {args.payments}`. "
        f"gunicorn with {args.workers} sync workers, `celery -A merchant_platform worker "
        f"--concurrency {args.celery_concurrency}` on Redis database {args.redis_db}, PostgreSQL "
        f"database `{DATABASE}`, the production settings (DEBUG off). The display page polls "
        f"`state.json` every {display_poll_ms} ms while an order is open (headless Chromium); "
        f"the cashier's `status.json` is polled every {display_poll_ms} ms too, as "
        f"the cashier page does. {args.payments} payments after {WARM_UP_PAYMENTS} of warm-up, "
        "one at a time.",
        "",
        "ms | p50 | p95 | max",
        "---|---|---|---",
        *(f"{name} | {figures(values)}" for name, values in rows),
        "",
        f"Target: p95 ≤ {TARGET_MS} ms from the webhook. Display: **{met['display']}** "
        f"(p95 {percentile(display, 0.95):.0f} ms); cashier's status endpoint: "
        f"**{met['cashier']}** (p95 {percentile(cashier, 0.95):.0f} ms).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn's sync workers")
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--redis-db", type=int, default=9, help="Redis database of the queue")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is not installed (apt-get install chromium)")

    port = free_port()
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

    from orders.display import OPEN_POLL_MS
    from tests.browser import CHROMIUM_ARGS

    # Playwright's sync API keeps an event loop in this thread; Django's calls here are synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    moments = []
    with Processes(log_dir) as processes, sync_playwright() as playwright:
        processes.gunicorn(env, workers=args.workers)
        processes.celery_worker(env, concurrency=args.celery_concurrency)
        tenant, pos, session = prepare()
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
        context.add_init_script(RECORD_PAID)
        display = context.new_page()
        display.goto(f"/display/{pos.display_token}/")
        with CashierPoller(base_url, session, OPEN_POLL_MS / 1000) as poller:
            for number in range(WARM_UP_PAYMENTS + args.payments):
                moment = pay_one(tenant, pos, number, display, poller, base_url)
                if number >= WARM_UP_PAYMENTS:
                    moments.append(moment)
                if (number + 1) % 10 == 0:
                    print(f"  {number + 1} payments", flush=True)
        if poller.errors:
            raise SystemExit(f"the cashier's status endpoint failed: {poller.errors[:3]}")
        browser.close()
    empty_queues(args.redis_db)
    text = report(moments, args, OPEN_POLL_MS)
    print(text, end="")
    write_report(REPORT, text)
    print(f"Server logs in {log_dir}")


if __name__ == "__main__":
    main()
