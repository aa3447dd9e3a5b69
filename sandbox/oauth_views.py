"""The OAuth authorization page (auth.mercadopago.com/authorization) and ``POST /oauth/token``."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from sandbox import oauth
from sandbox.http import InvalidJSON, json_body, legacy_error
from sandbox.models import Account

FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@require_http_methods(["GET", "POST"])
def authorization(request: HttpRequest) -> HttpResponse:
    """A test seller signs in and allows (or denies) the application access to their account."""
    params = request.GET
    redirect_uri, state = oauth.param(params, "redirect_uri"), oauth.param(params, "state")
    try:
        application = oauth.application_for(oauth.param(params, "client_id"), redirect_uri)
    except oauth.OAuthError as error:
        return render(request, "sandbox/oauth_error.html", {"error": error}, status=400)
    try:
        consent = oauth.authorization_request(
            application, params, response_type=oauth.param(params, "response_type")
        )
    except oauth.OAuthError as error:
        return HttpResponseRedirect(
            oauth.callback_url(
                redirect_uri, error=error.error, error_description=error.message, state=state
            )
        )
    sign_in_failed = False
    if request.method == "POST":
        if request.POST.get("decision") != "allow":
            return HttpResponseRedirect(
                oauth.callback_url(redirect_uri, error="access_denied", state=state)
            )
        account = oauth.sign_in(request.POST.get("nickname", ""), request.POST.get("password", ""))
        if account is not None:
            code = oauth.issue_code(consent, account, timezone.now())
            return HttpResponseRedirect(
                oauth.callback_url(redirect_uri, code=code.code, state=state)
            )
        sign_in_failed = True
    context = {
        "application": application,
        "scopes": consent.scope.split(),
        "sellers": Account.objects.filter(kind=Account.Kind.SELLER).order_by("user_id"),
        "nickname": request.POST.get("nickname", ""),
        "sign_in_failed": sign_in_failed,
    }
    return render(
        request, "sandbox/oauth_authorize.html", context, status=401 if sign_in_failed else 200
    )


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> JsonResponse:
    """``POST /oauth/token``: a JSON body (as Mercado Pago asks), or a form-encoded one."""
    if request.content_type in FORM_CONTENT_TYPES:
        params = request.POST
    else:
        try:
            params = json_body(request)
        except InvalidJSON as error:
            return legacy_error(400, "invalid_request", f"the body is not valid JSON: {error}")
    try:
        issued = oauth.grant_token(params, timezone.now())
    except oauth.OAuthError as error:
        return error.response()
    return JsonResponse(oauth.token_response(issued))
