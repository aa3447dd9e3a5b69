"""Optional error reporting to Sentry (or a Sentry-compatible service such as GlitchTip).

Nothing happens unless ``SENTRY_DSN`` is set; the settings then call :func:`init` once per
process (web, Celery worker and beat). Events carry no personal data, no request bodies and no
local variables, and every string left in them goes through the log masking
(``merchant_platform.logging.redact``) and the Mercado Pago token masking
(``mpapi.observe.scrub``), with the values of secret-looking keys replaced whole.
"""

from collections.abc import Mapping

from merchant_platform.logging import MASK
from merchant_platform.logging import redact as redact_text
from mpapi.observe import SECRET_KEYS, scrub

# Keys whose values are dropped wherever they appear in an event (headers, extra, contexts...).
EVENT_SECRET_KEYS = SECRET_KEYS | {
    "cookie",
    "set-cookie",
    "sessionid",
    "csrftoken",
    "x-csrftoken",
    "credential_keys",
    "secret_key",
    "webhook_secret",
    "metrics_token",
    "dsn",
}


def init(dsn: str, *, environment: str, release: str = "") -> None:
    """Report uncaught errors of Django views and Celery tasks (and error-level log lines)."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,  # a frame's locals may hold a token or a key
        max_request_body_size="never",  # bodies carry OAuth codes, client secrets, buyers' data
        before_send=scrub_event,
        before_breadcrumb=lambda crumb, hint: scrub_value(crumb),
        traces_sample_rate=0.0,
    )


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """``before_send``: the event with secrets masked (it is always sent)."""
    return scrub_value(event)


def scrub_value(value: object, key: object = None) -> object:
    """A copy of ``value`` with secret-looking keys' values and token-shaped text masked."""
    if key is not None and str(key).lower() in EVENT_SECRET_KEYS and value not in (None, ""):
        return MASK
    if isinstance(value, Mapping):
        return {name: scrub_value(item, name) for name, item in value.items()}
    if isinstance(value, list | tuple):
        # Sentry writes headers and query strings as [name, value] pairs.
        if len(value) == 2 and isinstance(value[0], str) and not isinstance(value[1], Mapping):
            return [value[0], scrub_value(value[1], value[0])]
        return [scrub_value(item) for item in value]
    if isinstance(value, str):
        return redact_text(scrub(value))
    return value
