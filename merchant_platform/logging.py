"""Production logging: one JSON object per line, secrets masked.

Every record becomes a single line (tracebacks included, their newlines escaped by JSON), carrying
what it is about (``merchant_platform.request_context``): the request id, the tenant (the one in
scope, or the one the request or task named), the order, partner, notification and Celery task.
They are taken as the record is made, so a record handled later (another thread, a test's
capture) still names them. Bearer tokens, Mercado Pago access tokens and the values of
secret-looking keys are masked before the line is written, in every field, and already in the
message of every record as it is made (``configure``), so that no handler ever sees them: not a
test's, not an error tracker's, not one a library adds. Python's warnings are logged too.
"""

import json
import logging
import logging.config
import re
from datetime import UTC, datetime

MASK = "[redacted]"

_SECRET_PATTERNS = [
    # Authorization headers and bare Mercado Pago tokens (APP_USR-..., TEST-..., TG-...).
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\b(?:APP_USR|TEST|TG)-[A-Za-z0-9-]{8,}"),
    # key=value, key: value, "key": "value" and Python's 'key': 'value' (a dict's repr, as
    # oauthlib logs the token it issues) for keys that hold secrets.
    re.compile(
        r"(?i)([\"']?\b(?:access_token|refresh_token|client_secret|secret|password|code_verifier"
        r"|authorization|api_key|token)\b[\"']?\s*[:=]\s*[\"']?)[^\"'&,\s}]+"
    ),
]


def redact(text: str) -> str:
    """Mask tokens and secret values in ``text``."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
    return text


class OneLineJSONFormatter(logging.Formatter):
    """Format a record as one line of JSON with secrets masked."""

    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        context = getattr(record, CONTEXT_ATTRIBUTE, None)
        if context is None:
            context = context_of_now()
        for name, value in context.items():
            event.setdefault(name, redact(value) if isinstance(value, str) else value)
        if record.exc_info:
            event["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(event, ensure_ascii=False, default=str)


CONTEXT_ATTRIBUTE = "log_context"


def context_of_now() -> dict:
    """The fields of a line logged now: the request context's, and the tenant in scope."""
    from merchant_platform.request_context import current
    from tenants.scope import get_current_tenant

    context = dict(current())
    tenant = get_current_tenant()
    if tenant is not None:  # its own fields only: never a query from inside logging
        context.update(tenant=tenant.__dict__.get("slug"), tenant_id=tenant.pk)
    return {name: value for name, value in context.items() if value is not None}


def configure(config: dict) -> None:
    """Django's ``LOGGING_CONFIG``: apply ``LOGGING``; give every new record the fields of its
    context, and mask secrets in its message."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)  # a warning is a line of JSON too, not raw text on stderr
    previous = logging.getLogRecordFactory()
    if not getattr(previous, "masks_secrets", False):
        logging.setLogRecordFactory(_masking(previous))


def _masking(make_record):
    def make_masked_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        setattr(record, CONTEXT_ATTRIBUTE, context_of_now())
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it when the record is handled
            return record
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    make_masked_record.masks_secrets = True
    return make_masked_record
