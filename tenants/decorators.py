"""View decorators for pages that act for the request's tenant."""

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.urls import reverse

from tenants.roles import Capability, role_can, sees_every_tenant


def capability_required(capability: Capability) -> Callable:
    """Only signed-in members whose role in the request's tenant has ``capability`` (else 403).

    Without a tenant (a member of several who has not picked one) the picker comes first.
    """

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.tenant is None:
                picker = reverse("tenants:select")
                return redirect(f"{picker}?{urlencode({'next': request.get_full_path()})}")
            if not role_can(request.tenant_role, capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def ensure_can_view(request: HttpRequest) -> None:
    """Raise 404 (never 403: nothing is revealed) unless the user is platform staff or a member
    whose role in the request's tenant may view its data."""
    if request.tenant is None and not sees_every_tenant(request.user):
        raise Http404("Choose a seller first.")
    if not (sees_every_tenant(request.user) or role_can(request.tenant_role, Capability.VIEW)):
        raise Http404
