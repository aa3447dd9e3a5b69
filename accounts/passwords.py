"""Password reset by e-mail: Django's tokens and pages (``django.contrib.auth.views``), the link
sent in the account's language (``accounts.emails``), and a budget per client address and per
e-mail address (``PASSWORD_RESET_RATE``), so that the form cannot flood a mailbox.

Whatever happens (an unknown address, an inactive account, a spent budget), the person who asked
sees the same page: the form never says whether an address has an account.
"""

import logging
from collections.abc import Iterable

from axes.utils import reset as reset_attempts
from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.emails import send_email
from accounts.limits import within_budget
from accounts.recipients import language_of_account
from tenants.models import User

logger = logging.getLogger(__name__)


def send_reset_links(
    *,
    email: str,
    accounts: Iterable[User],
    client: str,
    token_generator: PasswordResetTokenGenerator,
) -> None:
    """Mail a reset link to each of ``accounts`` (the active accounts of ``email`` with a
    password), unless ``client`` or ``email`` spent their budget; nothing tells which happened."""
    if not within_budget(
        "password-reset", f"client:{client}", f"email:{email}", rate=settings.PASSWORD_RESET_RATE
    ):
        logger.warning("Password reset refused: too many requests from this client or address")
        return
    for user in accounts:
        path = reverse(
            "accounts:password-reset-confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": token_generator.make_token(user),
            },
        )
        send_email(
            to=user.email,
            template="password_reset",
            context={
                "username": user.get_username(),
                "url": settings.SITE_URL + path,
                "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
            },
            language=language_of_account(user),
        )


def password_was_reset(user: User) -> None:
    """After a reset by e-mail: the failed sign-ins counted against the account are forgotten,
    so that its owner can sign in at once with the new password."""
    reset_attempts(username=user.get_username())
