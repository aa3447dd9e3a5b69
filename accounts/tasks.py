"""Celery tasks of accounts: sending a rendered e-mail (``accounts.emails``)."""

import logging
import smtplib

from django.core.mail import EmailMultiAlternatives

from merchant_platform.celery import app

logger = logging.getLogger(__name__)

SEND_RETRIES = 8  # with backoff up to ten minutes: about an hour of a mail server being down


@app.task(
    name="accounts.send_email",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=SEND_RETRIES,
)
def send_email(*, to: str, subject: str, text: str, html: str) -> None:
    """Send one rendered message (a plain-text part and its HTML alternative) to ``to``."""
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()
    logger.info("E-mail %r sent", subject)
