"""The admin site of the platform: Django's, with a sign-in form that asks for the code of the
user's authenticator app when the user has one (accounts.forms.AdminLoginForm)."""

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.urls import reverse

from accounts.forms import AdminLoginForm


class PlatformAdminSite(admin.AdminSite):
    login_form = AdminLoginForm
    login_template = "accounts/login.html"

    def login(self, request, extra_context=None):
        """Django's sign-in, after which people who asked for no page (or for the admin's index)
        land where their role works: ``/`` sends cashiers to the cashier page."""
        asked = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
        if asked in (None, "", reverse("admin:index", current_app=self.name)):
            extra_context = {REDIRECT_FIELD_NAME: reverse("landing")} | (extra_context or {})
        return super().login(request, extra_context)
