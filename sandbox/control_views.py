"""The sandbox's control surface: fault settings, the webhook URL, deliveries, OAuth shortcut,
a seller unlinking the integrator's application, and chargebacks (opened and decided).

Each setting has a JSON endpoint for tests and a form on the control page (``/sandbox/_control/``)
for people. These URLs are never subject to fault injection.
"""

from contextlib import suppress
from decimal import Decimal, InvalidOperation

from django import forms
from django.forms.models import model_to_dict
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sandbox import chargebacks, lifecycle, notifier, oauth, wallet
from sandbox.control_forms import FaultSettingsForm, WebhookURLForm
from sandbox.errors import ApiError
from sandbox.http import InvalidJSON, json_body, legacy_error
from sandbox.models import (
    Account,
    Application,
    Chargeback,
    Delivery,
    FaultSettings,
    Payment,
    RefundOutcome,
)
from sandbox.seed import CLIENT_ID

DELIVERY_PAGE_SIZE = 50
CHARGEBACK_PAGE_SIZE = 20


def seed_application() -> Application:
    return Application.objects.get(client_id=CLIENT_ID)


def form_error(form: forms.Form) -> JsonResponse:
    cause = [
        {"code": field, "description": " ".join(messages)}
        for field, messages in form.errors.items()
    ]
    return legacy_error(400, "bad_request", "invalid settings", cause)


def faults_json(faults: FaultSettings) -> dict:
    values = model_to_dict(faults, fields=FaultSettingsForm.Meta.fields)
    values = {
        name: float(value) if isinstance(value, Decimal) else value
        for name, value in values.items()
    }
    return values | {"request_count": faults.request_count, "webhook_count": faults.webhook_count}


def delivery_json(delivery: Delivery) -> dict:
    event = delivery.event
    return {
        "id": delivery.pk,
        "event_id": event.pk,
        "kind": event.kind,
        "topic": event.topic,
        "action": event.action,
        "resource_id": event.resource_id,
        "url": delivery.url,
        "status": delivery.status,
        "fault": delivery.fault,
        "attempt_count": delivery.attempt_count,
        "next_attempt_at": delivery.next_attempt_at,
        "delivered_at": delivery.delivered_at,
        "created_at": delivery.created_at,
        "attempts": [
            {
                "number": attempt.number,
                "request_id": attempt.request_id,
                "started_at": attempt.started_at,
                "duration_ms": attempt.duration_ms,
                "status_code": attempt.status_code,
                "error": attempt.error,
            }
            for attempt in delivery.attempts.all()
        ],
    }


def body_or_error(request: HttpRequest) -> dict | JsonResponse:
    try:
        return json_body(request)
    except InvalidJSON as error:
        return legacy_error(400, "bad_request", f"the body is not valid JSON: {error}")


@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    """The control page: fault settings, webhook URL, linked sellers, chargebacks and recent
    deliveries."""
    application = seed_application()
    faults_form = FaultSettingsForm(instance=FaultSettings.current())
    webhook_form = WebhookURLForm(instance=application)
    chargeback_error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "faults":
            faults_form = FaultSettingsForm.replacing(request.POST.dict())
            if faults_form.is_valid():
                faults_form.save()
                return redirect("sandbox-control")
        elif action == "reset-faults":
            FaultSettings.objects.all().delete()
            return redirect("sandbox-control")
        elif action == "webhook":
            webhook_form = WebhookURLForm(request.POST, instance=application)
            if webhook_form.is_valid():
                webhook_form.save()
                return redirect("sandbox-control")
        elif action == "run":
            notifier.deliver_due()
            return redirect("sandbox-control")
        elif action == "open-chargeback":
            amount = request.POST.get("amount", "").strip()
            try:
                chargebacks.open_chargeback(
                    request.POST.get("payment_id", "").strip(),
                    _typed_amount(amount) if amount else None,
                    timezone.now(),
                )
            except ApiError as error:
                chargeback_error = error.message
            else:
                return redirect("sandbox-control")
        elif action == "decide-chargeback":
            chargeback_id = request.POST.get("chargeback_id", "")
            found = Chargeback.objects.filter(chargeback_id=chargeback_id).first()
            if found is not None:
                with suppress(ApiError):  # decided meanwhile: the list shows it
                    chargebacks.decide(found, request.POST.get("in_favor_of", ""), timezone.now())
            return redirect("sandbox-control")
        elif action == "unlink":
            account = _account(request.POST.get("user_id", ""))
            if account is not None:
                with suppress(oauth.OAuthError):  # unlinked meanwhile: the list shows it
                    oauth.unlink(application, account, timezone.now())
            return redirect("sandbox-control")
    context = {
        "application": application,
        "linked_accounts": oauth.linked_accounts(application),
        "faults_form": faults_form,
        "webhook_form": webhook_form,
        "deliveries": Delivery.objects.select_related("event")[:DELIVERY_PAGE_SIZE],
        "paid_payments": Payment.objects.filter(status=Payment.Status.APPROVED)
        .select_related("account")
        .order_by("-pk")[:CHARGEBACK_PAGE_SIZE],
        "chargebacks": Chargeback.objects.select_related("payment")[:CHARGEBACK_PAGE_SIZE],
        "chargeback_error": chargeback_error,
    }
    return render(request, "sandbox/control_index.html", context)


@csrf_exempt
@require_http_methods(["GET", "PUT", "DELETE"])
def faults(request: HttpRequest) -> JsonResponse:
    """``GET`` the fault settings, ``PUT`` new ones (omitted fields: defaults), ``DELETE`` them."""
    if request.method == "DELETE":
        FaultSettings.objects.all().delete()
    elif request.method == "PUT":
        body = body_or_error(request)
        if isinstance(body, JsonResponse):
            return body
        form = FaultSettingsForm.replacing(body)
        if not form.is_valid():
            return form_error(form)
        form.save()
    return JsonResponse(faults_json(FaultSettings.current()))


@csrf_exempt
@require_http_methods(["GET", "PUT"])
def application(request: HttpRequest) -> JsonResponse:
    """``GET`` or ``PUT {"webhook_url": …}`` the seed application's webhook URL."""
    app = seed_application()
    if request.method == "PUT":
        body = body_or_error(request)
        if isinstance(body, JsonResponse):
            return body
        form = WebhookURLForm(body, instance=app)
        if not form.is_valid():
            return form_error(form)
        form.save()
    return JsonResponse({"client_id": app.client_id, "webhook_url": app.webhook_url})


@require_GET
def deliveries(request: HttpRequest) -> JsonResponse:
    """Deliveries, newest first; ``?event=<id>``, ``?topic=…`` and ``?status=…`` filter them."""
    rows = Delivery.objects.select_related("event").prefetch_related("attempts")
    filters = {"event": "event_id", "topic": "event__topic", "status": "status"}
    for param, lookup in filters.items():
        if value := request.GET.get(param):
            rows = rows.filter(**{lookup: value})
    return JsonResponse({"results": [delivery_json(row) for row in rows[:DELIVERY_PAGE_SIZE]]})


@csrf_exempt
@require_POST
def run_deliveries(request: HttpRequest) -> JsonResponse:
    """Make the attempts due now, or at ``{"now": <ISO 8601>}`` to let time pass."""
    body = body_or_error(request)
    if isinstance(body, JsonResponse):
        return body
    now = timezone.now()
    if "now" in body:
        now = parse_datetime(str(body["now"]))
        if now is None or timezone.is_naive(now):
            return legacy_error(400, "bad_request", "now must be an ISO 8601 time with an offset")
    attempts = notifier.deliver_due(now)
    return JsonResponse(
        {
            "attempted": len(attempts),
            "delivered": sum(a.status_code in notifier.DELIVERED_STATUSES for a in attempts),
        }
    )


@csrf_exempt
@require_POST
def settle_refunds(request: HttpRequest) -> JsonResponse:
    """Complete every refund in process now, whatever its delay: ``{"outcome": "approved"}``
    or ``"rejected"`` (default: the fault settings' ``refund_outcome``, approved when that
    keeps refunds pending); their notifications are written as a settlement writes them."""
    body = body_or_error(request)
    if isinstance(body, JsonResponse):
        return body
    outcome = body.get("outcome") or FaultSettings.current().refund_outcome
    if outcome == RefundOutcome.PENDING:
        outcome = RefundOutcome.APPROVED
    if outcome not in (RefundOutcome.APPROVED, RefundOutcome.REJECTED):
        return legacy_error(400, "bad_request", "outcome must be approved or rejected")
    settled = lifecycle.settle_due(outcome=outcome, every=True)
    return JsonResponse({"settled": [refund.pk for refund in settled], "outcome": outcome})


@csrf_exempt
@require_POST
def expire_order(request: HttpRequest) -> JsonResponse:
    """An order's time runs out now: ``{qr_data}`` (or ``{user_id, external_pos_id}``), and
    ``external_reference`` to make sure of the order the QR shows → ``{order_id, status}``; a
    v1 order's ``order.expired`` webhook is sent. 409 ``order_not_expirable`` unless created."""
    body = body_or_error(request)
    if isinstance(body, JsonResponse):
        return body
    try:
        order = lifecycle.expire_now(wallet.order_shown(wallet.purchase_of(body)))
    except ApiError as error:
        return legacy_error(error.status, error.code, error.message)
    except lifecycle.NotAllowed as error:
        return legacy_error(409, "order_not_expirable", str(error))
    return JsonResponse({"order_id": order.order_id, "status": order.status})


@csrf_exempt
@require_POST
def authorize(request: HttpRequest) -> JsonResponse:
    """The authorization page's consent without the page: ``{client_id, user_id, redirect_uri,
    state?, code_challenge?, code_challenge_method?, scope?}`` → ``{code, redirect_to}``."""
    body = body_or_error(request)
    if isinstance(body, JsonResponse):
        return body
    redirect_uri = oauth.param(body, "redirect_uri")
    try:
        application = oauth.application_for(oauth.param(body, "client_id"), redirect_uri)
        consent = oauth.authorization_request(application, body)
    except oauth.OAuthError as error:
        return error.response()
    user_id = oauth.param(body, "user_id")
    account = Account.objects.filter(user_id=user_id).first() if user_id.isdigit() else None
    if account is None:
        return legacy_error(400, "invalid_request", "user_id names no sandbox account")
    code = oauth.issue_code(consent, account, timezone.now())
    redirect_to = oauth.callback_url(redirect_uri, code=code.code, state=oauth.param(body, "state"))
    return JsonResponse({"code": code.code, "redirect_to": redirect_to})


def _account(user_id: str) -> Account | None:
    return Account.objects.filter(user_id=user_id).first() if user_id.isdigit() else None


@csrf_exempt
@require_POST
def unlink(request: HttpRequest) -> JsonResponse:
    """A seller unlinks the integrator's application: ``{user_id, client_id?}`` (the seed
    application by default) → its grants are revoked and the signed ``mp-connect`` webhook is
    sent → ``{user_id, event_id}``."""
    body = body_or_error(request)
    if isinstance(body, JsonResponse):
        return body
    client_id = oauth.param(body, "client_id")
    application = (
        Application.objects.filter(client_id=client_id).first() if client_id else seed_application()
    )
    if application is None:
        return legacy_error(400, "invalid_client", f"unknown client_id {client_id!r}")
    account = _account(oauth.param(body, "user_id"))
    if account is None:
        return legacy_error(400, "invalid_request", "user_id names no sandbox account")
    try:
        event = oauth.unlink(application, account, timezone.now())
    except oauth.OAuthError as error:
        return error.response()
    return JsonResponse({"user_id": account.user_id, "event_id": event.pk})


def _typed_amount(text: str) -> Decimal | str:
    """The amount typed on the control page (a dot for decimals); the text when it is none."""
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


@csrf_exempt
@require_POST
def open_chargeback(request: HttpRequest) -> JsonResponse:
    """The buyer disputes a paid payment: ``{payment_id, amount?}`` (all that is left when no
    amount) → 201 and the chargeback as ``GET /v1/chargebacks/{id}`` shows it; the signed
    ``topic_chargebacks_wh`` webhook is sent."""
    body = body_or_error(request)
    if isinstance(body, JsonResponse):
        return body
    try:
        found = chargebacks.open_chargeback(
            body.get("payment_id", ""), body.get("amount"), timezone.now()
        )
    except ApiError as error:
        return legacy_error(error.status, error.code, error.message)
    return JsonResponse(chargebacks.render(found), status=201)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def chargeback(request: HttpRequest, chargeback_id: str) -> JsonResponse:
    """``GET`` a chargeback of any seller, or ``POST {"in_favor_of": "seller" | "buyer"}`` to
    decide it (``closed``); the webhook is sent again."""
    found = Chargeback.objects.filter(chargeback_id=chargeback_id).select_related("payment").first()
    if found is None:
        return legacy_error(404, "not_found", f"chargeback {chargeback_id} not found")
    if request.method == "POST":
        body = body_or_error(request)
        if isinstance(body, JsonResponse):
            return body
        try:
            found = chargebacks.decide(found, str(body.get("in_favor_of", "")), timezone.now())
        except ApiError as error:
            return legacy_error(error.status, error.code, error.message)
    return JsonResponse(chargebacks.render(found))
