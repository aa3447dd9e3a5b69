"""Resolves the tenant of a signed-in web request and runs the request inside its scope."""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from tenants.roles import sees_every_tenant
from tenants.scope import cross_tenant_scope, tenant_scope
from tenants.selectors import tenant_for_user, tenants_for_user

SESSION_KEY = "tenant_id"
# Pages that redirect a member of several tenants to the picker until one is chosen.
PAGES_NEEDING_A_TENANT = ("/admin/", "/cashier/")
PAGES_WITHOUT_A_TENANT = ("/admin/login/", "/admin/logout/", "/admin/jsi18n/")


class TenantMiddleware:
    """Sets ``request.tenant`` and ``request.tenant_role`` and scopes the request to the tenant.

    A member of one tenant acts for it; a member of several picks one, and the choice is kept in
    the session (pages that need a tenant redirect to the picker until then). Platform staff who
    have not picked a tenant work across all tenants.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        request.tenant_role = None
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)

        tenant = self._selected_tenant(request)
        if tenant is not None:
            request.tenant = tenant
            request.tenant_role = tenant.role
            with tenant_scope(tenant):
                return self.get_response(request)
        if sees_every_tenant(user):
            with cross_tenant_scope():
                return self.get_response(request)
        if self._needs_tenant(request.path_info):
            picker = reverse("tenants:select")
            return redirect(f"{picker}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def _selected_tenant(request):
        user = request.user
        tenant_id = request.session.get(SESSION_KEY)
        if tenant_id is not None:
            tenant = tenant_for_user(user, tenant_id)
            if tenant is not None:
                return tenant
            del request.session[SESSION_KEY]  # membership revoked or tenant deleted
        if sees_every_tenant(user):
            return None
        only_tenants = list(tenants_for_user(user)[:2])
        if len(only_tenants) == 1:
            request.session[SESSION_KEY] = only_tenants[0].pk
            return only_tenants[0]
        return None

    @staticmethod
    def _needs_tenant(path: str) -> bool:
        return path.startswith(PAGES_NEEDING_A_TENANT) and not path.startswith(
            PAGES_WITHOUT_A_TENANT
        )
