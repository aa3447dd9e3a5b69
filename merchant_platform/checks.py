"""System checks for the settings this project adds.

Django runs them for ``check``, ``migrate`` and ``runserver``; web processes (WSGI and ASGI) and
Celery workers and beat run the errors among them as they start (``merchant_platform.startup``)
and refuse to start on any that is not silenced.

Malformed values are errors in every mode. With ``DEBUG`` off the platform is in production: every
required value must be set, the development secret key and the sandbox's public secrets are
refused, Mercado Pago must be reached over HTTPS, the throttle's cache must be shared by every
process, and e-mail must leave through a mail server. A ``manage.py`` command on a development
machine (no ``DATABASE_URL``) other than ``runserver`` and ``check --deploy`` reports these
production-only errors as warnings (:func:`relax_for_command`), so ``createsuperuser`` or
``seed_demo`` work on a laptop without ``DEBUG=true``; servers and workers
(``merchant_platform.startup``) always refuse them.
"""

import functools
import ipaddress
import os
import re
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from merchant_platform.defaults import DEV_SECRET_KEY
from merchant_platform.mercadopago import (
    SANDBOX_CLIENT_SECRET,
    SANDBOX_CREDENTIAL_KEY,
    SANDBOX_WEBHOOK_SECRET,
)

# The tag of this project's checks: what ``merchant_platform.startup`` runs.
PROJECT_TAG = "merchant_platform"

REQUIRED_IN_PRODUCTION = {
    "MERCADOPAGO_API_BASE_URL": "the Mercado Pago API, https://api.mercadopago.com",
    "MERCADOPAGO_CLIENT_ID": "your Mercado Pago application's client id (APP_ID)",
    "MERCADOPAGO_CLIENT_SECRET": "your Mercado Pago application's client secret",
    "MERCADOPAGO_SPONSOR_ID": "your own Mercado Pago user id, sent as sponsor.id on every order",
    "MERCADOPAGO_WEBHOOK_SECRET": "the webhook secret shown in your application's settings",
    "MERCADOPAGO_CREDENTIAL_KEYS": (
        "comma-separated Fernet keys for seller credentials, newest first (make one with "
        "cryptography.fernet.Fernet.generate_key())"
    ),
}

NUMERIC_ID = re.compile(r"^[1-9][0-9]{0,19}$")

# The errors only production refuses (they need DEBUG off), relaxed by ``relax_for_command``.
PRODUCTION_ONLY = {f"merchant_platform.E{number:03d}" for number in (1, 2, 5, 8, 9, 10, 11, 12, 13)}
_command_relaxes = False


def relax_for_command(argv: list[str]) -> None:
    """Called by ``manage.py`` with its ``sys.argv``: unless the command is ``runserver`` or
    ``check --deploy``, production-only errors are warnings on a machine with no
    ``DATABASE_URL`` (the SQLite default of development)."""
    global _command_relaxes
    _command_relaxes = argv[1:2] != ["runserver"] and "--deploy" not in argv


def _relaxed_on_development_machine(check):
    @functools.wraps(check)
    def relaxed(app_configs, **kwargs):
        messages = check(app_configs, **kwargs)
        if not _command_relaxes or os.environ.get("DATABASE_URL"):
            return messages
        return [_as_warning(m) if m.id in PRODUCTION_ONLY else m for m in messages]

    return relaxed


def _as_warning(error: Error) -> Warning:
    return Warning(
        f"{error.msg} (A warning for this command on a development machine, with no "
        "DATABASE_URL; servers, workers and check --deploy refuse it.)",
        hint=error.hint,
        id=error.id,
    )


@register(Tags.security, PROJECT_TAG, deploy=False)
@_relaxed_on_development_machine
def check_secret_key(app_configs, **kwargs):
    if settings.DEBUG or settings.SECRET_KEY != DEV_SECRET_KEY:
        return []
    return [
        Error(
            "SECRET_KEY is the public development key while DEBUG is off.",
            hint="Set the SECRET_KEY environment variable to a long random value.",
            id="merchant_platform.E001",
        )
    ]


@register(Tags.security, PROJECT_TAG, deploy=False)
@_relaxed_on_development_machine
def check_previous_secrets(app_configs, **kwargs):
    """The secrets kept while their replacement rolls out: never a public value, never the
    current one again (a mistake that leaves the old secret still to be swapped in)."""
    errors = []
    fallbacks = settings.SECRET_KEY_FALLBACKS
    if not settings.DEBUG and DEV_SECRET_KEY in fallbacks:
        errors.append(
            Error(
                "SECRET_KEY_FALLBACKS contains the public development key while DEBUG is off: "
                "anyone could sign sessions and links that would be accepted.",
                hint="Remove it from SECRET_KEY_FALLBACKS.",
                id="merchant_platform.E012",
            )
        )
    previous_webhook_secret = settings.MERCADOPAGO_WEBHOOK_SECRET_PREVIOUS
    repeats = {
        "SECRET_KEY_FALLBACKS": settings.SECRET_KEY in fallbacks,
        "MERCADOPAGO_WEBHOOK_SECRET_PREVIOUS": bool(previous_webhook_secret)
        and previous_webhook_secret == settings.MERCADOPAGO_WEBHOOK_SECRET,
    }
    for name, repeated in repeats.items():
        if repeated:
            errors.append(
                Warning(
                    f"{name} repeats the current value: it keeps nothing older accepted.",
                    hint=f"Set {name} to the value being replaced, or leave it empty.",
                    id="merchant_platform.W005",
                )
            )
    return errors


@register(PROJECT_TAG, deploy=False)
@_relaxed_on_development_machine
def check_mercadopago_settings(app_configs, **kwargs):
    errors = []
    if not settings.DEBUG:
        for name, meaning in REQUIRED_IN_PRODUCTION.items():
            if not getattr(settings, name):
                errors.append(
                    Error(
                        f"{name} is not set; it is required when DEBUG is off.",
                        hint=f"Set the {name} environment variable to {meaning}.",
                        id="merchant_platform.E002",
                    )
                )
    if not settings.DEBUG and not settings.SITE_URL.startswith("https://"):
        errors.append(
            Error(
                "SITE_URL must be the deployment's public https URL when DEBUG is off: OAuth "
                "redirects and webhook URLs are built from it.",
                hint="For example SITE_URL=https://pay.example.com",
                id="merchant_platform.E009",
            )
        )
    errors += _check_base_url(settings.MERCADOPAGO_API_BASE_URL)
    for name in ("MERCADOPAGO_CLIENT_ID", "MERCADOPAGO_SPONSOR_ID"):
        value = getattr(settings, name)
        if value and not NUMERIC_ID.match(value):
            errors.append(
                Error(
                    f"{name} must be a Mercado Pago numeric id, got {len(value)} characters "
                    "that are not a positive integer.",
                    hint=f"Copy {name} from your Mercado Pago application; it holds only digits.",
                    id="merchant_platform.E003",
                )
            )
    integrator_id = settings.MERCADOPAGO_INTEGRATOR_ID
    if integrator_id and not re.fullmatch(r"dev_[0-9a-zA-Z]+", integrator_id):
        errors.append(
            Warning(
                "MERCADOPAGO_INTEGRATOR_ID does not look like a Mercado Pago integrator id "
                "(dev_ followed by letters and digits).",
                id="merchant_platform.W001",
            )
        )
    errors += _check_credential_keys(settings.MERCADOPAGO_CREDENTIAL_KEYS)
    for name, public in (
        ("MERCADOPAGO_CLIENT_SECRET", SANDBOX_CLIENT_SECRET),
        ("MERCADOPAGO_WEBHOOK_SECRET", SANDBOX_WEBHOOK_SECRET),
        ("MERCADOPAGO_WEBHOOK_SECRET_PREVIOUS", SANDBOX_WEBHOOK_SECRET),
    ):
        if not settings.DEBUG and getattr(settings, name) == public:
            errors.append(
                Error(
                    f"{name} is the sandbox's public value while DEBUG is off.",
                    hint=f"Set {name} to the value shown in your Mercado Pago application.",
                    id="merchant_platform.E011",
                )
            )
    if not settings.DEBUG and settings.SANDBOX_ENABLED:
        errors.append(
            Warning(
                "SANDBOX_ENABLED is on while DEBUG is off: the Mercado Pago emulator is served "
                "under /sandbox/ to anyone who can reach this deployment.",
                hint="Set SANDBOX_ENABLED=false in production.",
                id="merchant_platform.W002",
            )
        )
    if not settings.DEBUG and not settings.CELERY_BROKER_URL:
        errors.append(
            Warning(
                "CELERY_BROKER_URL is not set: background tasks run inside web requests.",
                hint="Point CELERY_BROKER_URL at Redis or RabbitMQ; run Celery workers and beat.",
                id="merchant_platform.W003",
            )
        )
    return errors


def _check_base_url(url: str) -> list:
    if not url:
        return []
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return [
            Error(
                "MERCADOPAGO_API_BASE_URL must be an absolute http(s) URL.",
                hint="For example https://api.mercadopago.com",
                id="merchant_platform.E004",
            )
        ]
    if parts.scheme != "https" and not settings.DEBUG:
        return [
            Error(
                "MERCADOPAGO_API_BASE_URL must use https when DEBUG is off: seller tokens travel "
                "on every call.",
                id="merchant_platform.E005",
            )
        ]
    return []


def _check_credential_keys(keys: list[str]) -> list:
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            errors.append(
                Error(
                    f"MERCADOPAGO_CREDENTIAL_KEYS: key number {position} is not a valid Fernet "
                    "key (32 url-safe base64-encoded bytes).",
                    hint="Generate one with cryptography.fernet.Fernet.generate_key().",
                    id="merchant_platform.E006",
                )
            )
    if len(set(keys)) != len(keys):
        errors.append(
            Error(
                "MERCADOPAGO_CREDENTIAL_KEYS lists the same key twice.",
                id="merchant_platform.E007",
            )
        )
    if not settings.DEBUG and SANDBOX_CREDENTIAL_KEY in keys:
        errors.append(
            Error(
                "MERCADOPAGO_CREDENTIAL_KEYS contains the sandbox's public key while DEBUG is off.",
                hint="Generate a new key; never encrypt real credentials with a published key.",
                id="merchant_platform.E008",
            )
        )
    return errors


# E-mail backends that never deliver: they print, keep in memory, drop or write to files.
UNDELIVERING_EMAIL_BACKENDS = {
    f"django.core.mail.backends.{name}.EmailBackend"
    for name in ("console", "locmem", "dummy", "filebased")
}


@register(PROJECT_TAG, deploy=False)
@_relaxed_on_development_machine
def check_email(app_configs, **kwargs):
    """Invitations and password resets reach people only through a real mail server."""
    if settings.DEBUG or settings.EMAIL_BACKEND not in UNDELIVERING_EMAIL_BACKENDS:
        return []
    return [
        Error(
            "EMAIL_URL is not set: invitations and password resets would never leave the server.",
            hint=(
                "Set EMAIL_URL to your mail server, e.g. "
                "smtp+tls://user:password@smtp.example.com:587, and DEFAULT_FROM_EMAIL to the "
                "sender's address."
            ),
            id="merchant_platform.E013",
        )
    ]


# Caches that each process keeps for itself (dummy: none at all); the throttle needs one shared.
PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)
FILE_CACHE = "django.core.cache.backends.filebased.FileBasedCache"


@register(Tags.caches, PROJECT_TAG, deploy=False)
@_relaxed_on_development_machine
def check_shared_cache(app_configs, **kwargs):
    """The API throttle counts in the default cache: every web process must see the same one."""
    if settings.DEBUG:
        return []
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend in PER_PROCESS_CACHES:
        return [
            Error(
                "The default cache is kept per process while DEBUG is off: each web process "
                "would count the API throttle (API_THROTTLE_RATE) on its own.",
                hint=(
                    "Set CACHE_URL to a shared cache, e.g. redis://host:6379/1, or point "
                    "CELERY_BROKER_URL at Redis, whose server is then the default cache."
                ),
                id="merchant_platform.E010",
            )
        ]
    if backend == FILE_CACHE:
        return [
            Warning(
                "The default cache is file-based: only the processes of one machine share it, "
                "so each web node counts the API throttle on its own.",
                hint="With more than one web node, set CACHE_URL=redis://host:6379/1.",
                id="merchant_platform.W004",
            )
        ]
    return []


@register(Tags.security, PROJECT_TAG, deploy=False)
def check_metrics(app_configs, **kwargs):
    """``/metrics`` is readable by its scraper in production, and its process files can be
    written (merchant_platform/metrics.py)."""
    errors = []
    if not settings.DEBUG and not (settings.METRICS_TOKEN or settings.METRICS_ALLOWED_ADDRESSES):
        errors.append(
            Warning(
                "Neither METRICS_TOKEN nor METRICS_ALLOWED_ADDRESSES is set: /metrics answers "
                "404 to every scraper while DEBUG is off.",
                hint="Set METRICS_TOKEN to a long random value and give it to Prometheus "
                "(authorization: credentials), or list the scraper's addresses.",
                id="merchant_platform.W020",
            )
        )
    for position, entry in enumerate(settings.METRICS_ALLOWED_ADDRESSES, start=1):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            errors.append(
                Error(
                    f"METRICS_ALLOWED_ADDRESSES: entry number {position} is not an IP address "
                    "or a CIDR block.",
                    hint="For example METRICS_ALLOWED_ADDRESSES=10.0.0.0/8,127.0.0.1",
                    id="merchant_platform.E020",
                )
            )
    directory = settings.PROMETHEUS_MULTIPROC_DIR
    if directory and not (os.path.isdir(directory) and os.access(directory, os.W_OK | os.X_OK)):
        errors.append(
            Error(
                "PROMETHEUS_MULTIPROC_DIR is not a directory this process can write: every "
                "request would fail to count itself.",
                hint="Create it (empty, e.g. on a tmpfs) before the processes start, or unset it.",
                id="merchant_platform.E021",
            )
        )
    return errors
