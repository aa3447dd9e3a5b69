"""The integrator's Mercado Pago identity, resolved once from settings.

With no ``MERCADOPAGO_API_BASE_URL`` the platform talks to its built-in sandbox, and every value
that is not set falls back to the sandbox's well-known (public) identity, so the embedded platform
runs with no configuration. Production sets every value; ``merchant_platform.checks`` insists.
"""

from collections.abc import Callable
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.utils.module_loading import import_string

from merchant_platform.metrics import observing_calls
from mpapi import CallRecord, ClientConfig, MercadoPagoClient

PRODUCTION_AUTH_URL = "https://auth.mercadopago.com/authorization"
SANDBOX_CLIENT_ID = "8000000000000001"
SANDBOX_CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105 (public, sandbox only)
SANDBOX_SPONSOR_ID = "900000001"
SANDBOX_WEBHOOK_SECRET = "sandbox-webhook-secret"  # noqa: S105 (public, sandbox only)
# base64 of b"sandbox-dev-key-not-for-prod-use"; refused by the system checks when DEBUG is off.
SANDBOX_CREDENTIAL_KEY = "c2FuZGJveC1kZXYta2V5LW5vdC1mb3ItcHJvZC11c2U="
# The sandbox alone as a WSGI application (sandbox/wsgi.py), by its path: the platform never
# imports the sandbox.
SANDBOX_WSGI_APPLICATION = "sandbox.wsgi.application"


@dataclass(frozen=True)
class MercadoPagoConfig:
    api_base_url: str
    auth_url: str  # Mercado Pago's authorization page (the sandbox's own when it is in use)
    client_id: str
    client_secret: str
    sponsor_id: str
    platform_id: str
    integrator_id: str
    webhook_secret: str
    # The secrets a webhook's signature may use: the current one, then the one it replaces.
    webhook_secrets: tuple[str, ...]
    credential_keys: tuple[str, ...]
    uses_sandbox: bool


def get_config() -> MercadoPagoConfig:
    """Return the effective Mercado Pago configuration (settings, or sandbox fallbacks)."""
    uses_sandbox = not settings.MERCADOPAGO_API_BASE_URL
    base_url = settings.MERCADOPAGO_API_BASE_URL or f"{settings.SITE_URL}/sandbox"

    def value(name: str, sandbox_default: str) -> str:
        configured = getattr(settings, f"MERCADOPAGO_{name}")
        return configured or (sandbox_default if uses_sandbox else "")

    webhook_secret = value("WEBHOOK_SECRET", SANDBOX_WEBHOOK_SECRET)
    previous = settings.MERCADOPAGO_WEBHOOK_SECRET_PREVIOUS
    keys = tuple(settings.MERCADOPAGO_CREDENTIAL_KEYS) or (
        (SANDBOX_CREDENTIAL_KEY,) if uses_sandbox else ()
    )
    return MercadoPagoConfig(
        api_base_url=base_url,
        auth_url=f"{base_url}/authorization" if uses_sandbox else PRODUCTION_AUTH_URL,
        client_id=value("CLIENT_ID", SANDBOX_CLIENT_ID),
        client_secret=value("CLIENT_SECRET", SANDBOX_CLIENT_SECRET),
        sponsor_id=value("SPONSOR_ID", SANDBOX_SPONSOR_ID),
        platform_id=settings.MERCADOPAGO_PLATFORM_ID,
        integrator_id=settings.MERCADOPAGO_INTEGRATOR_ID,
        webhook_secret=webhook_secret,
        webhook_secrets=tuple(
            dict.fromkeys(secret for secret in (webhook_secret, previous) if secret)
        ),
        credential_keys=keys,
        uses_sandbox=uses_sandbox,
    )


def get_client(*, observer: Callable[[CallRecord], None] | None = None) -> MercadoPagoClient:
    """A Mercado Pago client for the integrator's configuration.

    ``MERCADOPAGO_HTTP_TRANSPORT`` may name a function returning an httpx transport: the test
    settings and the demo data name :func:`in_process_transport`.
    """
    config = get_config()
    transport_factory = settings.MERCADOPAGO_HTTP_TRANSPORT
    return MercadoPagoClient(
        ClientConfig(
            base_url=config.api_base_url,
            auth_url=config.auth_url,
            platform_id=config.platform_id,
            integrator_id=config.integrator_id,
            timeout=httpx.Timeout(settings.MERCADOPAGO_TIMEOUT, connect=5.0),
            max_retries=settings.MERCADOPAGO_MAX_RETRIES,
            backoff_base=settings.MERCADOPAGO_BACKOFF_BASE,
            transport=import_string(transport_factory)() if transport_factory else None,
            observer=observing_calls(observer),  # every attempt counted in the metrics
        )
    )


def in_process_transport() -> httpx.WSGITransport:
    """The built-in sandbox as an httpx transport: reached through WSGI, on the caller's thread
    and database connection, with no server listening.

    The application (``SANDBOX_WSGI_APPLICATION``, built once per process) serves the sandbox's
    URLs alone, under ``/sandbox/``, through the sandbox's own middleware only (fault injection,
    CSRF), not the platform's: the whole project, built again for each client, made a call about
    twice as slow (docs/performance.md, "In-process sandbox"). The platform's middleware, and
    what they set on the thread (language, log context), stay out of its Mercado Pago calls.
    """
    return httpx.WSGITransport(app=import_string(SANDBOX_WSGI_APPLICATION))
