"""Changing one's e-mail address, confirmed from the new mailbox.

The request sends a signed link to the new address (``django.core.signing``, valid for a day)
and a notice, without a link, to the current one. The link carries the account, the new address
and the address it replaces: once the account's address changed (by this link or otherwise) the
link is dead. An address that another account uses is refused only when the link is opened,
that is, to someone who proved they read that mailbox.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse

from accounts import limits
from accounts.emails import send_email
from accounts.recipients import language_of_account
from tenants.models import User

SALT = "accounts.email-change"
MAX_AGE = timedelta(days=1)


class InvalidLink(Exception):
    """The link is malformed, expired, or the account's address changed since it was sent."""


class OtherAccount(InvalidLink):
    """The link was sent for another account than the one signed in."""


class EmailTaken(Exception):
    """Another account uses the new address already."""


def normalize(email: str) -> str:
    return email.strip().lower()


def request_email_change(*, user: User, new_email: str) -> None:
    """Send ``user`` a link to ``new_email`` that makes it their address, and tell their
    current address (if any) that a change was asked for."""
    new_email = normalize(new_email)
    token = signing.dumps({"user": user.pk, "new": new_email, "old": user.email}, salt=SALT)
    url = settings.SITE_URL + reverse("accounts:email-confirm", kwargs={"token": token})
    language = language_of_account(user)
    context = {"username": user.get_username(), "new_email": new_email}
    send_email(
        to=new_email,
        template="email_change_confirm",
        context=context | {"url": url},
        language=language,
    )
    if user.email:
        send_email(
            to=user.email, template="email_change_notice", context=context, language=language
        )


@transaction.atomic
def confirm_email_change(*, user: User, token: str) -> str:
    """Make the address ``token`` carries ``user``'s (and their username, when it was their
    address); the new address. Raises :class:`InvalidLink`, :class:`OtherAccount` or
    :class:`EmailTaken`, changing nothing."""
    try:
        change = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature as error:  # SignatureExpired included
        raise InvalidLink from error
    if change["user"] != user.pk:
        raise OtherAccount
    account = User.objects.select_for_update().get(pk=user.pk)
    if normalize(account.email) != normalize(change["old"]):
        raise InvalidLink
    new_email = change["new"]
    others = User.objects.exclude(pk=account.pk)
    if others.filter(email__iexact=new_email).exists():
        raise EmailTaken
    fields = ["email"]
    if account.email and normalize(account.username) == normalize(account.email):
        if others.filter(username__iexact=new_email).exists():
            raise EmailTaken
        account.username = new_email
        fields.append("username")
    account.email = new_email
    account.save(update_fields=fields)
    return new_email


def within_budget(user: User) -> bool:
    """Count one request of ``user`` to change their address (``EMAIL_CHANGE_RATE``), wrong
    passwords included; whether it is allowed."""
    return limits.within_budget("email-change", f"user:{user.pk}", rate=settings.EMAIL_CHANGE_RATE)
