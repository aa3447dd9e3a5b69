"""Invitations to join a seller: sending, the signed link, accepting, revoking.

Nobody is attached to a seller without accepting. Platform staff invite anyone to any seller with
any role; a seller's members who manage members (owners) invite into their own seller. Inviting
an address again never fails and never changes a role silently: an open invitation is sent again
(a new link; the old one stops working), and a member is left as they are, with a message that
says so. What the inviter is told never reveals whether the address has an account.

The link carries the invitation's id and nonce, signed and timestamped (``django.core.signing``):
it works for ``INVITATION_MAX_AGE_DAYS``, until the invitation's ``expires_at``, once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from accounts.emails import language_of, send_email
from accounts.models import Invitation
from tenants import services as tenant_services
from tenants.models import Membership, Tenant, User
from tenants.roles import Capability, Role, role_can, sees_every_tenant
from tenants.scope import cross_tenant_scope, tenant_scope

SALT = "accounts.invitation"


class Sent(StrEnum):
    """What ``invite`` did."""

    SENT = "sent"  # a new invitation
    RESENT = "resent"  # the open invitation of the address, with a new link
    ALREADY_MEMBER = "already_member"  # nothing: the address's account is a member


@dataclass(frozen=True)
class InviteOutcome:
    """What ``invite`` did, and a message that is safe to show the inviter."""

    kind: Sent
    email: str
    tenant: Tenant
    role: str  # the invitation's role, or the member's current role
    previous_role: str | None = None  # an open invitation's role before it was resent
    invitation: Invitation | None = None

    @property
    def message(self) -> str:
        """The outcome in the active language."""
        values = {
            "email": self.email,
            "seller": self.tenant.name,
            "role": Role(self.role).label,
            "previous": Role(self.previous_role).label if self.previous_role else "",
        }
        if self.kind == Sent.ALREADY_MEMBER:
            return (
                _(
                    "%(email)s is already a member of %(seller)s, as %(role)s. Nothing was "
                    "changed: to change their role, open their membership in Members."
                )
                % values
            )
        if self.kind == Sent.RESENT and self.previous_role:
            return (
                _(
                    "%(email)s already had an invitation to %(seller)s: its role changed from "
                    "%(previous)s to %(role)s, and a new link was sent. The earlier link no "
                    "longer works."
                )
                % values
            )
        if self.kind == Sent.RESENT:
            return (
                _(
                    "%(email)s already had an invitation to %(seller)s as %(role)s: a new link "
                    "was sent. The earlier link no longer works."
                )
                % values
            )
        return _("An invitation to join %(seller)s as %(role)s was sent to %(email)s.") % values


class NotAllowedToInvite(PermissionError):
    """The user may not invite into this seller (or not with this role)."""


class InvitationError(Exception):
    """The invitation cannot be accepted; ``invitation`` is the row when the link named one."""

    def __init__(self, invitation: Invitation | None = None) -> None:
        super().__init__(type(self).__name__)
        self.invitation = invitation


class InvalidLink(InvitationError):
    """The link was not made here (a bad signature), or names no invitation."""


class ExpiredLink(InvitationError):
    """The link is older than ``INVITATION_MAX_AGE_DAYS`` or the invitation expired."""


class UsedLink(InvitationError):
    """The invitation was accepted already."""


class ReplacedLink(InvitationError):
    """The invitation was sent again since: only the newest link works."""


class RevokedLink(InvitationError):
    """The invitation was revoked."""


class WrongAccount(InvitationError):
    """The account accepting is not the invited address's."""


class StaffCannotAccept(InvitationError):
    """Platform staff see every seller already; they never become a seller's member."""


def normalize_email(email: str) -> str:
    """The address as invitations and new accounts store it: trimmed, lower-case."""
    return User.objects.normalize_email(email.strip()).lower()


def account_for(email: str) -> User | None:
    """The account of ``email`` (the oldest, if several share it), or None."""
    email = normalize_email(email)
    matching = Q(email__iexact=email) | Q(username__iexact=email)  # new accounts: username=email
    return User.objects.filter(matching).order_by("pk").first()


def is_account_of(user: User, email: str) -> bool:
    """Whether ``user`` is the account of ``email`` (by address, or a username that is it)."""
    email = normalize_email(email)
    return email in (normalize_email(user.email or ""), user.get_username().lower())


def needs_password(account: User | None) -> bool:
    """Whether the invitee has no usable account and sets a password on accepting: no account,
    an account without a password, or one never activated (self-signup awaiting its e-mail
    verification; the invitation's link proves the address as well)."""
    if account is None or not account.has_usable_password():
        return True
    return not account.is_active and account.last_login is None


def may_invite(user: User, tenant: Tenant, role: str = Role.VIEWER) -> bool:
    """Whether ``user`` may invite people into ``tenant`` with ``role``: platform staff always,
    members with ``Capability.MANAGE_MEMBERS`` in their own seller."""
    if sees_every_tenant(user):
        return True
    if not user.is_authenticated:
        return False
    with tenant_scope(tenant):
        membership = Membership.objects.filter(user=user).first()
    return membership is not None and role_can(membership.role, Capability.MANAGE_MEMBERS)


def _max_age() -> timedelta:
    return timedelta(days=settings.INVITATION_MAX_AGE_DAYS)


def token_for(invitation: Invitation) -> str:
    """The signed, timestamped token of ``invitation``'s current link."""
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=SALT)


def link_for(invitation: Invitation) -> str:
    """The absolute URL of ``invitation``'s current link."""
    path = reverse("accounts:invitation", args=[token_for(invitation)])
    return f"{settings.SITE_URL}{path}"


def invite(*, tenant: Tenant, email: str, role: str, invited_by: User) -> InviteOutcome:
    """Invite ``email`` to join ``tenant`` as ``role`` and e-mail the link (after commit).

    An open invitation of the address is sent again instead (new link, new expiry, the role
    given now); a member of ``tenant`` is left unchanged (``Sent.ALREADY_MEMBER``). Raises
    ``NotAllowedToInvite`` unless ``may_invite``.
    """
    role = Role(role)
    if not may_invite(invited_by, tenant, role):
        raise NotAllowedToInvite(_("You may not invite people to this seller."))
    email = normalize_email(email)
    account = account_for(email)
    with tenant_scope(tenant), transaction.atomic():
        if account is not None:
            membership = Membership.objects.filter(user=account).first()
            if membership is not None:
                return InviteOutcome(Sent.ALREADY_MEMBER, email, tenant, membership.role)
        invitation = (
            Invitation.objects.select_for_update()
            .filter(email=email, accepted_at__isnull=True, revoked_at__isnull=True)
            .first()
        )
        previous_role = invitation.role if invitation is not None else None
        if invitation is None:
            invitation = Invitation(tenant=tenant, email=email)
        invitation.role = role
        invitation.invited_by = invited_by
        _renew(invitation)
        try:
            with transaction.atomic():
                invitation.save()
        except IntegrityError:  # an invitation of the same address was created meanwhile
            return invite(tenant=tenant, email=email, role=role, invited_by=invited_by)
        _send(invitation, account)
    if previous_role is None:
        return InviteOutcome(Sent.SENT, email, tenant, role, invitation=invitation)
    changed = previous_role if previous_role != role else None
    return InviteOutcome(Sent.RESENT, email, tenant, role, changed, invitation)


def _renew(invitation: Invitation) -> None:
    """A new nonce (the earlier link dies), sent now, expiring after the maximum age."""
    invitation.nonce = secrets.token_urlsafe(32)
    invitation.sent_at = timezone.now()
    invitation.expires_at = invitation.sent_at + _max_age()


def _send(invitation: Invitation, account: User | None) -> None:
    inviter = invitation.invited_by
    context = {
        "inviter": (inviter.get_full_name() or inviter.email or inviter.username)
        if inviter
        else "",
        "seller": invitation.tenant.name,
        "role": Role(invitation.role).label,  # lazy: rendered in the recipient's language
        "link": link_for(invitation),
        "expires_at": invitation.expires_at,
    }
    send_email(
        to=invitation.email,
        template="invitation",
        context=context,
        language=language_of(account, invitation.tenant),
    )


def open_link(token: str) -> Invitation:
    """The open invitation a link's ``token`` names.

    Raises ``InvalidLink``, ``ExpiredLink``, ``UsedLink``, ``ReplacedLink`` or ``RevokedLink``
    (with the invitation, where the token named one).
    """
    try:
        signed = signing.loads(token, salt=SALT, max_age=_max_age())
    except signing.SignatureExpired:
        signed = signing.loads(token, salt=SALT)
        raise ExpiredLink(_invitation_or_none(signed)) from None
    except signing.BadSignature:
        raise InvalidLink from None
    invitation = _invitation_or_none(signed)
    if invitation is None:
        raise InvalidLink
    _ensure_open(invitation, nonce=signed.get("n", ""))
    return invitation


def _invitation_or_none(signed: object) -> Invitation | None:
    if not isinstance(signed, dict) or not isinstance(signed.get("i"), int):
        return None
    with cross_tenant_scope():
        return (
            Invitation.objects.select_related("tenant", "invited_by").filter(pk=signed["i"]).first()
        )


def _ensure_open(invitation: Invitation, *, nonce: str) -> None:
    if invitation.accepted_at is not None:
        raise UsedLink(invitation)
    if invitation.revoked_at is not None:
        raise RevokedLink(invitation)
    if not constant_time_compare(invitation.nonce, nonce):
        raise ReplacedLink(invitation)
    if invitation.has_expired:
        raise ExpiredLink(invitation)


def accept(invitation: Invitation, user: User) -> Membership:
    """``user`` accepts ``invitation``: they become a member of its seller with its role (a
    member already keeps their role), and the invitation is used.

    One transaction with the invitation's row locked: of two accepts at once, one wins and the
    other raises ``UsedLink``. Raises ``WrongAccount`` for an account of another address,
    ``StaffCannotAccept`` for platform staff, and the errors of ``open_link``.
    """
    if user.is_superuser or user.is_platform_staff:
        raise StaffCannotAccept(invitation)
    if not is_account_of(user, invitation.email):
        raise WrongAccount(invitation)
    tenant = invitation.tenant
    with tenant_scope(tenant), transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        _ensure_open(locked, nonce=invitation.nonce)
        membership = Membership.objects.filter(user=user).first()
        if membership is None:
            membership = tenant_services.add_member(tenant=tenant, user=user, role=locked.role)
        locked.accepted_at = timezone.now()
        locked.accepted_by = user
        locked.save(update_fields=["accepted_at", "accepted_by"])
    invitation.accepted_at, invitation.accepted_by = locked.accepted_at, user
    return membership


def accept_with_new_password(invitation: Invitation, password: str) -> User:
    """Accept ``invitation`` for an address with no usable account (``needs_password``): the
    account is created (username: the address) or activated, with ``password``, and joins."""
    with transaction.atomic():
        with tenant_scope(invitation.tenant):  # accepting twice at once: one waits, then fails
            locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        _ensure_open(locked, nonce=invitation.nonce)
        account = account_for(invitation.email)
        if account is not None and not needs_password(account):
            raise InvalidLink(invitation)  # an account that signs in accepts signed in
        if account is None:
            account = User(username=invitation.email, email=invitation.email)
        account.set_password(password)
        account.is_active = True
        account.save()
        accept(invitation, account)
    return account


def revoke(invitation: Invitation) -> bool:
    """Revoke ``invitation`` if it is still open (its link stops working); whether it was."""
    now = timezone.now()
    with tenant_scope(invitation.tenant), transaction.atomic():
        revoked = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
    if revoked:
        invitation.revoked_at = now
    return bool(revoked)
