from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants import oauth, services
from tenants.decorators import capability_required
from tenants.forms import AccessTokenForm
from tenants.middleware import SESSION_KEY
from tenants.models import MercadoPagoCredential
from tenants.oauth import Failure
from tenants.roles import Capability, sees_every_tenant
from tenants.scope import tenant_scope
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


PENDING_AUTHORIZATION_KEY = "mercadopago_authorization"

# title, explanation and HTTP status of the page shown for each failed authorization; the
# explanation may name the countries of the seller and of the account offered ({...})
FAILURE_PAGES = {
    Failure.STATE_MISMATCH: (
        "This authorization does not match",
        "The answer from Mercado Pago does not belong to the connection this browser started for "
        "this seller (it may be old, or started for another seller). Nothing was changed.",
        400,
    ),
    Failure.DENIED: (
        "Access was not allowed",
        "You chose not to let the platform use your Mercado Pago account. Nothing was changed.",
        200,
    ),
    Failure.INVALID_GRANT: (
        "The authorization expired",
        "Mercado Pago no longer accepts this authorization: it expired (it lasts ten minutes) "
        "or was already used. Connect again.",
        400,
    ),
    Failure.ALREADY_CONNECTED: (
        "This account is connected to another seller",
        "A Mercado Pago account can serve only one seller on this platform. Sign in with "
        "another account, or disconnect it from the other seller first.",
        409,
    ),
    Failure.WRONG_SITE: (
        "This Mercado Pago account is of another country",
        "The Mercado Pago account you signed in with is registered in {account_country}, but "
        "this seller sells in {seller_country}, in {currency}. Mercado Pago charges in its "
        "account's currency, so only an account of the seller's country can be connected. Sign "
        "in with the seller's Mercado Pago account of {seller_country}. Nothing was changed.",
        409,
    ),
    Failure.REFUSED: (
        "Mercado Pago refused the authorization",
        "Mercado Pago could not complete the authorization. Try to connect again.",
        400,
    ),
    Failure.UNAVAILABLE: (
        "Mercado Pago did not answer",
        "Mercado Pago could not be reached to complete the connection. Try again in a moment.",
        502,
    ),
}


@capability_required(Capability.MANAGE_CREDENTIALS)
@require_GET
def mercadopago_connection(request):
    """The seller's Mercado Pago connection: its state, connect, manual token, disconnect."""
    return _connection_page(request, AccessTokenForm())


def _connection_page(request, form, status=200):
    with tenant_scope(request.tenant):
        credential = MercadoPagoCredential.objects.first()
    context = {"credential": credential, "form": form, "title": "Mercado Pago connection"}
    return render(request, "tenants/mercadopago_connection.html", context, status=status)


@capability_required(Capability.MANAGE_CREDENTIALS)
@require_GET
def mercadopago_connect(request):
    """Send the owner to Mercado Pago's consent page."""
    pending, url = oauth.begin_authorization(tenant=request.tenant)
    request.session[PENDING_AUTHORIZATION_KEY] = pending.as_session_value()
    return redirect(url)


@capability_required(Capability.MANAGE_CREDENTIALS)
@require_GET
def mercadopago_callback(request):
    """Where Mercado Pago sends the owner back, with a code (or an error) and the state."""
    pending = oauth.PendingAuthorization.from_session_value(
        request.session.pop(PENDING_AUTHORIZATION_KEY, None)
    )
    try:
        credential = oauth.complete_authorization(
            tenant=request.tenant,
            pending=pending,
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            error=request.GET.get("error", ""),
        )
    except oauth.AuthorizationFailed as failed:
        title, explanation, status = FAILURE_PAGES[failed.failure]
        context = {
            "title": title,
            "explanation": explanation.format(
                seller_country=services.site_name(request.tenant.site),
                currency=request.tenant.currency,
                account_country=services.site_name(failed.account_site),
            ),
            "failure": failed.failure,
            "error_code": failed.code,
        }
        return render(request, "tenants/mercadopago_failed.html", context, status=status)
    messages.success(request, f"Connected to Mercado Pago account {credential.mp_user_id}.")
    return redirect("tenants:mercadopago")


@capability_required(Capability.MANAGE_CREDENTIALS)
@require_POST
def mercadopago_token(request):
    """Connect with an access token of the seller's own application (no marketplace fee)."""
    form = AccessTokenForm(request.POST)
    if form.is_valid():
        try:
            credential = services.connect_with_access_token(
                tenant=request.tenant, access_token=form.cleaned_data["access_token"]
            )
        except services.ConnectionRefused as refused:
            form.add_error("access_token", str(refused))
        else:
            messages.success(request, f"Connected to Mercado Pago account {credential.mp_user_id}.")
            return redirect("tenants:mercadopago")
    return _connection_page(request, form, status=400)


@capability_required(Capability.MANAGE_CREDENTIALS)
@require_POST
def mercadopago_disconnect(request):
    """Forget the seller's Mercado Pago connection."""
    services.disconnect(tenant=request.tenant)
    messages.success(request, "Mercado Pago disconnected.")
    return redirect("tenants:mercadopago")
