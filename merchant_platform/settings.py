"""Settings, read from the environment (12-factor) with defaults that run the embedded platform.

With no environment at all the platform runs on SQLite, executes Celery tasks in-process and talks
to the built-in Mercado Pago sandbox. Production sets the variables listed in the README; the
system checks in ``merchant_platform.checks`` refuse missing or malformed values.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

from merchant_platform.defaults import DEV_SECRET_KEY
from orders.schedules import beat_schedule as orders_beat_schedule
from partners.schedules import beat_schedule as partners_beat_schedule
from partners.scopes import SCOPES
from reports.schedules import BEAT_SCHEDULE as REPORTS_BEAT_SCHEDULE
from tenants.schedules import BEAT_SCHEDULE as TENANTS_BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated variable as a list, spaces and empty items dropped."""
    return [item.strip() for item in env.list(name, default=default) if item.strip()]


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
# Earlier secret keys, still accepted (not used to sign) while SECRET_KEY rotates: comma list.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The public URL of this deployment; used for OAuth redirect URIs and webhook URLs.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# E-mail (invitations, password resets, notices to owners), from one URL as django-environ reads
# it: consolemail:// prints each message on the server's console (make run); production sends
# through SMTP, e.g. smtp+tls://user:password@smtp.example.com:587 (checks: E013).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Merchant platform <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# How long the link of an invitation to join a seller works (accounts.invitations).
INVITATION_MAX_AGE_DAYS = env.int("INVITATION_MAX_AGE_DAYS", default=7)
# Sellers may sign up by themselves at /accounts/signup/ (docs/accounts.md); off: invited only.
SELF_SIGNUP = env.bool("SELF_SIGNUP", default=False)
# The account pages that send e-mail, e.g. "5/h" (empty: no limit): password-reset requests per
# client address and per e-mail address, sign-ups per client address, e-mail changes per account.
PASSWORD_RESET_RATE = env.str("PASSWORD_RESET_RATE", default="5/h")
SIGNUP_RATE = env.str("SIGNUP_RATE", default="5/h")
EMAIL_CHANGE_RATE = env.str("EMAIL_CHANGE_RATE", default="5/h")

INSTALLED_APPS = [
    "accounts.apps.PlatformAdminConfig",  # django.contrib.admin, asking for the second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "merchant_platform",
    "accounts",
    "tenants",
    "pos",
    "orders",
    "partners",
    "disputes",
    "reports",
    "console",
    "sandbox",
]

MIDDLEWARE = [
    "merchant_platform.request_context.RequestIdMiddleware",  # first: every response, every line
    "partners.versions.ApiVersionMiddleware",  # Api-Version on every /api/v1/ answer
    "merchant_platform.metrics.RequestMetricsMiddleware",  # times the rest of the stack too
    "django.middleware.security.SecurityMiddleware",
    "merchant_platform.mercadopago_budget.MercadoPagoBudgetMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "pos.qr_links.SignedImageMiddleware",  # signed QR images: no session, user or seller lookups
    "merchant_platform.csp.PlatformCSPMiddleware",  # after WhiteNoise: pages, not static files
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenants.middleware.TenantMiddleware",
    "merchant_platform.language.PersonLanguageMiddleware",  # after the seller is known
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out attempt into the lockout page
]

ROOT_URLCONF = "merchant_platform.urls"
WSGI_APPLICATION = "merchant_platform.wsgi.application"
ASGI_APPLICATION = "merchant_platform.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.current_tenant",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default's threads (requests to the in-process sandbox, eager tasks) write at
    # once: in WAL mode readers never block the writer, transactions begin IMMEDIATE so none has
    # to upgrade a lock, and a writer waits up to 20 s for another.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL", "transaction_mode": "IMMEDIATE", "timeout": 20}
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that accepts connections but never answers fails the connection in seconds, not
    # at the system's TCP timeout (libpq's connect_timeout; /readyz bounds its own query too).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "tenants.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# Sign-in lockout (django-axes, docs/accounts.md): after LOGIN_FAILURE_LIMIT failures for one
# account, or from one address, signing in (the admin's page, and the OAuth2 token endpoint per
# client id) is refused until LOGIN_COOLOFF_MINUTES have passed without another attempt. The
# address is the one the trusted proxies saw (TRUSTED_PROXY_COUNT).
AUTHENTICATION_BACKENDS = [
    "accounts.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own
AXES_CLIENT_IP_CALLABLE = "merchant_platform.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout"
AXES_ENABLE_ADMIN = False  # attempts are reset with `manage.py axes_reset_username` and friends
AXES_SENSITIVE_PARAMETERS = [
    *("username", "ip_address", "password", "otp_token", "csrfmiddlewaretoken"),
    *("client_secret", "code", "code_verifier", "refresh_token", "token"),
]
# Second factor (django-otp, TOTP) for platform staff; required before any page when on.
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Merchant platform")

LANGUAGE_CODE = "en"
# es-ar: Spanish with "vos" (Argentina, Uruguay), see merchant_platform/language.py.
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("es-ar", "Español (Argentina)"),
    ("pt-br", "Português"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Production hardening, on when DEBUG is off. The platform runs behind a proxy that terminates
# TLS and sets X-Forwarded-Proto (and drops any value a client sends).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# How many proxies in front of the platform append to X-Forwarded-For: limits kept per client
# address (login lockout, rejected webhooks) read the address the outermost one saw. 0: none,
# the connection's peer is the client.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Content-Security-Policy (django-csp; docs/accounts.md): scripts and <style> elements only from
# this origin or carrying the response's nonce; style attributes stay allowed (the admin's
# templates use them). The consent page also allows its form to reach the partner app's redirect
# URI (merchant_platform.csp).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF, SITE_URL],
        "frame-ancestors": [NONE],
    },
}
# Permissions-Policy (django-permissions-policy): no page uses these browser features.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

# Celery: with no broker configured, tasks run in-process (eagerly) and errors propagate.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING below: JSON, masked
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3, "socket_timeout": 5}
# Beat sends periodic tasks only while it holds a lock in Redis (the cache's, else the broker's),
# renewed every BEAT_LOCK_TTL / 3 seconds: a second beat waits, and takes over within
# BEAT_LOCK_TTL seconds of the first one's death (merchant_platform/beat.py).
CELERY_BEAT_SCHEDULER = "merchant_platform.beat:LeaderScheduler"
BEAT_LOCK_TTL = env.int("BEAT_LOCK_TTL", default=30)

# Mercado Pago: the integrator's application and identity. An empty value means "not set"; with
# no MERCADOPAGO_API_BASE_URL the platform talks to its built-in sandbox, and
# ``merchant_platform.mercadopago.get_config`` fills in the sandbox's well-known identities.
MERCADOPAGO_API_BASE_URL = env.str("MERCADOPAGO_API_BASE_URL", default="").rstrip("/")
MERCADOPAGO_CLIENT_ID = env.str("MERCADOPAGO_CLIENT_ID", default="")
MERCADOPAGO_CLIENT_SECRET = env.str("MERCADOPAGO_CLIENT_SECRET", default="")
MERCADOPAGO_SPONSOR_ID = env.str("MERCADOPAGO_SPONSOR_ID", default="")
MERCADOPAGO_PLATFORM_ID = env.str("MERCADOPAGO_PLATFORM_ID", default="")
MERCADOPAGO_INTEGRATOR_ID = env.str("MERCADOPAGO_INTEGRATOR_ID", default="")
MERCADOPAGO_WEBHOOK_SECRET = env.str("MERCADOPAGO_WEBHOOK_SECRET", default="")
# The webhook secret being replaced, still accepted while Mercado Pago switches (optional).
MERCADOPAGO_WEBHOOK_SECRET_PREVIOUS = env.str("MERCADOPAGO_WEBHOOK_SECRET_PREVIOUS", default="")
# Fernet keys for seller credentials, newest first: encryption uses the first, decryption tries all.
MERCADOPAGO_CREDENTIAL_KEYS = env_list("MERCADOPAGO_CREDENTIAL_KEYS", [])
# Tests reach the sandbox in-process: a dotted path to a function returning an httpx transport.
MERCADOPAGO_HTTP_TRANSPORT = ""
# The emulator of Mercado Pago, mounted under /sandbox/. With DEBUG on it is on by default when it
# is the API target; with DEBUG off only SANDBOX_ENABLED=true turns it on.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG and not MERCADOPAGO_API_BASE_URL)
# How long, in seconds, the client waits for Mercado Pago, and how many times it retries.
MERCADOPAGO_TIMEOUT = env.float("MERCADOPAGO_TIMEOUT", default=20.0)
MERCADOPAGO_MAX_RETRIES = 3
MERCADOPAGO_BACKOFF_BASE = 0.5  # seconds; retries wait up to base * 2**n, with full jitter
# Seconds all the Mercado Pago calls of one web request may take together, retries included:
# below gunicorn's timeout (gunicorn.conf.py checks), so a slow answer never kills a worker.
MERCADOPAGO_REQUEST_BUDGET = env.float("MERCADOPAGO_REQUEST_BUDGET", default=25.0)
# How far, in seconds, a webhook's signed timestamp may be from now.
MERCADOPAGO_WEBHOOK_TOLERANCE = env.int("MERCADOPAGO_WEBHOOK_TOLERANCE", default=300)

# Orders: how long a new order stays payable when no expiration is given, and how often (in
# seconds) beat reconciles open orders whose notification is overdue and expires overdue ones.
ORDERS_DEFAULT_EXPIRATION = env.int("ORDERS_DEFAULT_EXPIRATION", default=15 * 60)
ORDERS_RECONCILE_INTERVAL = env.int("ORDERS_RECONCILE_INTERVAL", default=120)
ORDERS_RECONCILE_AFTER = env.int("ORDERS_RECONCILE_AFTER", default=300)
ORDERS_EXPIRE_INTERVAL = env.int("ORDERS_EXPIRE_INTERVAL", default=60)
# Seconds a POS's display shows its order's final state (paid, expired, canceled) before idle.
DISPLAY_FINAL_STATE_SECONDS = env.int("DISPLAY_FINAL_STATE_SECONDS", default=15)
# Redis whose pub/sub carries order changes to the open displays and cashier pages (orders/live.py,
# served by deploy/live.sh); the broker's when it is Redis. Empty: the pages poll.
LIVE_STATUS_REDIS_URL = env.str(
    "LIVE_STATUS_REDIS_URL",
    default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "",
)
# Mercado Pago's notification inbox (docs/orders.md, "Inbox limits"): the largest body accepted
# (bytes); rejected requests per client address (e.g. "60/min"; empty: no limit) and the days
# their records are kept; the window (seconds) over which IPN look-ups of one (seller, topic, id)
# are coalesced, and each seller's IPN look-ups (e.g. "60/min"); after how many seconds without
# progress an unprocessed notification is stuck, how many times the sweeper queues it
# again, and how often (seconds) it runs.
NOTIFICATIONS_MAX_BYTES = env.int("NOTIFICATIONS_MAX_BYTES", default=64 * 1024)
NOTIFICATIONS_REJECTED_RATE = env.str("NOTIFICATIONS_REJECTED_RATE", default="60/min")
NOTIFICATIONS_REJECTED_RETENTION_DAYS = env.int("NOTIFICATIONS_REJECTED_RETENTION_DAYS", default=7)
NOTIFICATIONS_IPN_WINDOW = env.int("NOTIFICATIONS_IPN_WINDOW", default=10)
NOTIFICATIONS_IPN_SELLER_RATE = env.str("NOTIFICATIONS_IPN_SELLER_RATE", default="60/min")
NOTIFICATIONS_STUCK_AFTER = env.int("NOTIFICATIONS_STUCK_AFTER", default=15 * 60)
NOTIFICATIONS_MAX_SWEEPS = env.int("NOTIFICATIONS_MAX_SWEEPS", default=5)
NOTIFICATIONS_SWEEP_INTERVAL = env.int("NOTIFICATIONS_SWEEP_INTERVAL", default=60)
# The inbox as the queue (docs/deploy.md, "Notification relay"): the webhook view only stores the
# row, and the relay process (deploy/relay.sh) publishes its task, woken by PostgreSQL's NOTIFY
# or, failing that, every NOTIFICATIONS_RELAY_POLL seconds. Off: the view publishes the task.
NOTIFICATIONS_RELAY = env.bool("NOTIFICATIONS_RELAY", default=False)
NOTIFICATIONS_RELAY_POLL = env.float("NOTIFICATIONS_RELAY_POLL", default=5.0)

CELERY_BEAT_SCHEDULE = {
    **TENANTS_BEAT_SCHEDULE,
    **REPORTS_BEAT_SCHEDULE,
    **orders_beat_schedule(
        reconcile_every=ORDERS_RECONCILE_INTERVAL,
        expire_every=ORDERS_EXPIRE_INTERVAL,
        sweep_every=NOTIFICATIONS_SWEEP_INTERVAL,
    ),
}
if SANDBOX_ENABLED:
    MIDDLEWARE.insert(
        MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1,
        "sandbox.faults.FaultInjectionMiddleware",
    )
    # Where the sandbox's application sends webhooks: this platform's endpoint, as an integrator
    # configures it in Mercado Pago's dashboard (changeable on the sandbox's control page).
    SANDBOX_WEBHOOK_URL = f"{SITE_URL}/webhooks/mercadopago/"
    # The sandbox retries its notifications on Mercado Pago's schedule.
    CELERY_BEAT_SCHEDULE["sandbox-deliver-due"] = {"task": "sandbox.deliver_due", "schedule": 60}

# The partner API (docs/api.md). Its views authenticate partner apps' OAuth2 tokens and signed-in
# users (the browsable API), act for one tenant, and answer errors in one format.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "partners.rest.PartnerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": [
        "partners.rest.FastJSONRenderer",  # DRF's JSON, written by orjson
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "partners.autoschema.PartnerAutoSchema",
    "EXCEPTION_HANDLER": "partners.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Requests per token (or signed-in user) and period, e.g. "600/min"; empty for no limit.
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="600/min")
# How long, in seconds, an Idempotency-Key and its first answer are kept.
IDEMPOTENCY_KEY_TTL = env.int("IDEMPOTENCY_KEY_TTL", default=24 * 3600)
# Partners' webhooks (partners/webhooks.py): attempts per event before it fails; the wait before
# a retry, base * 2**n seconds up to the maximum; the HTTP timeout in seconds; whether endpoints
# may use http:// and private, loopback or reserved addresses (on with DEBUG, for local work); and
# how often, in seconds, beat re-queues due deliveries whose message was lost.
WEBHOOKS_MAX_ATTEMPTS = env.int("WEBHOOKS_MAX_ATTEMPTS", default=12)
WEBHOOKS_BACKOFF_BASE = env.float("WEBHOOKS_BACKOFF_BASE", default=30.0)
WEBHOOKS_BACKOFF_MAX = env.float("WEBHOOKS_BACKOFF_MAX", default=6 * 3600.0)
WEBHOOKS_TIMEOUT = env.float("WEBHOOKS_TIMEOUT", default=10.0)
WEBHOOKS_ALLOW_PRIVATE_URLS = env.bool("WEBHOOKS_ALLOW_PRIVATE_URLS", default=DEBUG)
WEBHOOKS_DUE_INTERVAL = env.int("WEBHOOKS_DUE_INTERVAL", default=60)
# Days partners' events stay listed (GET /api/v1/events); beat deletes older ones daily.
EVENTS_RETENTION_DAYS = env.int("EVENTS_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE |= partners_beat_schedule(deliver_due_every=WEBHOOKS_DUE_INTERVAL)

# The throttle's counters, which every web process must share: CACHE_URL, else the broker's Redis
# (keys under the "cache" prefix), else this process's memory (refused with DEBUG off: E010).
if env.str("CACHE_URL", default=""):
    CACHES = {"default": env.cache("CACHE_URL")}
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CELERY_BROKER_URL,
            "KEY_PREFIX": "cache",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
for _cache in CACHES.values():
    if _cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        # A Redis that does not answer fails a request (and /readyz's "cache") in seconds.
        _cache.setdefault("OPTIONS", {}).update(socket_connect_timeout=3, socket_timeout=3)
# Seconds a partner API token stays authenticated in the cache (partners/token_cache.py): every
# revocation drops it at once. Only with a cache that every process shares (Redis): 0 otherwise.
_SHARED_CACHE = CACHES["default"]["BACKEND"] not in (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)
API_TOKEN_CACHE_SECONDS = env.int("API_TOKEN_CACHE_SECONDS", default=60) if _SHARED_CACHE else 0
# Seconds /readyz gives its checks (database, cache, broker, secrets), which run side by side:
# it answers within about this long whatever hangs (merchant_platform/health.py).
READINESS_TIMEOUT = env.float("READINESS_TIMEOUT", default=3.0)

# Partner apps' OAuth2 (django-oauth-toolkit), on the compliant side of every RFC 9700 gate.
# Every token acts for one seller: see partners/oauth.py.
OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "partners.oauth.PartnerOAuth2Validator",
    "SCOPES": SCOPES,
    "DEFAULT_SCOPES": ["orders:read"],
    "REQUEST_APPROVAL_PROMPT": "force",  # consent always picks the seller
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS", default=3600),
    "PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # Rotation's grace: for this many seconds the previous access token stays valid and the
    # previous refresh token may be used again (workers refreshing at once); partners/oauth.py.
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": env.int("OAUTH_REFRESH_TOKEN_GRACE_SECONDS", default=10),
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"] if DEBUG else ["https"],
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

# DOT's E001 refuses hashed token storage with a refresh grace period because DOT's own grace
# answers again the pair it issued first, which hashed storage no longer holds in clear. Ours
# issues another pair of the same family instead (partners.oauth, tests/api/test_refresh_grace.py),
# so the two go together here.
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.E001"]

# DOT's models are swappable; naming them lets migrations point at them.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105

SPECTACULAR_SETTINGS = {
    "TITLE": "Merchant platform API",
    "DESCRIPTION": (
        "Mercado Pago in-person QR payments for partner apps, one seller per token "
        "(docs/api.md). Authenticate with an OAuth2 token (authorization code with PKCE, or "
        "client credentials); each operation lists the scope it needs. Every error answers "
        "the `Error` schema: a stable `code`, a `message`, `fields` for validation errors and "
        "`mercadopago_error` when Mercado Pago refused. Lists are cursor-paginated, newest "
        "first. Bodies are JSON (`application/json`) only, and input an operation does not "
        "take is refused by name. Every POST may carry an `Idempotency-Key`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Request bodies as their own components, without read-only fields: what generated clients send.
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for the event types an endpoint subscribes to and an event is of.
    "ENUM_NAME_OVERRIDES": {
        "EventTypeEnum": "partners.events_api.EVENT_TYPE_CHOICES",
        "RefundStatusEnum": "orders.models.Refund.Status",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Relative URLs: Swagger UI resolves them against the deployment that serves the docs.
    "OAUTH2_FLOWS": ["authorizationCode", "clientCredentials"],
    "OAUTH2_AUTHORIZATION_URL": "/o/authorize/",
    "OAUTH2_TOKEN_URL": "/o/token/",
    "OAUTH2_REFRESH_URL": "/o/token/",
    "OAUTH2_SCOPES": SCOPES,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "partners.schema.add_error_responses",
    ],
    "SWAGGER_UI_SETTINGS": {
        "deepLinking": True,
        "persistAuthorization": True,
        # Swagger UI's OAuth2 callback page, served from the sidecar's static files; a partner
        # app used from the docs registers it as a redirect URI.
        "oauth2RedirectUrl": (
            f"{SITE_URL}/{STATIC_URL}drf_spectacular_sidecar/swagger-ui-dist/oauth2-redirect.html"
        ),
    },
    "SWAGGER_UI_OAUTH2_CONFIG": {
        "usePkceWithAuthorizationCodeGrant": True,
        "scopeSeparator": " ",
        "appName": "Merchant platform API docs",
    },
}

# Prometheus metrics at /metrics (merchant_platform/metrics.py, docs/operations.md). A scraper
# sends "Authorization: Bearer METRICS_TOKEN", or comes from METRICS_ALLOWED_ADDRESSES (addresses
# or CIDR blocks, comma-separated, as TRUSTED_PROXY_COUNT resolves the client); with neither the
# endpoint is open with DEBUG on and answers 404 with it off. Under gunicorn (several processes)
# PROMETHEUS_MULTIPROC_DIR names an empty directory the processes share, emptied at each boot.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_ADDRESSES = env_list("METRICS_ALLOWED_ADDRESSES", [])
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
if not PROMETHEUS_MULTIPROC_DIR:
    # prometheus_client turns on its multi-process mode when the variable exists, even empty.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

# Optional error reporting (merchant_platform/error_reporting.py): with SENTRY_DSN set, uncaught
# errors of web requests and Celery tasks go to Sentry, without personal data, and secrets masked.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from merchant_platform import error_reporting

    error_reporting.init(
        SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production"),
        release=env.str("SENTRY_RELEASE", default=""),
    )

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING_CONFIG = "merchant_platform.logging.configure"  # dictConfig, and secrets masked in records
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"one_line": {"()": "merchant_platform.logging.OneLineJSONFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "one_line",
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
    },
}
