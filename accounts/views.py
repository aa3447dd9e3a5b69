"""Pages of accounts: the person's language, enrolment of the second factor, and the answer to a
locked-out sign-in."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login

from accounts import services
from accounts.forms import ConfirmDeviceForm
from accounts.lockout import CLIENT_USERNAME_PREFIX, retry_after_seconds
from merchant_platform.language import language_for_request, site_language
from tenants.models import LANGUAGE_CHOICES, User


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else reverse("admin:index")


class LanguageForm(forms.ModelForm):
    """The language a person chooses; languages are named in themselves (``Português``)."""

    class Meta:
        model = User
        fields = ["language"]
        widgets = {"language": forms.RadioSelect}
        labels = {"language": gettext_lazy("Language of your pages")}
        help_texts = {
            "language": gettext_lazy("The admin, the cashier page, receipts and the sticker.")
        }

    def __init__(self, *args, default_label: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", default_label), *LANGUAGE_CHOICES]


def _default_language_label(request: HttpRequest) -> str:
    """What the person gets without a choice: their seller's language, else their browser's."""
    if request.tenant is None:
        return _("The language of your browser")
    name = dict(settings.LANGUAGES)[site_language(request.tenant.site)]
    return _("The language of your seller: %(language)s") % {"language": name}


@login_required
def language(request: HttpRequest) -> HttpResponse:
    """Choose the language of one's pages (``User.language``); then back to where one was."""
    form = LanguageForm(
        request.POST or None, instance=request.user, default_label=_default_language_label(request)
    )
    if request.method == "POST" and form.is_valid():
        form.save(commit=False).save(update_fields=["language"])
        with translation.override(language_for_request(request) or translation.get_language()):
            messages.success(request, _("Your language is saved."))
        return redirect(_next_url(request))
    context = {"title": _("Language"), "form": form, "next": _next_url(request)}
    return render(request, "accounts/language.html", context)


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: its QR and secret, confirmed with a code it shows."""
    user = request.user
    if not services.may_enrol(user):
        raise PermissionDenied
    form = ConfirmDeviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = services.confirm_device(user, form.cleaned_data["otp_token"])
        if device is not None:
            otp_login(request, device)  # this session signed in with the new device
            return redirect(_next_url(request))
        form.add_error("otp_token", _("That code is not right. Enter the code your app shows."))
    device = services.pending_device(user) if not services.has_second_factor(user) else None
    context = {
        "title": _("Two-step verification"),
        "form": form,
        "enrolled": device is None,
        "qr": services.qr_data_uri(device) if device else "",
        "secret": services.secret_text(device) if device else "",
        "next": _next_url(request),
    }
    return render(request, "accounts/two_factor.html", context)


def lockout(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a locked-out attempt (``AXES_LOCKOUT_CALLABLE``): an OAuth2 error
    for the token endpoint, a page for people; both 429 with ``Retry-After``."""
    seconds = retry_after_seconds(request)
    minutes = max(1, -(-seconds // 60))
    username = (credentials or {}).get("username") or ""
    if username.startswith(CLIENT_USERNAME_PREFIX):
        response = JsonResponse(
            {
                "error": "too_many_attempts",
                "error_description": _(
                    "Too many failed attempts for this client or from this address. "
                    "Try again in %(minutes)d minutes."
                )
                % {"minutes": minutes},
            },
            status=429,
        )
    else:
        context = {"title": _("Too many failed sign-ins"), "minutes": minutes}
        response = render(request, "accounts/lockout.html", context, status=429)
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    return response
