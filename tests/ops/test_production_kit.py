"""The production kit's commands, run as the image runs them but without containers (issue 16).

A staging deployment on this machine: production mode (DEBUG off, production settings, not the
test settings) with the sandbox as Mercado Pago over https, its environment made by
``deploy/new_env.py``, a fresh PostgreSQL database and Redis. The test runs the scripts that the
Dockerfile, compose.yaml, the Procfile and the systemd units run: ``deploy/build.sh static``,
``deploy/release.sh`` (check --deploy, migrate, the sandbox's application), then
``deploy/web.sh`` (gunicorn with gunicorn.conf.py, terminating TLS itself with a certificate made
here, as the proxy would), ``deploy/worker.sh``, ``deploy/beat.sh`` and ``deploy/relay.sh`` (the
notification relay: new_env.py turns ``NOTIFICATIONS_RELAY`` on). Then a seller connects
to the sandbox by OAuth and gets a store, a POS and a partner app (the soak's helpers); the
partner creates an order through the API, the buyer pays it in the sandbox's wallet, Mercado Pago
notifies the platform, the worker processes the order and notifies the partner; beat's schedule
runs; ``/readyz`` answers 200 and ``/metrics`` the scraper; no secret is in any process's output.

It needs PostgreSQL and Redis (``DATABASE_URL=postgres://…``, ``CELERY_BROKER_URL=redis://…``,
as CI sets them) and is skipped without them.
"""

import ipaddress
import os
import re
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.db import connection

from mpapi.session import tls_context
from tests.factories import make_oauth_tenant
from tests.http_receiver import receiver  # noqa: F401 (a fixture)
from tests.soak.test_fault_soak import Processes, equip, free_port, leaks, secrets_of

pytestmark = [pytest.mark.slow, pytest.mark.worker]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DATABASE_URL = os.environ.get("DATABASE_URL", "")
# Production's default queue, as the processes run the production settings: on a Redis database
# of the kit's own, where no test process's worker or message meets it.
QUEUE = "celery"
KIT_REDIS_DATABASE = 15
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
if BROKER_URL.startswith(("redis://", "rediss://")):
    BROKER_URL = urlunsplit(urlsplit(BROKER_URL)._replace(path=f"/{KIT_REDIS_DATABASE}"))


def certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key: the staging site's TLS."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "site.crt", directory / "site.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def staging_env(site_url: str) -> dict[str, str]:
    """What ``deploy/new_env.py`` prints for ``site_url``, as a dict."""
    printed = subprocess.run(  # noqa: S603 (the project's own script)
        [sys.executable, str(ROOT / "deploy/new_env.py"), "--site-url", site_url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    lines = [line for line in printed.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


@pytest.fixture
def fresh_database(django_db_blocker) -> Iterator[str]:
    """The URL of a new, empty database on the test's PostgreSQL; this process's ORM uses it
    (as the processes do) for the test's length."""
    if not DATABASE_URL.startswith(("postgres://", "postgresql://")):
        pytest.skip("the production kit runs on PostgreSQL: set DATABASE_URL=postgres://…")
    if not BROKER_URL.startswith(("redis://", "rediss://")):
        pytest.skip("the production kit's processes share Redis: set CELERY_BROKER_URL=redis://…")
    import psycopg

    name = f"kit_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(DATABASE_URL)
    server = urlunsplit(parts._replace(path="/postgres", query=""))
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    saved = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        with django_db_blocker.unblock():
            yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        connection.close()
        connection.settings_dict["NAME"] = saved
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Kit:
    processes: Processes
    env: dict[str, str]
    url: str
    cert: Path

    def run(self, *command: str, **env: str) -> str:
        """Run a deploy script to its end, as the image's build or release would."""
        done = subprocess.run(  # noqa: S603 (the project's own scripts)
            command, cwd=ROOT, env=self.env | env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    def https(self, token: str = "") -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        trust = ssl.create_default_context(cafile=self.cert)
        return httpx.Client(base_url=self.url, headers=headers, verify=trust, timeout=30)


@pytest.fixture
def kit(fresh_database, settings, monkeypatch, tmp_path) -> Iterator[Kit]:
    """The staging deployment's environment, with no process started yet; this process's
    settings are the deployment's (its Mercado Pago identity, keys and site) for the helpers."""
    import redis

    port = free_port()
    url = f"https://127.0.0.1:{port}"
    cert, key = certificate(tmp_path)
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    staging = staging_env(url)
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PYTEST_") and name not in ("DJANGO_SETTINGS_MODULE", "DEBUG")
    }
    env |= staging | {
        "DATABASE_URL": fresh_database,
        "CELERY_BROKER_URL": BROKER_URL,
        "SSL_CERT_FILE": str(cert),  # every process trusts the site's certificate
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_CMD_ARGS": f"--certfile={cert} --keyfile={key}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "ORDERS_EXPIRE_INTERVAL": "1",  # a schedule of beat's that shows within the test
        "WEBHOOKS_ALLOW_PRIVATE_URLS": "true",  # the partner's endpoint listens on loopback
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    }
    settings.SITE_URL = url
    settings.MERCADOPAGO_HTTP_TRANSPORT = ""  # this process too reaches the sandbox over https
    settings.MERCADOPAGO_API_BASE_URL = staging["MERCADOPAGO_API_BASE_URL"]
    for name in ("CLIENT_ID", "CLIENT_SECRET", "SPONSOR_ID", "WEBHOOK_SECRET"):
        setattr(settings, f"MERCADOPAGO_{name}", staging[f"MERCADOPAGO_{name}"])
    settings.MERCADOPAGO_CREDENTIAL_KEYS = [staging["MERCADOPAGO_CREDENTIAL_KEYS"]]
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    tls_context.cache_clear()  # built once per process: again, trusting the site's certificate
    logs = tmp_path / "logs"
    logs.mkdir()
    broker = redis.Redis.from_url(BROKER_URL)
    broker.flushdb()
    processes = Processes(url, QUEUE, env, logs, broker)
    try:
        yield Kit(processes, env, url, cert)
    finally:
        processes.stop_all()
        broker.flushdb()  # the kit's own database: its queue, leader lock and cache
        tls_context.cache_clear()


def wait_until_served(kit: Kit) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert kit.processes.running["web"].poll() is None, kit.processes.output("web")[-3000:]
        try:
            with kit.https() as client:
                if client.get("/healthz").status_code == 200:
                    return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"web did not start: {kit.processes.output('web')[-3000:]}")


def test_the_kit_starts_and_takes_a_payment_end_to_end(kit, receiver):  # noqa: F811
    scripts = ROOT / "deploy"
    kit.run(str(scripts / "build.sh"), "static")
    released = kit.run(str(scripts / "release.sh"))
    assert "Registered the sandbox application" in released
    kit.processes.start("web", [str(scripts / "web.sh")])
    kit.processes.start("worker", [str(scripts / "worker.sh"), "--concurrency", "2"])
    kit.processes.start("beat", [str(scripts / "beat.sh")])
    kit.processes.start("relay", [str(scripts / "relay.sh")])
    wait_until_served(kit)
    # The image's health check, against this site.
    kit.run("python", str(scripts / "healthcheck.py"), HEALTHCHECK_URL=f"{kit.url}/healthz")

    seller = equip(make_oauth_tenant("Kit seller", site="MLA"), receiver.url)
    with kit.https(seller.partner_token) as partner:
        created = partner.post(
            "/api/v1/orders",
            json={
                "pos": seller.points_of_sale[0].pk,
                "api": "v1",
                "mode": "dynamic",
                "external_reference": "kit-1",
                "title": "Mesa 1",
                "items": [{"title": "Bife", "unit_price": "1500.00", "quantity": 2}],
            },
            headers={"Idempotency-Key": "kit-order-1"},
        )
        assert created.status_code == 201, created.text
        order = created.json()
        paid = partner.post("/sandbox/wallet/pay", json={"qr_data": order["qr_data"]})
        assert paid.status_code == 200, paid.text

        def processed() -> bool:
            """Mercado Pago's webhook reached the platform and the worker processed the order"""
            answer = partner.get(f"/api/v1/orders/{order['uid']}")
            return answer.json()["status"] == "processed"

        kit.processes.wait_for(processed, timeout=90)
        kit.processes.wait_for(lambda: bool(receiver.requests), timeout=60)
        [event] = [request.json for request in receiver.requests]
        assert event["type"] == "order.processed"
        assert (event["data"]["order"]["uid"], event["data"]["order"]["status"]) == (
            order["uid"],
            "processed",
        )

        def beat_ran() -> bool:
            """beat sent orders.expire_orders (every second here) and the worker ran it"""
            return bool(
                re.search(r"Task orders\.expire_orders\[[^\]]+\] succeeded", kit.processes.output())
            )

        kit.processes.wait_for(beat_ran, timeout=60)
        ready = partner.get("/readyz")
        assert ready.status_code == 200, ready.text
        scraped = partner.get(
            "/metrics", headers={"Authorization": f"Bearer {kit.env['METRICS_TOKEN']}"}
        )
        assert scraped.status_code == 200, scraped.text
        assert 'merchant_platform_http_requests_total{method="POST",route=' in scraped.text

    outputs = {f"{path.stem} output": path.read_text() for path in kit.processes.logs.glob("*")}
    assert not leaks(outputs, secrets_of([seller]))
