from tenants.roles import sees_every_tenant


def current_tenant(request):
    """The tenant the page acts for, for the header's tenant switcher."""
    return {
        "current_tenant": getattr(request, "tenant", None),
        "sees_every_tenant": sees_every_tenant(request.user),
    }
