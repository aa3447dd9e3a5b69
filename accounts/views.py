"""Pages of accounts: enrolment of the second factor, and the answer to a locked-out sign-in."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_otp import login as otp_login

from accounts import services
from accounts.forms import ConfirmDeviceForm
from accounts.lockout import CLIENT_USERNAME_PREFIX, retry_after_seconds


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else reverse("admin:index")


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
