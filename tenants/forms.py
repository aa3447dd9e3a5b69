from django import forms


class AccessTokenForm(forms.Form):
    """An access token of the seller's own Mercado Pago application (never shown back)."""

    access_token = forms.CharField(
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="APP_USR-…, from your application's production credentials.",
    )
