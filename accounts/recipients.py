"""The language an account's e-mails are written in."""

from accounts.emails import language_of
from tenants.models import Tenant, User


def language_of_account(user: User) -> str:
    """``user``'s chosen language, else that of the first seller they are a member of (worded
    for its country), else the platform's."""
    seller = Tenant.objects.filter(memberships__user=user).order_by("pk").first()
    return language_of(user, seller)
