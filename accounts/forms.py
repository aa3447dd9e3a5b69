"""The admin's sign-in form with the second factor, and the enrolment form."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.utils.translation import gettext_lazy as _

from accounts import services

CODE_WIDGET = forms.TextInput(
    attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8}
)


class AdminLoginForm(AdminAuthenticationForm):
    """Username and password, and the authenticator app's code for users who set one up.

    A wrong or missing code answers as a wrong password does (no hint that the password was
    right) and counts as a failed sign-in for the lockout (django-axes).
    """

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": _(
            "Please enter the correct %(username)s and password for a staff account, and the "
            "code of your authenticator app if you set one up. Note that both fields may be "
            "case-sensitive."
        ),
    }

    otp_token = forms.CharField(
        label=_("Code"),
        required=False,
        max_length=16,
        widget=CODE_WIDGET,
        help_text=_("Only if you set up two-step verification: the code your app shows."),
    )

    def clean(self):
        cleaned = super().clean()
        user = self.user_cache
        if user is not None and services.has_second_factor(user):
            device = services.verify_code(user, cleaned.get("otp_token", ""))
            if device is None:
                user_login_failed.send(
                    sender=__name__,
                    credentials={"username": user.get_username()},
                    request=self.request,
                )
                self.user_cache = None
                raise self.get_invalid_login_error()
            user.otp_device = device  # django-otp marks the session verified as it logs in
        return cleaned


class ConfirmDeviceForm(forms.Form):
    otp_token = forms.CharField(label=_("Code"), max_length=16, widget=CODE_WIDGET)
