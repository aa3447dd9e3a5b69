"""The admin's sign-in form with the second factor, the enrolment form, and the forms of
password reset, e-mail change and sign-up."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.signals import user_login_failed
from django.utils.translation import gettext_lazy as _

from accounts import passwords, services
from merchant_platform.client_address import client_address
from tenants.models import User
from tenants.sites import Site

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


class ResetRequestForm(PasswordResetForm):
    """Django's form, whose e-mail goes through ``accounts.passwords`` (the account's language,
    the budget per client and per address)."""

    def save(self, *, request, token_generator, **_options) -> None:
        email = self.cleaned_data["email"]
        passwords.send_reset_links(
            email=email,
            accounts=self.get_users(email),
            client=client_address(request),
            token_generator=token_generator,
        )


class EmailChangeForm(forms.Form):
    """A new address, and the current password to prove it is the account's owner asking."""

    new_email = forms.EmailField(
        label=_("New e-mail address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_new_email(self) -> str:
        email = self.cleaned_data["new_email"].strip().lower()
        if email == self.user.email.lower():
            raise forms.ValidationError(_("That is your address already."))
        return email

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("Your password is not right."))
        return password


class SignupForm(forms.Form):
    business_name = forms.CharField(
        label=_("Business name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    site = forms.ChoiceField(
        label=_("Country"),
        choices=[("", _("Choose your country")), *Site.choices],
        help_text=_("The country of your Mercado Pago account."),
    )
    email = forms.EmailField(
        label=_("E-mail address"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        email, password = cleaned.get("email"), cleaned.get("password")
        if email and password:
            try:
                password_validation.validate_password(password, User(username=email, email=email))
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned
