from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib import admin
        from django_otp.plugins.otp_totp.models import TOTPDevice

        # A second factor is enrolled on its own page and reset with a command, never edited as
        # a row: the admin page django-otp registers would show every staff member's secret.
        if admin.site.is_registered(TOTPDevice):
            admin.site.unregister(TOTPDevice)


class PlatformAdminConfig(admin_apps.AdminConfig):
    """Django's admin, whose default site asks for the second factor (accounts.admin_site)."""

    default = False  # named in INSTALLED_APPS in place of django.contrib.admin
    default_site = "accounts.admin_site.PlatformAdminSite"
