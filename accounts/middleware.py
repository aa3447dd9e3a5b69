"""The second factor of platform staff, on every page after sign-in (after django-otp's
``OTPMiddleware``, which says whether the session was verified with a device)."""

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts import services


class SecondFactorMiddleware:
    """For platform staff: a session not verified with the user's device is ended (it began
    before the device was enrolled, or without its code); with ``STAFF_REQUIRE_2FA``, staff
    without a device are sent to enrolment before any other page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and services.may_enrol(user) and not user.is_verified():
            if services.has_second_factor(user):
                logout(request)  # the request goes on anonymous: pages ask to sign in
            elif settings.STAFF_REQUIRE_2FA and not self._exempt(request.path_info):
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('accounts:two-factor')}?{query}")
        return self.get_response(request)

    @staticmethod
    def _exempt(path: str) -> bool:
        return path in {reverse("accounts:two-factor"), reverse("admin:logout")}
