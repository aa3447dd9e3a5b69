"""Pages a person uses on their own: password reset (Django's views with our templates and
e-mail), changing their e-mail address, and signing up a seller (``SELF_SIGNUP``)."""

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts import email_change, passwords, signup
from accounts.forms import EmailChangeForm, ResetRequestForm, SignupForm
from merchant_platform.client_address import client_address

# Sign-in after a verified sign-up: Django's backend, past the lockout's (which needs a password).
SIGNUP_LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"


class ResetRequestView(auth_views.PasswordResetView):
    form_class = ResetRequestForm
    template_name = "accounts/password_reset_form.html"
    success_url = reverse_lazy("accounts:password-reset-sent")
    title = gettext_lazy("Reset your password")


class ResetSentView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_sent.html"
    title = gettext_lazy("Check your mailbox")


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")
    title = gettext_lazy("Choose a new password")

    def form_valid(self, form):
        response = super().form_valid(form)
        passwords.password_was_reset(form.user)
        return response


class ResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
    title = gettext_lazy("Your password is changed")


@login_required
def change_email(request: HttpRequest) -> HttpResponse:
    """Ask for a new address and the current password; a link goes to the new address."""
    user = request.user
    form = EmailChangeForm(request.POST or None, user=user)
    context = {"title": _("Change your e-mail address"), "form": form}
    if request.method == "POST":
        if not email_change.within_budget(user):
            form.add_error(None, _("Too many requests to change your address. Try again later."))
            return render(request, "accounts/email_change_form.html", context, status=429)
        if form.is_valid():
            new_email = form.cleaned_data["new_email"]
            email_change.request_email_change(user=user, new_email=new_email)
            context = {"title": _("Check your mailbox"), "new_email": new_email}
            return render(request, "accounts/email_change_sent.html", context)
    return render(request, "accounts/email_change_form.html", context)


@require_GET
@login_required
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the confirmation e-mail, opened by the account it was sent for."""
    context = {"title": _("Change your e-mail address")}
    try:
        context["new_email"] = email_change.confirm_email_change(user=request.user, token=token)
        request.user.refresh_from_db()  # its username may have changed with the address
    except email_change.OtherAccount:
        context["problem"] = "other-account"
    except email_change.InvalidLink:
        context["problem"] = "invalid"
    except email_change.EmailTaken:
        context["problem"] = "taken"
    status = 400 if "problem" in context else 200
    return render(request, "accounts/email_change_done.html", context, status=status)


def _signup_enabled() -> None:
    if not settings.SELF_SIGNUP:
        raise Http404


def signup_view(request: HttpRequest) -> HttpResponse:
    """A new seller's business, country, e-mail and password; a link to verify the address."""
    _signup_enabled()
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        signup.sign_up(
            **form.cleaned_data,
            client=client_address(request),
            language=translation.get_language(),
        )
        return redirect("accounts:signup-sent")
    return render(request, "accounts/signup_form.html", {"title": _("Sign up"), "form": form})


def signup_sent(request: HttpRequest) -> HttpResponse:
    _signup_enabled()
    return render(request, "accounts/signup_sent.html", {"title": _("Check your mailbox")})


@require_http_methods(["GET", "POST"])
def signup_verify(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the verification e-mail: a page that asks to confirm (GET), then the account
    and its seller start, signed in (POST)."""
    _signup_enabled()
    try:
        if request.method == "GET":
            business = signup.pending_business(token)
            context = {"title": _("Sign up"), "business_name": business}
            return render(request, "accounts/signup_confirm.html", context)
        user = signup.verify(token)
    except signup.UsedLink:
        problem = "used"
    except signup.InvalidLink:
        problem = "invalid"
    else:
        login(request, user, backend=SIGNUP_LOGIN_BACKEND)
        return redirect("landing")
    context = {"title": _("Sign up"), "problem": problem}
    return render(request, "accounts/signup_invalid.html", context, status=400)
