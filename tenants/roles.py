"""Membership roles and what each one may do in its tenant."""

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    CASHIER = "cashier", pgettext_lazy("role", "Cashier")  # the link "Cashier" is a verb
    VIEWER = "viewer", _("Viewer")


class Capability(StrEnum):
    VIEW = "view"
    CREATE_ORDERS = "create_orders"
    CANCEL_ORDERS = "cancel_orders"
    REFUND_ORDERS = "refund_orders"
    MANAGE_STORES = "manage_stores"  # stores and points of sale
    MANAGE_INTEGRATIONS = "manage_integrations"  # partner apps and webhook endpoints
    MANAGE_CREDENTIALS = "manage_credentials"  # Mercado Pago connection
    MANAGE_MEMBERS = "manage_members"
    MANAGE_SELLER = "manage_seller"  # the seller's settings: cashier order defaults, logo


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.OWNER: frozenset(Capability),
    Role.MANAGER: frozenset(
        {
            Capability.VIEW,
            Capability.CREATE_ORDERS,
            Capability.CANCEL_ORDERS,
            Capability.REFUND_ORDERS,
            Capability.MANAGE_STORES,
            Capability.MANAGE_INTEGRATIONS,
        }
    ),
    Role.CASHIER: frozenset({Capability.VIEW, Capability.CREATE_ORDERS, Capability.CANCEL_ORDERS}),
    Role.VIEWER: frozenset({Capability.VIEW}),
}


def sees_every_tenant(user) -> bool:
    """Platform staff (superusers and the integrator's staff) work across every tenant."""
    return bool(
        user.is_authenticated and user.is_active and (user.is_superuser or user.is_platform_staff)
    )


def role_can(role: str | None, capability: Capability) -> bool:
    """Whether a member with ``role`` (None: not a member) may do ``capability``."""
    return role is not None and capability in ROLE_CAPABILITIES[role]


def works_at_the_counter(user, role: str | None) -> bool:
    """Cashiers: members who create orders but manage nothing. They start on the cashier page;
    owners, managers and platform staff start in the admin."""
    return (
        not sees_every_tenant(user)
        and role_can(role, Capability.CREATE_ORDERS)
        and not role_can(role, Capability.MANAGE_STORES)
    )
