"""E-mail to people. Each message is three templates under ``templates/emails/``:
``<name>_subject.txt`` (one line), ``<name>.txt`` (the plain-text part) and ``<name>.html`` (the
HTML alternative, extending ``emails/base.html``), rendered in the recipient's language and sent
through Django's e-mail backend (``EMAIL_URL``: the console under ``make run``, SMTP in
production).

A message is rendered at once (in the caller's language and data) and sent by a Celery task
after the caller's transaction commits: nothing is sent for a write that rolled back, and a
mail server that is down is retried without failing the request.
"""

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from merchant_platform.language import language_for
from tenants.models import Tenant, User


def language_of(user: User | None, tenant: Tenant | None = None) -> str:
    """The language to write to ``user`` in: their choice, else ``tenant``'s (worded for its
    country), else the platform's default. ``user`` is None for an address with no account."""
    chosen = user.language if user is not None else ""
    site = tenant.site if tenant is not None else None
    return language_for(site, chosen) or settings.LANGUAGE_CODE


def render_email(*, template: str, context: dict, language: str) -> dict[str, str]:
    """``template``'s subject, plain text and HTML in ``language``."""
    context = {"site_url": settings.SITE_URL, **context}
    with translation.override(language):
        subject = render_to_string(f"emails/{template}_subject.txt", context)
        text = render_to_string(f"emails/{template}.txt", context)
        html = render_to_string(f"emails/{template}.html", context)
    return {"subject": " ".join(subject.split()), "text": text, "html": html}


def send_email(*, to: str, template: str, context: dict, language: str) -> None:
    """Render ``template`` for ``to`` in ``language`` and send it once the current transaction
    commits (at once outside one)."""
    message = render_email(template=template, context=context, language=language)

    def send() -> None:
        from accounts.tasks import send_email as send_task

        send_task.delay(to=to, **message)

    transaction.on_commit(send, robust=True)
