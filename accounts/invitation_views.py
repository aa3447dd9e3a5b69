"""The page of an invitation's link (``accounts.invitations``): set a password and join, or sign
in and accept; or why the link cannot be used."""

from contextlib import nullcontext
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from accounts import invitations
from accounts.emails import language_of
from accounts.models import Invitation
from tenants.middleware import SESSION_KEY
from tenants.models import User
from tenants.roles import Role, sees_every_tenant

# Accounts created or activated here have just proven their address; signing them in skips
# django-axes' lockout backend, which only counts password guesses.
BACKEND = "django.contrib.auth.backends.ModelBackend"

PROBLEMS: dict[type[invitations.InvitationError], tuple[int, str, str]] = {
    invitations.InvalidLink: (
        404,
        gettext_lazy("This link is not valid"),
        gettext_lazy(
            "This invitation link is not valid: it may be incomplete. Open it again from the "
            "e-mail, or ask the person who invited you for a new invitation."
        ),
    ),
    invitations.ExpiredLink: (
        410,
        gettext_lazy("This invitation has expired"),
        gettext_lazy(
            "This invitation link has expired. Ask the person who invited you to send you a new "
            "invitation."
        ),
    ),
    invitations.UsedLink: (
        410,
        gettext_lazy("This invitation was already used"),
        gettext_lazy(
            "This invitation was already accepted, and each invitation works once. If it was "
            "you, sign in; otherwise ask the person who invited you for a new invitation."
        ),
    ),
    invitations.ReplacedLink: (
        410,
        gettext_lazy("This link was replaced"),
        gettext_lazy(
            "A newer invitation was sent to you since, and only its link works: open the most "
            "recent invitation e-mail."
        ),
    ),
    invitations.RevokedLink: (
        410,
        gettext_lazy("This invitation was withdrawn"),
        gettext_lazy(
            "This invitation was withdrawn. If you should still join, ask the person who "
            "invited you for a new invitation."
        ),
    ),
    invitations.StaffCannotAccept: (
        403,
        gettext_lazy("Platform staff do not join sellers"),
        gettext_lazy(
            "You are signed in as platform staff, who already see and manage every seller: "
            "an invitation to join a seller is for an account of the seller's own."
        ),
    ),
}


class NewPasswordForm(SetPasswordForm):
    """The password of the invitee's new account, checked by ``AUTH_PASSWORD_VALIDATORS``
    against an account of the invited address (the service saves it, not this form)."""

    def __init__(self, email: str, *args, **kwargs) -> None:
        super().__init__(User(username=email, email=email), *args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["autocomplete"] = "new-password"


def masked(email: str) -> str:
    """``email`` with most of its name hidden: ``j•••@example.com``."""
    name, _at, domain = email.partition("@")
    return f"{name[:1]}•••@{domain}"


def _problem(request: HttpRequest, error: invitations.InvitationError) -> HttpResponse:
    status, title, message = PROBLEMS[type(error)]
    context = {"title": title, "message": message}
    return render(request, "accounts/invitation_problem.html", context, status=status)


def _wrong_account(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    context = {
        "title": _("This invitation is for another account"),
        "invited": masked(invitation.email),
    }
    return render(request, "accounts/invitation_wrong_account.html", context, status=403)


def _joined(request: HttpRequest, invitation: Invitation, user: User) -> HttpResponse:
    request.session[SESSION_KEY] = invitation.tenant_id  # act for the seller just joined
    with translation.override(language_of(user, invitation.tenant)):
        messages.success(
            request,
            _("Welcome: you joined %(seller)s as %(role)s.")
            % {"seller": invitation.tenant.name, "role": Role(invitation.role).label},
        )
    return redirect("landing")


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation's link: a signed-out person with no account sets a password and joins; one
    with an account signs in, then accepts here."""
    user = request.user
    try:
        invitation = invitations.open_link(token)
    except invitations.UsedLink as used:
        accepted_by = used.invitation.accepted_by_id
        if user.is_authenticated and accepted_by == user.pk:
            return redirect("landing")
        return _problem(request, used)
    except invitations.InvitationError as error:
        with _invitee_language(request, error.invitation):
            return _problem(request, error)
    if user.is_authenticated:
        return _signed_in(request, invitation)
    with _invitee_language(request, invitation):
        return _signed_out(request, invitation)


def _invitee_language(request: HttpRequest, invitation: Invitation | None):
    """Signed out, the invitee reads the page in the e-mail's language (signed in, in theirs)."""
    if request.user.is_authenticated or invitation is None:
        return nullcontext()
    account = invitations.account_for(invitation.email)
    return translation.override(language_of(account, invitation.tenant))


def _signed_in(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    user = request.user
    if sees_every_tenant(user):
        return _problem(request, invitations.StaffCannotAccept(invitation))
    if not invitations.is_account_of(user, invitation.email):
        return _wrong_account(request, invitation)
    if request.method == "POST":
        try:
            invitations.accept(invitation, user)
        except invitations.UsedLink:
            return redirect(request.path)
        except invitations.InvitationError as error:
            return _problem(request, error)
        return _joined(request, invitation, user)
    return render(request, "accounts/invitation_accept.html", _context(invitation))


def _signed_out(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    account = invitations.account_for(invitation.email)
    if not invitations.needs_password(account):
        sign_in = f"{reverse('admin:login')}?{urlencode({'next': request.path})}"
        context = _context(invitation) | {"sign_in_url": sign_in}
        return render(request, "accounts/invitation_sign_in.html", context)
    form = NewPasswordForm(invitation.email, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.accept_with_new_password(
                invitation, form.cleaned_data["new_password1"]
            )
        except invitations.InvitationError as error:
            return _problem(request, error)
        login(request, user, backend=BACKEND)
        return _joined(request, invitation, user)
    return render(request, "accounts/invitation_password.html", _context(invitation, form=form))


def _context(invitation: Invitation, **extra) -> dict:
    return {
        "title": _("Join %(seller)s") % {"seller": invitation.tenant.name},
        "invitation": invitation,
        "seller": invitation.tenant.name,
        "role": Role(invitation.role).label,
        **extra,
    }
