"""``{% load roles %}{% if request|can:"create_orders" %}``: whether the person may do something
at the seller the request acts for (``tenants.roles.Capability``), to offer only links that work."""

from django import template
from django.http import HttpRequest

from tenants.roles import Capability, role_can

register = template.Library()


@register.filter
def can(request: HttpRequest, capability: str) -> bool:
    return getattr(request, "tenant", None) is not None and role_can(
        getattr(request, "tenant_role", None), Capability(capability)
    )
