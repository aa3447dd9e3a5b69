from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from tenants.middleware import SESSION_KEY
from tenants.roles import sees_every_tenant
from tenants.selectors import tenant_for_user, tenants_for_user


@login_required
@require_http_methods(["GET", "POST"])
def select_tenant(request):
    """Pick the tenant to act for; remembered in the session. Staff may pick "all tenants"."""
    next_url = request.POST.get("next") or request.GET.get("next") or "/admin/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/admin/"
    if request.method == "POST":
        chosen = request.POST.get("tenant", "")
        if chosen == "" and sees_every_tenant(request.user):
            request.session.pop(SESSION_KEY, None)
            return redirect(next_url)
        tenant = tenant_for_user(request.user, int(chosen)) if chosen.isdigit() else None
        if tenant is None:
            return HttpResponseBadRequest("You are not a member of that seller.")
        request.session[SESSION_KEY] = tenant.pk
        return redirect(next_url)
    return render(
        request,
        "tenants/select_tenant.html",
        {
            "tenants": tenants_for_user(request.user).order_by("name"),
            "next": next_url,
            "current": request.tenant,
            "can_see_all": sees_every_tenant(request.user),
        },
    )
