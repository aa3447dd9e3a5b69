"""The admin site of the platform: Django's, with a sign-in form that asks for the code of the
user's authenticator app when the user has one (accounts.forms.AdminLoginForm)."""

from django.contrib import admin

from accounts.forms import AdminLoginForm


class PlatformAdminSite(admin.AdminSite):
    login_form = AdminLoginForm
    login_template = "accounts/login.html"
