from django.utils.functional import SimpleLazyObject

from tenants.connection_health import reconnect_notice
from tenants.roles import Capability, role_can, sees_every_tenant
from tenants.selectors import tenants_for_user


def current_tenant(request):
    """The tenant the page acts for, for the header: the tenant switcher (offered to platform
    staff and to members of more than one seller), and for members who manage the Mercado Pago
    connection the notice that it must be made again (each read only by the pages that show it).

    Nothing for a request no authentication ran for: the sandbox's own application
    (sandbox/wsgi.py) renders its pages with no user, as Mercado Pago's site is apart.
    """
    if not hasattr(request, "user"):
        return {}
    tenant = getattr(request, "tenant", None)
    manages_connection = tenant is not None and role_can(
        getattr(request, "tenant_role", None), Capability.MANAGE_CREDENTIALS
    )
    return {
        "current_tenant": tenant,
        "sees_every_tenant": sees_every_tenant(request.user),
        "may_switch_seller": SimpleLazyObject(
            lambda: tenants_for_user(request.user)[:2].count() > 1
        ),
        "reconnect_notice": SimpleLazyObject(
            lambda: reconnect_notice(tenant) if manages_connection else None
        ),
    }
