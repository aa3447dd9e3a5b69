"""Refusing to start a process whose settings are missing or unsafe.

Django runs its system checks in ``manage.py`` only: gunicorn, uvicorn and Celery run none (or,
for Celery, ignore what they find). So the web entry points (``wsgi.py``, ``asgi.py``) and the
Celery app (``worker_init``, ``beat_init``) call :func:`ensure_safe_to_start` once Django is set
up: it runs this project's checks (``merchant_platform.checks``) and raises on every error among
them that ``SILENCED_SYSTEM_CHECKS`` does not silence. With ``DEBUG`` off that means a missing
secret, a public development value, plain HTTP or a per-process cache; with ``DEBUG`` on only
malformed values, as ``runserver`` already refuses them.
"""

import django
from django.apps import apps
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from merchant_platform.checks import PROJECT_TAG


class UnsafeToStart(ImproperlyConfigured):
    """The settings are missing or unsafe; the message names each one (never its value)."""


def startup_errors() -> list:
    """This project's errors that stop a process from starting: not warnings, not silenced."""
    if not apps.ready:
        django.setup()
    return [
        message
        for message in run_checks(tags=[PROJECT_TAG])
        if message.is_serious() and not message.is_silenced()
    ]


def ensure_safe_to_start(process: str) -> None:
    """Raise :class:`UnsafeToStart` if ``process`` (e.g. "the web process") must not start."""
    errors = startup_errors()
    if not errors:
        return
    lines = [f"Refusing to start {process}: these settings are missing or unsafe."]
    for error in errors:
        lines.append(f"- {error.id}: {error.msg}")
        if error.hint:
            lines.append(f"  {error.hint}")
    lines.append(
        "Set them in the environment (docs/deploy.md lists every variable); for local work "
        "only, set DEBUG=true."
    )
    raise UnsafeToStart("\n".join(lines))
