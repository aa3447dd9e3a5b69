"""``{% load checklist %}{% setup_checklist %}``: the owner's first steps on the admin's index
(``tenants.checklist``), for members who manage the seller's Mercado Pago connection."""

from django import template

from tenants.checklist import setup_checklist as checklist_of
from tenants.templatetags.roles import can

register = template.Library()


@register.inclusion_tag("tenants/setup_checklist.html", takes_context=True)
def setup_checklist(context) -> dict:
    request = context["request"]
    if not can(request, "manage_credentials"):
        return {"checklist": None}
    return {"checklist": checklist_of(request.tenant)}
