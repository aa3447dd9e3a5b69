from django import forms
from django.utils.translation import gettext_lazy as _


class AccessTokenForm(forms.Form):
    """An access token of the seller's own Mercado Pago application (never shown back)."""

    access_token = forms.CharField(
        label=_("Access token"),
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text=_("APP_USR-…, from your application's production credentials."),
    )
