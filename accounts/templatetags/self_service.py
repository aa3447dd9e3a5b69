"""Template tags of the sign-in page: whether sellers may sign up by themselves."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def self_signup_enabled() -> bool:
    """``SELF_SIGNUP``: whether the sign-in page offers /accounts/signup/."""
    return settings.SELF_SIGNUP
