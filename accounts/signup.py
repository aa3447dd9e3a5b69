"""Sellers signing up by themselves (``SELF_SIGNUP``, off by default), verified by e-mail.

Signing up creates an inactive account and mails a signed link (valid for two days) that carries
the account, the business's name and its Mercado Pago site; opening it activates the account and
creates the seller with the account as its owner. The page that follows a sign-up always reads
the same: an address that has an account already gets an e-mail saying so (with the way to reset
the password) instead of a link, and nothing on the page tells which happened.
"""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.text import slugify

from accounts.emails import send_email
from accounts.limits import within_budget
from accounts.recipients import language_of_account
from tenants.models import Tenant, User
from tenants.services import create_tenant

logger = logging.getLogger(__name__)

SALT = "accounts.signup"
MAX_AGE = timedelta(days=2)


class InvalidLink(Exception):
    """The link is malformed or expired, or a later sign-up for the address replaced it."""


class UsedLink(Exception):
    """The account was activated already (by this link or another)."""


def sign_up(
    *, business_name: str, site: str, email: str, password: str, client: str, language: str
) -> None:
    """Sign ``email`` up for a new seller on ``site``: mail a verification link, or, if the
    address has an account already, a note saying so. Nothing is sent once ``client`` spent its
    budget (``SIGNUP_RATE``). ``language`` is the page's, for an address with no account yet."""
    if not within_budget("signup", f"client:{client}", rate=settings.SIGNUP_RATE):
        logger.warning("Sign-up refused: too many from this client")
        return
    email = email.strip().lower()
    # An active account of the address first, should an unconfirmed one share it.
    account = (
        User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email))
        .order_by("-is_active", "pk")
        .first()
    )
    if account is not None and account.is_active:
        send_email(
            to=account.email or email,
            template="signup_exists",
            context={
                "username": account.get_username(),
                "url": settings.SITE_URL + reverse("accounts:password-reset"),
            },
            language=language_of_account(account),
        )
        return
    if account is not None and (
        account.last_login or Tenant.objects.filter(memberships__user=account).exists()
    ):
        logger.info("Sign-up ignored: the address belongs to a deactivated account")
        return
    if account is None:
        account = User(username=email, is_active=False)
    account.email = email
    account.password = make_password(password)
    account.save()
    token = signing.dumps(
        {"user": account.pk, "name": business_name, "site": site, "key": _key(account)}, salt=SALT
    )
    send_email(
        to=email,
        template="signup_verify",
        context={
            "business_name": business_name,
            "url": settings.SITE_URL + reverse("accounts:signup-verify", kwargs={"token": token}),
        },
        language=language,
    )


def pending_business(token: str) -> str:
    """The business name the link of :func:`sign_up` would create, checking the link as
    :func:`verify` does but changing nothing (a page asks to confirm before the account starts:
    a mail scanner that opens links never starts one)."""
    signed, _account = _checked(token, User.objects.all())
    return signed["name"]


@transaction.atomic
def verify(token: str) -> User:
    """Activate the account the link of :func:`sign_up` names and create its seller, with the
    account as owner; the account. Raises :class:`InvalidLink` or :class:`UsedLink`."""
    signed, account = _checked(token, User.objects.select_for_update())
    account.is_active = True
    account.save(update_fields=["is_active"])
    create_tenant(
        name=signed["name"], site=signed["site"], slug=_free_slug(signed["name"]), owner=account
    )
    return account


def _checked(token: str, accounts) -> tuple[dict, User]:
    try:
        signed = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature as error:  # SignatureExpired included
        raise InvalidLink from error
    account = accounts.filter(pk=signed["user"]).first()
    if account is None:
        raise InvalidLink
    if account.is_active:
        raise UsedLink
    if signed["key"] != _key(account):
        raise InvalidLink
    return signed, account


def _key(account: User) -> str:
    """A fingerprint of the account's password: a later sign-up, which sets another password,
    kills the links sent before it."""
    return salted_hmac(SALT, account.password).hexdigest()[:20]


def _free_slug(name: str) -> str:
    slug = slugify(name)[:60] or "seller"
    if Tenant.objects.filter(slug=slug).exists():
        slug = f"{slug[:53]}-{secrets.token_hex(3)}"
    return slug
