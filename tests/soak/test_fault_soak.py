"""Fault soak (issue 8): a thousand orders through both Mercado Pago APIs while the sandbox
misbehaves, and a Celery worker killed in the middle of a task. docs/reliability.md has the
figures of a run and what the soak leaves out.

The platform runs as it does in production, in processes of its own: gunicorn serves the platform
and the sandbox (Mercado Pago), the notification relay publishes the tasks of the notifications
the web stores (``NOTIFICATIONS_RELAY`` on), Celery workers (prefork) run the tasks, on this
test's database and on a broker queue of this run's own. The test process plays the partner
apps (the REST API over HTTP, with ``Idempotency-Key``), the cashiers (``orders.services``) and
the buyers (the sandbox's wallet), one lane per POS, and checks the end state in the database.

The sandbox answers 20 % of the API requests with a 5xx and lets 10 % run but withholds the
answer until the platform gives up (a real socket timeout), and drops, duplicates, reorders and
delays its webhooks and IPN. At the end, after reconciliation: no order is duplicated in the
sandbox (but for copies, never paid, made by requests the platform gave up on: see
``late_copies``), none that a partner or cashier saw accepted is lost, every local order equals
the sandbox's (status, amounts, marketplace fee, payments), and no token or secret is in any log
line of any process.

Both tests need a broker that processes share: ``CELERY_BROKER_URL=redis://…`` (CI sets it);
they are skipped without one. ``SOAK_ORDERS`` sets the number of orders (1,000 by default).
"""

import io
import json
import logging
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.utils import timezone

from merchant_platform.celery import app as celery_app
from merchant_platform.logging import OneLineJSONFormatter
from merchant_platform.mercadopago import get_config
from orders import services, tasks
from orders.errors import MercadoPagoUnavailable, NotAllowed
from orders.models import Api, MercadoPagoCall, Mode, Notification, Order, Status
from orders.validation import ItemInput
from partners import scopes
from partners import webhooks as partner_webhooks
from partners.models import EventType as PartnerEvent
from partners.models import WebhookDelivery
from partners.services import install_application
from pos import services as pos_services
from sandbox import models as mercadopago
from sandbox.faults import request_fate
from sandbox.lifecycle import expire_due
from tenants.models import MercadoPagoCredential, Tenant
from tenants.scope import cross_tenant_scope, tenant_scope
from tenants.services import seller_access_token
from tests.factories import make_connected_tenant, make_oauth_tenant
from tests.faults import set_faults
from tests.sandbox.api_helpers import COORDINATES

pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ORDERS = int(os.environ.get("SOAK_ORDERS", "1000"))
SEED = 8
WEB_PROCESSES, WEB_THREADS = 2, 32
# Celery workers of the soak: most of a task's time is spent waiting for Mercado Pago (and for
# the timeouts the sandbox injects), so threads; the killed worker is prefork, the default.
WORKERS = 2
# How many POS per seller (one lane each) and worker threads. SQLite has one writer at a time:
# more of them make requests wait for its lock past the platform's timeout.
CONCURRENCY = {"postgresql": (6, 8), "sqlite": (4, 4)}
POS_PER_SELLER, WORKER_THREADS = CONCURRENCY[connection.vendor]
# The platform gives up on an answer after CLIENT_TIMEOUT s; the sandbox withholds a timed-out
# answer longer, so every injected timeout is one that the platform sees. The margin above the
# slowest real answer keeps timeouts that nobody injected rare.
CLIENT_TIMEOUT = 1.5
TIMEOUT_FAULT = Decimal("2")
FAULTS = {
    "seed": SEED,
    "path_regex": "",  # every API path (the control pages, OAuth page and wallet never)
    "error_rate": "0.2",
    "error_statuses": [500, 502, 503, 504],
    "timeout_rate": "0.1",
    "timeout_seconds": str(TIMEOUT_FAULT),
    "webhook_drop_rate": "0.1",
    "webhook_duplicate_rate": "0.15",
    "webhook_reorder_rate": "0.15",
    "webhook_delay_rate": "0.05",
    "webhook_delay_seconds": 30,
}
PAY_SHARE, CANCEL_SHARE = 0.8, 0.1  # the rest is left waiting for the buyer
LOST_ANSWER_SHARE = 0.05  # partner creates whose answer never reaches the partner
ATTEMPTS = 4  # of a partner or cashier, for one request
ORDERS_PATH = "/api/v1/orders"
# Why an order that was accepted may fail later (docs/orders.md): a legacy dynamic QR resent in
# the background that got no answer, an order whose expiry passed before Mercado Pago took it,
# or one for a POS's printed QR that a newer order took first.
UNSEEN_ERRORS = ("mercadopago_no_answer", "expired_before_accepted", "replaced_before_accepted")


# The platform's processes ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Processes:
    """gunicorn and Celery workers on this test's database and queue; their output in files."""

    url: str
    queue: str
    env: dict[str, str]
    logs: Path
    broker: object  # a redis.Redis on the broker's database
    prefix: str = ""  # of the run's broker keys (``broker_prefix``)
    running: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, command: list[str], **env: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 (the project's own commands)
            command,
            cwd=ROOT,
            env=self.env | env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill reaches its children
        )
        self.running[name] = process
        return process

    def start_web(self) -> None:
        port = int(self.url.rsplit(":", 1)[1])
        self.start(
            "web",
            [
                str(BIN / "gunicorn"),
                "merchant_platform.wsgi:application",
                *("--bind", f"127.0.0.1:{port}", "--workers", str(WEB_PROCESSES)),
                *("--worker-class", "gthread", "--threads", str(WEB_THREADS)),
                *("--timeout", "120", "--graceful-timeout", "3", "--keep-alive", "30"),
                # gunicorn.conf.py recycles workers after max_requests; with a 3 s graceful
                # timeout that would cut requests the sandbox holds up: not a fault under test.
                *("--max-requests", "0"),
            ],
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/sandbox/_control/faults", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not start: {self.output('web')[-2000:]}")

    def start_worker(
        self, name: str, pool: str = "prefork", concurrency: int = 1, **env: str
    ) -> None:
        self.start(
            name,
            [
                *(str(BIN / "celery"), "-A", "merchant_platform", "worker", "--pool", pool),
                *("--concurrency", str(concurrency), "--queues", self.queue, "--hostname", name),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            **env,
        )

    def kill(self, name: str) -> None:
        """SIGKILL the process and its children, as when its machine dies."""
        process = self.running.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop(self, name: str) -> None:
        process = self.running.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # a warm shutdown: running tasks finish
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)

    def outstanding(self) -> int:
        """Messages of this run's queue that wait in the broker or are held by a worker (not
        yet acknowledged: every task acknowledges once it has run, ``acks_late``), and
        notifications the relay has not published yet."""
        queued = sum(
            self.broker.llen(name)
            for name in self.broker.scan_iter(f"{self.prefix}{self.queue}*")
            if self.broker.type(name) == b"list"
        )
        unrelayed = Notification.objects.filter(status=Notification.Status.RECEIVED).count()
        return queued + self.broker.hlen(f"{self.prefix}unacked") + unrelayed

    def wait_idle(self, timeout: float = 300) -> None:
        """Return once no task waits or runs, and none has for a second."""
        deadline, quiet = time.monotonic() + timeout, 0
        while quiet < 5:
            if time.monotonic() > deadline:
                raise AssertionError(f"the workers are still busy after {timeout} s")
            if any(process.poll() is not None for process in self.running.values()):
                raise AssertionError(f"a process ended: {self.output()[-3000:]}")
            time.sleep(0.2)
            quiet = quiet + 1 if not self.outstanding() else 0

    def wait_for(self, condition: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"still not true after {timeout} s: {condition.__doc__}")
            time.sleep(0.1)

    def output(self, name: str = "") -> str:
        files = [self.logs / f"{name}.log"] if name else sorted(self.logs.glob("*.log"))
        return "\n".join(path.read_text(errors="replace") for path in files if path.exists())


def broker_prefix(queue: str) -> str:
    """The prefix of every broker key of the run whose queue is ``queue``.

    Kombu keeps the messages that workers hold (``unacked``) in one hash per Redis database, and
    a worker with a short visibility timeout hands every one older than it out again, whoever
    holds it. Each run has keys of its own, so that runs of parallel test processes (or a worker
    left behind by an interrupted run) cannot take each other's messages.
    """
    return f"{queue}:"


def forget_broker_connections() -> None:
    """This process's producers take the connections of the broker options now configured
    (kombu keeps a pool per set of options: each set's stays open for its next use)."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def processes(transactional_db, settings, request) -> Iterator[Processes]:
    broker_url = settings.CELERY_BROKER_URL
    if not broker_url.startswith(("redis://", "rediss://")):
        pytest.skip(
            "the soak runs the platform in processes of its own, which share a broker: set "
            "CELERY_BROKER_URL=redis://… (CI does)"
        )
    import redis

    queue = f"soak-{uuid.uuid4().hex[:8]}"
    url = f"http://127.0.0.1:{free_port()}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")} | {
        "DJANGO_SETTINGS_MODULE": "tests.soak.process_settings",
        "SOAK_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        "SOAK_SITE_URL": url,
        "SOAK_CLIENT_TIMEOUT": str(CLIENT_TIMEOUT),
        "SOAK_QUEUE": queue,
        "CELERY_BROKER_URL": broker_url,
        "SOAK_BROKER_PREFIX": broker_prefix(queue),
        "NOTIFICATIONS_RELAY": "true",  # the web only stores; the relay process publishes
        "LOG_LEVEL": "DEBUG",  # every logger of every process: the secrets check reads them all
        "PYTHONUNBUFFERED": "1",
    }
    logs = Path(os.environ.get("SOAK_LOGS", Path(tempfile.gettempdir()) / "soak-logs"))
    logs /= request.node.name  # the last run's, kept for a look after a failure
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    running = Processes(
        url, queue, env, logs, redis.Redis.from_url(broker_url), broker_prefix(queue)
    )
    # This process (partners' cashiers, reconciliation) calls the same server and queue.
    settings.SITE_URL = url
    settings.MERCADOPAGO_HTTP_TRANSPORT = ""
    settings.MERCADOPAGO_TIMEOUT = CLIENT_TIMEOUT
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.task_default_queue, conf.broker_transport_options
    conf.task_always_eager, conf.task_default_queue = False, queue
    conf.broker_transport_options = saved[2] | {"global_keyprefix": broker_prefix(queue)}
    forget_broker_connections()
    try:
        running.start_web()
        running.start("relay", [str(BIN / "python"), "manage.py", "run_notification_relay"])
        yield running
    finally:
        running.stop_all()
        conf.task_always_eager, conf.task_default_queue, conf.broker_transport_options = saved
        forget_broker_connections()
        # The routing tables the app cached on first use would keep this run's queue for later
        # tests (their worker would consume a queue nobody sends to).
        for cached in ("queues", "default_queue", "router"):
            celery_app.amqp.__dict__.pop(cached, None)
        stale = list(running.broker.scan_iter(f"{broker_prefix(queue)}*"))
        if stale:
            running.broker.delete(*stale)
        connection.close()


# Sellers, their POS and partner apps ------------------------------------------------------------


@dataclass
class Seller:
    tenant: Tenant
    points_of_sale: list
    partner_token: str
    partner_secret: str
    webhook_secret: str


def equip(tenant: Tenant, partner_webhooks_url: str) -> Seller:
    """A store and POS synced to the sandbox, a partner app with a token, and its webhooks."""
    latitude, longitude = COORDINATES[tenant.site]
    with tenant_scope(tenant):
        store = pos_services.create_store(
            tenant=tenant,
            name="Centro",
            external_id=f"SOAK{tenant.site}",
            street_name="Av. Central",
            street_number="100",
            city="Capital",
            state="Capital",
            latitude=Decimal(str(latitude)),
            longitude=Decimal(str(longitude)),
        )
        points_of_sale = [
            pos_services.create_pos(
                tenant=tenant, store=store, name=f"Caja {n}", external_id=f"{tenant.site}CAJA{n}"
            )
            for n in range(1, POS_PER_SELLER + 1)
        ]
    requested = frozenset(scopes.SCOPES)
    application, secret = install_application(
        tenant=tenant, name=f"POS software of {tenant.slug}", requested=requested, user=None
    )
    answer = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": " ".join(sorted(requested))},
        headers={"Authorization": "Basic " + basic(application.client_id, secret)},
    )
    assert answer.status_code == 200, answer.content
    endpoint = partner_webhooks.subscribe(
        tenant=tenant,
        url=f"{partner_webhooks_url}/partner/{tenant.slug}",
        events=[PartnerEvent.ORDER_PROCESSED, PartnerEvent.ORDER_CANCELED],
        application=application,
    )
    return Seller(tenant, points_of_sale, answer.json()["access_token"], secret, endpoint.secret)


def basic(user: str, password: str) -> str:
    import base64

    return base64.b64encode(f"{user}:{password}".encode()).decode()


def sellers_of_the_soak(processes: Processes, partner_webhooks_url: str) -> list[Seller]:
    """Argentina with its own token; Brazil through OAuth, with a marketplace fee of 2.5 %."""
    point_webhooks_at(processes.url)
    argentina = make_connected_tenant("Parrilla Soak", site="MLA")
    brazil = make_oauth_tenant("Padaria Soak", site="MLB")
    Tenant.objects.filter(pk=brazil.pk).update(fee_percent=Decimal("2.5"))
    brazil.refresh_from_db()
    return [equip(argentina, partner_webhooks_url), equip(brazil, partner_webhooks_url)]


def point_webhooks_at(url: str) -> None:
    """The sandbox's application notifies the platform's server."""
    answer = Client().put(
        "/sandbox/_control/application",
        {"webhook_url": f"{url}/webhooks/mercadopago/"},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content


# Sales: what each partner, cashier and buyer does, and what each saw ------------------------


@dataclass
class Sale:
    number: int
    seller: Seller
    pos: object
    api: str
    mode: str
    via: str  # "partner" (the REST API) or "cashier" (orders.services)
    fate: str  # "pay", "cancel" or "leave"
    items: list[tuple[str, Decimal, int]]
    loses_answer: bool
    reference: str = ""
    uid: str = ""
    seen_status: str = ""  # what the create answered
    qr_data: str = ""
    requests: int = 0  # creates sent, retries included
    replays: int = 0  # answers marked Idempotent-Replayed
    given_up: list[str] = field(default_factory=list)  # references not taken, left for new ones
    refused: str = ""  # why no order was made for this sale at all
    done: str = ""  # paid, canceled, left, not payable, not cancelable; "" until it is acted on

    @property
    def tenant(self) -> Tenant:
        return self.seller.tenant


def plan(sellers: list[Seller], count: int) -> list[Sale]:
    """``count`` sales over both sellers, APIs, modes and ways to create, drawn from SEED."""
    rng = random.Random(SEED)  # noqa: S311 (a reproducible mix, not a secret)
    sales = []
    for number in range(count):
        seller = sellers[number % len(sellers)]
        api = rng.choice([Api.V1, Api.INSTORE])
        mode = rng.choice([Mode.DYNAMIC, Mode.HYBRID])
        draw = rng.random()
        fate = (
            "pay" if draw < PAY_SHARE else "cancel" if draw < PAY_SHARE + CANCEL_SHARE else "leave"
        )
        if fate == "cancel" and (api, mode) == (Api.INSTORE, Mode.DYNAMIC):
            fate = "leave"  # a legacy dynamic QR cannot be deleted in Mercado Pago
        via = rng.choice(["partner", "cashier"])
        items = [
            (f"Item {n}", Decimal(rng.randint(100, 50_000)) / 100, rng.randint(1, 3))
            for n in range(rng.randint(1, 3))
        ]
        sales.append(
            Sale(
                number=number,
                seller=seller,
                pos=seller.points_of_sale[(number // len(sellers)) % POS_PER_SELLER],
                api=api,
                mode=mode,
                via=via,
                fate=fate,
                items=items,
                loses_answer=via == "partner" and rng.random() < LOST_ANSWER_SHARE,
                reference=f"soak-{number:04d}",
            )
        )
    return sales


def lanes(sales: list[Sale]) -> list[list[Sale]]:
    """The sales of each POS, in order: a POS runs one sale at a time."""
    by_pos = defaultdict(list)
    for sale in sales:
        by_pos[sale.pos.pk].append(sale)
    return list(by_pos.values())


def http(url: str, token: str = "") -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=60)


def run_lane(url: str, sales: list[Sale], errors: list[str]) -> None:
    try:
        with http(url, sales[0].seller.partner_token) as partner, http(url) as wallet:
            for sale in sales:
                if sale.via == "partner":
                    create_as_partner(partner, sale)
                else:
                    create_as_cashier(sale)
                if sale.uid and sale.qr_data:
                    act(partner, wallet, sale)
    except Exception:
        errors.append(traceback.format_exc())
    finally:
        connection.close()


def create_as_partner(partner: httpx.Client, sale: Sale) -> None:
    """POST the order. On a 5xx, a 409 ``idempotency_key_in_use`` or an answer that never
    arrived, the partner sends the same request again with the same ``Idempotency-Key``. When
    the order was not taken and its reference stays taken (a legacy dynamic QR that got no
    answer), the partner makes a new order: a new reference and a new key."""
    for attempt in range(1, ATTEMPTS + 1):
        response, answer = post_order(partner, sale, key=f"key-{sale.reference}")
        if response.status_code == 201:
            sale.uid, sale.seen_status = answer["uid"], answer["status"]
            sale.qr_data = answer["qr_data"]
            return
        sale.given_up.append(sale.reference)
        sale.reference = f"soak-{sale.number:04d}-{attempt + 1}"
    sale.refused = f"{response.status_code} {answer.get('code')}"


def post_order(partner: httpx.Client, sale: Sale, key: str) -> tuple[httpx.Response, dict]:
    body = {
        "pos": sale.pos.pk,
        "api": sale.api,
        "mode": sale.mode,
        "external_reference": sale.reference,
        "title": f"Sale {sale.number}",
        "items": [
            {"title": title, "unit_price": str(price), "quantity": quantity}
            for title, price, quantity in sale.items
        ],
    }
    for attempt in range(1, ATTEMPTS + 1):
        sale.requests += 1
        try:
            response = partner.post(ORDERS_PATH, json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:  # no answer (a connection the server closed): again
            if attempt == ATTEMPTS:
                raise
            continue
        answer = response.json()
        if response.headers.get("Idempotent-Replayed") == "true":
            sale.replays += 1
        if attempt == 1 and sale.loses_answer and response.status_code < 500:
            continue  # the connection dropped before the answer reached the partner
        if response.status_code >= 500 or answer.get("code") == "idempotency_key_in_use":
            continue
        break
    return response, answer


def create_as_cashier(sale: Sale) -> None:
    """Create with the services, as the cashier page does; when a legacy dynamic QR got no
    answer, the cashier makes a new one (the page gives each order a new reference)."""
    items = [ItemInput(title, price, quantity) for title, price, quantity in sale.items]
    for attempt in range(1, ATTEMPTS + 1):
        sale.requests += 1
        try:
            order = services.create_order(
                tenant=sale.tenant,
                pos=sale.pos,
                api=sale.api,
                mode=sale.mode,
                external_reference=sale.reference,
                title=f"Sale {sale.number}",
                items=items,
            )
        except MercadoPagoUnavailable:
            sale.given_up.append(sale.reference)
            sale.reference = f"soak-{sale.number:04d}-{attempt + 1}"
            continue
        sale.uid, sale.seen_status, sale.qr_data = str(order.uid), order.status, order.qr_data
        return
    sale.refused = "no answer"


def act(partner: httpx.Client, wallet: httpx.Client, sale: Sale) -> None:
    """The buyer pays, or the cashier cancels, or the order is left waiting."""
    if sale.fate == "pay":
        paid = send(wallet, "/sandbox/wallet/pay", json={"qr_data": sale.qr_data})
        assert paid.status_code in (200, 409), paid.text  # 409: replaced on its POS meanwhile
        sale.done = "paid" if paid.status_code == 200 else "not payable"
    elif sale.fate == "cancel":
        sale.done = cancel_as_partner(partner, sale) if sale.via == "partner" else cancel(sale)
    else:
        sale.done = "left"


def send(client: httpx.Client, path: str, **request) -> httpx.Response:
    """POST, and again when no answer came (a connection the server had closed)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return client.post(path, **request)
        except httpx.TransportError:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def cancel_as_partner(partner: httpx.Client, sale: Sale) -> str:
    for _attempt in range(ATTEMPTS):
        response = send(
            partner,
            f"{ORDERS_PATH}/{sale.uid}/cancel",
            headers={"Idempotency-Key": f"cancel-{sale.reference}"},
        )
        if response.status_code < 500:
            return "canceled" if response.status_code == 200 else "not cancelable"
    return "not cancelable"


def cancel(sale: Sale) -> str:
    with tenant_scope(sale.tenant):
        order = Order.objects.get(uid=sale.uid)
    for _attempt in range(ATTEMPTS):
        try:
            services.cancel_order(tenant=sale.tenant, order=order)
        except MercadoPagoUnavailable:
            continue
        except NotAllowed:
            return "not cancelable"
        return "canceled"
    return "not cancelable"


def act_on_late_orders(url: str, sales: list[Sale]) -> int:
    """Orders that were pending when created: paid (or canceled) once Mercado Pago took them."""
    acted = 0
    with http(url) as wallet:
        for sale in sales:
            if not sale.uid or sale.done:
                continue
            with tenant_scope(sale.tenant):
                order = Order.objects.get(uid=sale.uid)
            if order.status != Status.CREATED:
                continue
            sale.qr_data = order.qr_data
            with http(url, sale.seller.partner_token) as partner:
                act(partner, wallet, sale)
            acted += 1
    return acted


# Settling, and comparing with the sandbox -----------------------------------------------------


def flush_notifications(processes: Processes) -> None:
    """Send what the sandbox still holds back (reordered, delayed): let its clock run ahead."""
    processes.wait_idle()
    later = (timezone.now() + timedelta(minutes=2)).isoformat()
    ran = httpx.post(
        f"{processes.url}/sandbox/_control/deliveries/run", json={"now": later}, timeout=300
    )
    assert ran.status_code == 200, ran.text
    processes.wait_idle()


def snapshot() -> dict:
    with cross_tenant_scope():
        return {
            order.pk: (order.status, tuple(sorted(paid_here(order))))
            for order in Order.objects.prefetch_related("payments")
        }


def reconcile_until_stable(processes: Processes, rounds: int = 8) -> int:
    """Run the beat's reconciliation until a round changes nothing; how many rounds ran."""
    before = snapshot()
    for number in range(1, rounds + 1):
        tasks.reconcile_orders.delay()
        processes.wait_idle()
        after = snapshot()
        pending = any(status == Status.PENDING for status, _ in after.values())
        if after == before and not pending:
            return number
        before = after
    raise AssertionError(f"reconciliation did not settle in {rounds} rounds")


def sandbox_orders(tenant: Tenant) -> dict[str, list]:
    expire_due()  # the sandbox expires orders when they are read, as Mercado Pago does
    found = defaultdict(list)
    rows = mercadopago.Order.objects.filter(account__user_id=tenant.mp_user_id)
    for row in rows.prefetch_related("payments"):
        found[row.external_reference].append(row)
    return found


def paid_in_sandbox(row) -> list[tuple[str, Decimal]]:
    return sorted(
        (payment.transaction_id if row.api == "v1" else str(payment.pk), payment.amount)
        for payment in row.payments.all()
        if payment.status in ("approved", "refunded")
    )


def paid_here(order: Order) -> list[tuple[str, Decimal]]:
    return sorted((p.mp_payment_id, p.paid_amount) for p in order.payments.all() if p.paid_amount)


def compare(tenant: Tenant) -> tuple[list[str], set[str], set[str]]:
    """How the local orders of ``tenant`` differ from the sandbox's; the references of sandbox
    orders made by requests whose answer never came, for an order that then failed here
    (docs/orders.md), none of them paid; and those of late copies (``late_copies``)."""
    problems, unseen, copied = [], set(), set()
    remote = sandbox_orders(tenant)
    with tenant_scope(tenant):
        local = list(Order.objects.prefetch_related("payments", "calls"))
    live = defaultdict(list)
    for order in local:
        if order.status != Status.FAILED:
            live[order.external_reference].append(order)
    for reference, rows in remote.items():
        if len(live.get(reference, [])) == 1:
            continue
        failed = [o for o in local if o.external_reference == reference and o.status == "failed"]
        if (
            reference not in live
            and failed
            and all(order.error_code in UNSEEN_ERRORS for order in failed)
            and not any(paid_in_sandbox(row) for row in rows)
        ):
            unseen.add(reference)
            continue
        problems.append(f"{reference}: {len(rows)} in the sandbox, {len(live[reference])} here")
    for reference, orders in live.items():
        if len(orders) > 1:
            problems.append(f"{reference}: {len(orders)} live orders here")
        order = orders[0]
        rows = remote.get(reference, [])
        copies = late_copies(order, rows)
        if copies:
            copied.add(reference)
            rows = [row for row in rows if row not in copies]
        if len(rows) != 1:
            problems.append(f"{reference} ({order.status}): {len(rows)} in the sandbox")
            continue
        row = rows[0]
        mine = (order.status, order.total_amount, order.marketplace_fee, paid_here(order))
        theirs = (row.status, row.total_amount, row.marketplace_fee, paid_in_sandbox(row))
        if mine != theirs:
            problems.append(f"{reference} {order.api}/{order.mode}: here {mine}, sandbox {theirs}")
        if order.mp_order_id and order.mp_order_id != row.order_id:
            problems.append(f"{reference}: Mercado Pago id {order.mp_order_id} != {row.order_id}")
    return problems, unseen, copied


def late_copies(order: Order, rows: list) -> list:
    """The sandbox orders besides ``order``'s own that a late copy of its create made: a legacy
    PUT for the POS's printed QR that the platform gave up on (it timed out, and the retry made
    the order) and that Mercado Pago handled only after the retry's order had been paid or
    replaced, so it put a second order on the POS. The legacy API takes no idempotency key, so
    nothing can tell Mercado Pago it is a copy (docs/reliability.md). Such copies are accepted
    here only when nobody paid them."""
    timed_out = any(
        call.method == "PUT" and call.error == "ReadTimeout" for call in order.calls.all()
    )
    if not (order.api == Api.INSTORE and order.mode in (Mode.HYBRID, Mode.STATIC) and timed_out):
        return []
    copies = [row for row in rows if row.order_id != order.mp_order_id]
    if len(copies) == len(rows) or any(paid_in_sandbox(row) for row in copies):
        return []
    return copies


def explain(reference: str) -> dict:
    """What the sandbox and the platform hold for ``reference``, for a failure's report."""
    rows = mercadopago.Order.objects.filter(external_reference=reference).order_by("pk")
    with cross_tenant_scope():
        orders = Order.objects.filter(external_reference=reference).order_by("pk")
        calls = MercadoPagoCall.objects.filter(order__in=orders).order_by("pk")
        return {
            "reference": reference,
            "sandbox": [(r.api, r.mode, r.status, r.order_id, str(r.created_at)) for r in rows],
            "here": [(o.api, o.mode, o.status, o.error_code, o.mp_order_id) for o in orders],
            "calls": [
                (c.method, c.path, c.attempt, c.status, c.error, str(c.created_at)) for c in calls
            ],
        }


# Logs and secrets -------------------------------------------------------------------------------


@pytest.fixture
def logs(caplog) -> Iterator[io.StringIO]:
    """Every record of this process at DEBUG, from every logger (those that do not propagate
    too): in ``caplog`` as logged, and in the returned stream as the platform writes them (one
    line of JSON each, ``merchant_platform.logging``)."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(OneLineJSONFormatter())
    caplog.set_level(logging.DEBUG)
    loggers = [logging.root]
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger):
            continue
        if logger.level not in (logging.NOTSET, logging.DEBUG):
            caplog.set_level(logging.DEBUG, logger=name)
        if not logger.propagate:
            loggers.append(logger)
            logger.addHandler(caplog.handler)
    for logger in loggers:
        logger.addHandler(handler)
    yield written
    for logger in loggers:
        logger.removeHandler(handler)
        if logger is not logging.root:
            logger.removeHandler(caplog.handler)


def secrets_of(sellers: list[Seller]) -> dict[str, str]:
    config = get_config()
    found = {
        "integrator client secret": config.client_secret,
        "Mercado Pago webhook secret": config.webhook_secret,
    }
    for n, key in enumerate(config.credential_keys):
        found[f"credential key {n}"] = key
    for seller in sellers:
        name = seller.tenant.slug
        with tenant_scope(seller.tenant):
            credential = MercadoPagoCredential.objects.get()
        found[f"{name} access token"] = seller_access_token(seller.tenant)
        if credential.refresh_token:
            found[f"{name} refresh token"] = credential.refresh_token
        found[f"{name} partner access token"] = seller.partner_token
        found[f"{name} partner client secret"] = seller.partner_secret
        found[f"{name} partner webhook secret"] = seller.webhook_secret
    return {name: value for name, value in found.items() if value}


def records_text(caplog) -> dict[str, str]:
    """The records of this process by logger, as logged (before any formatter masks them)."""
    lines = defaultdict(list)
    for record in caplog.records:
        lines[f"records of {record.name}"].append(record.getMessage())
        if record.exc_info:
            lines[f"records of {record.name}"].append(
                logging.Formatter().formatException(record.exc_info)
            )
    return {name: "\n".join(text) for name, text in lines.items()}


def leaks(texts: dict[str, str], secrets: dict[str, str]) -> list[str]:
    return [
        f"{secret} in {where}"
        for where, text in texts.items()
        for secret, value in secrets.items()
        if value in text
    ]


# The soak ---------------------------------------------------------------------------------------


def test_a_thousand_orders_under_faults_end_equal_to_mercado_pago(
    processes, client, caplog, logs, receiver
):
    sellers = sellers_of_the_soak(processes, receiver.url)
    for n in range(1, WORKERS + 1):
        processes.start_worker(f"worker{n}", pool="threads", concurrency=WORKER_THREADS)
    set_faults(client, **FAULTS)
    sales = plan(sellers, ORDERS)
    started = time.monotonic()

    errors: list[str] = []
    threads = [
        threading.Thread(target=run_lane, args=(processes.url, lane, errors))
        for lane in lanes(sales)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = time.monotonic()
    assert not errors, errors[0][-2000:]
    assert all(sale.requests for sale in sales)

    processes.wait_idle()  # pending orders sent again, notifications processed
    late = act_on_late_orders(processes.url, sales)
    flush_notifications(processes)
    rounds = reconcile_until_stable(processes)
    settled = time.monotonic()

    # No duplicates: one sandbox order per seller and external reference.
    duplicates = list(
        mercadopago.Order.objects.values("account", "external_reference")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    # None lost: every order a partner or cashier saw accepted is here once, taken by Mercado
    # Pago (or failed for a reason docs/orders.md gives).
    lost = []
    for sale in sales:
        if not sale.uid:
            continue
        with tenant_scope(sale.tenant):
            found = list(Order.objects.filter(uid=sale.uid))
        if len(found) != 1 or found[0].status == Status.PENDING:
            lost.append(f"{sale.reference}: {[(o.status, o.error_code) for o in found]}")
        elif found[0].status == Status.FAILED and found[0].error_code not in UNSEEN_ERRORS:
            lost.append(f"{sale.reference}: failed with {found[0].error_code}")
    # Every local order equal to the sandbox's, and every sandbox order known here.
    mismatches, unseen, copied = [], set(), set()
    for seller in sellers:
        problems, unanswered, late_copied = compare(seller.tenant)
        mismatches += problems
        unseen |= unanswered
        copied |= late_copied
    # Requests the platform gave up on may each have made an order in Mercado Pago, never paid.
    duplicates = [row for row in duplicates if row["external_reference"] not in unseen | copied]

    figures = collect_figures(sales, processes, late, rounds, unseen, copied)
    figures["seconds"] = {
        "creating": round(created - started, 1),
        "settling": round(settled - created, 1),
    }
    report(figures, duplicates, lost, mismatches)
    assert not duplicates, duplicates
    assert not lost, lost
    assert not mismatches, mismatches
    assert not [sale.refused for sale in sales if sale.refused]

    secrets = secrets_of(sellers)
    texts = records_text(caplog) | {"this process's log lines": logs.getvalue()}
    texts |= {f"{path.stem} output": path.read_text() for path in processes.logs.glob("*.log")}
    assert not leaks(texts, secrets)


def report(figures: dict, duplicates: list, lost: list, mismatches: list) -> None:
    """Print the figures (``-s`` shows them) and keep them, with what went wrong, in a file."""
    found = {
        "figures": figures,
        "duplicates": [explain(row["external_reference"]) for row in duplicates],
        "lost": lost,
        "mismatches": mismatches,
    }
    text = json.dumps(found, indent=2, default=str)
    print("\nsoak:", text)
    path = os.environ.get("SOAK_REPORT", Path(tempfile.gettempdir()) / "soak-report.json")
    Path(path).write_text(text)


TASK_LINE = re.compile(r"Task (\S+)\[[0-9a-f-]+\] (succeeded|retry|raised)")


def collect_figures(
    sales, processes: Processes, late: int, rounds: int, unseen: set[str], copied: set[str]
) -> dict:
    faults = mercadopago.FaultSettings.current()
    fates = [request_fate(faults, n) for n in range(faults.request_count)]
    deliveries = Counter(mercadopago.Delivery.objects.values_list("fault", flat=True))
    with cross_tenant_scope():
        calls = MercadoPagoCall.objects.all()
        answered = sorted(calls.filter(status__isnull=False).values_list("duration_ms", flat=True))
        partner_webhooks = Counter(WebhookDelivery.objects.values_list("status", flat=True))
        figures = {
            "orders": {
                "sales": len(sales),
                "by api/mode/via": dict(Counter(f"{s.api}/{s.mode}/{s.via}" for s in sales)),
                "here by status": dict(Counter(Order.objects.values_list("status", flat=True))),
                "failed here by reason": dict(
                    Counter(
                        Order.objects.filter(status="failed").values_list("error_code", flat=True)
                    )
                ),
                "in the sandbox": mercadopago.Order.objects.count(),
                "in the sandbox, made by unanswered requests of failed orders": (
                    mercadopago.Order.objects.filter(external_reference__in=unseen).count()
                ),
                "late copies of legacy PUTs given up on, none paid": (
                    mercadopago.Order.objects.filter(external_reference__in=copied).count()
                    - len(copied)
                ),
                "accepted pending (sent again later)": sum(
                    s.seen_status == "pending" for s in sales
                ),
                "paid": sum(s.done == "paid" for s in sales),
                "canceled": sum(s.done == "canceled" for s in sales),
                "left waiting": sum(s.done == "left" for s in sales),
                "not payable or cancelable any more": sum(s.done.startswith("not") for s in sales),
                "acted on once Mercado Pago took them": late,
            },
            "partners and cashiers": {
                "create requests": sum(s.requests for s in sales),
                "partner retries with the same key": sum(
                    s.requests - 1 - len(s.given_up) for s in sales if s.via == "partner"
                ),
                "cashier retries": sum(
                    s.requests - 1 - len(s.given_up) for s in sales if s.via == "cashier"
                ),
                "answers replayed (Idempotent-Replayed)": sum(s.replays for s in sales),
                "new orders after a legacy dynamic QR got no answer": sum(
                    len(s.given_up) for s in sales
                ),
            },
            "faults injected": {
                "requests affected": len(fates),
                "5xx": sum(fate.error_status is not None for fate in fates),
                "timeouts": sum(fate.timeout and fate.error_status is None for fate in fates),
                "notifications dropped": deliveries["dropped"],
                "notifications duplicated": deliveries["duplicate"],
                "notifications reordered": deliveries["reordered"],
                "notifications delayed": deliveries["delayed"],
            },
            "Mercado Pago calls of the platform": {
                "attempts": calls.count(),
                "5xx seen": calls.filter(status__gte=500).count(),
                "timeouts seen": calls.filter(error="ReadTimeout").count(),
                "retries (attempt > 1)": calls.filter(attempt__gt=1).count(),
                "answered in ms (p50, p95, p99, max)": [
                    answered[int(len(answered) * q)] for q in (0.5, 0.95, 0.99)
                ]
                + answered[-1:],
            },
            "notifications here": dict(
                Counter(Notification.objects.values_list("status", flat=True))
            ),
            "partner webhooks": dict(partner_webhooks),
        }
    ran = Counter(f"{name} {outcome}" for name, outcome in TASK_LINE.findall(processes.output()))
    figures["tasks"] = dict(sorted(ran.items()))
    figures["reconciliation rounds"] = rounds
    return figures


# A worker killed in the middle of a task ------------------------------------------------------


def paid_with_its_reads_held(client, tenant, pos) -> Order:
    """An Orders API order of ``tenant``, paid by the buyer, whose reads the sandbox holds up
    for 30 s: a worker processing its notification is inside that read for as long."""
    order = services.create_order(
        tenant=tenant,
        pos=pos,
        api=Api.V1,
        mode=Mode.DYNAMIC,
        external_reference="killed-1",
        title="Mesa 1",
        items=[ItemInput("Bife", Decimal("100.00"))],
    )
    set_faults(
        client,
        path_regex=f"^/v1/orders/{order.mp_order_id}$",
        timeout_rate="1",
        timeout_seconds="30",
    )
    paid = client.post("/sandbox/wallet/pay", {"qr_data": order.qr_data}, "application/json")
    assert paid.status_code == 200, paid.content
    return order


def test_a_worker_killed_mid_task_loses_nothing(processes, client, caplog, logs, receiver):
    """A notification task is running (its Mercado Pago read held up by the sandbox) when its
    worker is SIGKILLed with its pool. The task acknowledges only once it has run
    (``acks_late``), so the broker still holds it: once its visibility timeout has passed,
    another worker receives it and processes the notification. Nothing is lost."""
    [seller, _brazil] = sellers_of_the_soak(processes, receiver.url)
    # Held up for 30 s, and a worker that waits for it: the task is mid-call when killed.
    processes.start_worker("doomed", SOAK_CLIENT_TIMEOUT="60")
    order = paid_with_its_reads_held(client, seller.tenant, seller.points_of_sale[0])

    def running() -> bool:
        """the worker is processing the order's webhook, inside its Mercado Pago read"""
        found = Notification.objects.filter(resource_id=order.mp_order_id).first()
        started = found is not None and found.attempts == 1 and found.status == "queued"
        # The sandbox counts the read as it arrives, then holds its answer back.
        return started and mercadopago.FaultSettings.current().request_count >= 1

    processes.wait_for(running)
    assert processes.outstanding() == 1  # held by the worker, not acknowledged
    processes.kill("doomed")
    client.delete("/sandbox/_control/faults")
    notification = Notification.objects.get(resource_id=order.mp_order_id)
    assert (notification.status, notification.attempts) == ("queued", 1)
    with tenant_scope(seller.tenant):
        assert Order.objects.values_list("status", flat=True).get(pk=order.pk) == "created"

    processes.start_worker(
        "heir",
        SOAK_BROKER_OPTIONS=json.dumps(
            {"visibility_timeout": 3, "unacked_restore_interval": 1, "unacked_restore_throttle": 1}
        ),
    )

    def processed() -> bool:
        """the notification was processed again and the order is paid"""
        return Notification.objects.filter(pk=notification.pk, status="processed").exists()

    processes.wait_for(processed, timeout=60)
    processes.wait_idle()
    notification.refresh_from_db()
    with tenant_scope(seller.tenant):
        order = Order.objects.prefetch_related("payments").get(pk=order.pk)
    assert notification.attempts == 2  # the killed run and the redelivered one
    row = mercadopago.Order.objects.prefetch_related("payments").get(order_id=order.mp_order_id)
    assert (order.status, paid_here(order)) == (row.status, paid_in_sandbox(row))
    assert order.status == "processed"
    assert Notification.objects.filter(resource_id=order.mp_order_id).count() == 1

    secrets = secrets_of([seller])
    texts = records_text(caplog) | {"this process's log lines": logs.getvalue()}
    texts |= {f"{path.stem} output": path.read_text() for path in processes.logs.glob("*.log")}
    assert not leaks(texts, secrets)
