"""The cashier page, ``/cashier/``: for sellers with no POS software, a signed-in cashier picks a
POS, types an amount and a description, creates a QR order (with the seller's API and QR mode,
``Tenant.order_api`` and ``Tenant.qr_mode``), watches it turn paid, cancels it after a
confirmation, sees the POS's sales of the day, and prints a receipt of a paid order. Every write
is a call to ``orders.services``. The page learns its order's status from ``events`` (pushed on
each change, ``orders.live``), or polls ``status.json`` where that stream cannot open.

The chosen POS is remembered per device, in a cookie: a counter PC or tablet stays at its till
whoever signs in on it, and signing out (which ends the session) does not forget it.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from merchant_platform.money import (
    AmountError,
    amount_format,
    format_money,
    locale_for_request,
    parse_typed_amount,
)
from orders import live, selectors, services
from orders.dashboard import Takings, local_day, takings_between
from orders.display import OPEN_POLL_MS
from orders.errors import InvalidOrder, OrderError
from orders.models import Order, Status
from orders.validation import ItemInput
from pos.models import PointOfSale, SyncState
from tenants.decorators import capability_required
from tenants.models import Tenant
from tenants.roles import Capability, sees_every_tenant, works_at_the_counter
from tenants.scope import tenant_scope
from tenants.sites import SITES

POS_COOKIE = "cashier_pos"
POS_COOKIE_AGE = timedelta(days=400)  # about the longest a browser keeps a cookie
TODAY_ROWS = 20  # the day's newest orders listed; the totals count them all
RECEIPT_STATUSES = (Status.PROCESSED, Status.REFUNDED)
RECEIPT_WIDTHS = ("58", "80")  # millimetres of the ticket paper
FINAL_STATES = {
    Status.PROCESSED: "paid",
    Status.REFUNDED: "refunded",
    Status.EXPIRED: "expired",
    Status.CANCELED: "canceled",
    Status.FAILED: "failed",
}
"""The states after which an order cannot be paid: the page shows them instead of the QR."""


class CashierOrderForm(forms.Form):
    pos = forms.ModelChoiceField(
        queryset=PointOfSale.objects.none(), label=gettext_lazy("Point of sale")
    )
    amount = forms.CharField(max_length=40)  # typed in the seller's locale: clean_amount
    description = forms.CharField(label=gettext_lazy("Description"), max_length=150)

    def __init__(
        self, *args, locale: str, currency: str, remembered_pos: str | None = None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.locale, self.currency = locale, currency
        shape = amount_format(locale, currency)
        amount = self.fields["amount"]
        amount.label = _("Amount (%(currency)s)") % {"currency": currency}
        amount.help_text = _("Like %(example)s") % {"example": shape["example"]}
        amount.widget.attrs |= {
            "inputmode": "decimal",
            "autocomplete": "off",
            "placeholder": shape["example"],
        } | {f"data-{key}": value for key, value in shape.items()}
        points_of_sale = PointOfSale.objects.filter(sync_state=SyncState.SYNCED).select_related(
            "store"
        )
        self.fields["pos"].queryset = points_of_sale
        self.fields["pos"].initial = _initial_pos(points_of_sale, remembered_pos)

    def clean_amount(self) -> Decimal:
        try:
            return parse_typed_amount(self.cleaned_data["amount"], self.locale, self.currency)
        except AmountError as error:
            raise forms.ValidationError(error.message, code="amount") from None

    def chosen_pos(self) -> PointOfSale | None:
        """The POS the form is set to: the one picked, else the remembered or only one."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data["pos"]
        return self.fields["pos"].initial


def _initial_pos(points_of_sale, remembered_pos: str | None) -> PointOfSale | None:
    """The POS this device used last, if it is still one to pick; else the only one, so a
    seller with one POS need not pick it."""
    if remembered_pos and remembered_pos.isdigit():
        remembered = points_of_sale.filter(pk=remembered_pos).first()
        if remembered is not None:
            return remembered
    only_pos = points_of_sale[:2]
    return only_pos[0] if len(only_pos) == 1 else None


@dataclass(frozen=True)
class PosDay:
    """A POS's sales of the seller's current day: the newest orders created on it and what it
    took (``orders.dashboard.takings_between``: paid count, gross, refunds, net)."""

    pos: PointOfSale
    day: date
    orders: list[Order]
    order_count: int
    takings: Takings


def pos_day(request: HttpRequest, pos: PointOfSale) -> PosDay:
    tenant = request.tenant
    day, start, end = local_day(tenant, timezone.now())
    per_pos = {takings.pk: takings for _pk, _name, takings in takings_between(tenant, start, end)}
    zero = Decimal(0).quantize(SITES[tenant.site].smallest_amount)
    orders = selectors.orders_of_pos_between(pos, start, end)
    return PosDay(
        pos=pos,
        day=day,
        orders=list(orders[:TODAY_ROWS]),
        order_count=orders.count(),
        takings=per_pos.get(pos.pk) or Takings(str(pos), 0, zero, zero, zero, pos.pk),
    )


def landing(request: HttpRequest) -> HttpResponse:
    """``/``: cashiers start on the cashier page, everyone else in the admin (which asks the
    signed-out to sign in). A member of several sellers picks one first, then comes back."""
    user = request.user
    if user.is_authenticated and request.tenant is None and not sees_every_tenant(user):
        return redirect(f"{reverse('tenants:select')}?{urlencode({'next': request.path})}")
    if works_at_the_counter(user, request.tenant_role):
        return redirect("cashier:page")
    return redirect("admin:index")


@capability_required(Capability.CREATE_ORDERS)
def cashier(request: HttpRequest) -> HttpResponse:
    """The form, and the order named by ``?order=<uid>`` with its QR and status."""
    form = CashierOrderForm(
        request.POST or None,
        locale=locale_for_request(request),
        currency=request.tenant.currency,
        remembered_pos=request.COOKIES.get(POS_COOKIE),
    )
    open_order = None
    if request.method == "POST" and form.is_valid():
        open_order = _unconfirmed_open_order(request, form)
        order = None if open_order else _create(request, form)
        if order is not None:
            response = redirect(f"{reverse('cashier:page')}?order={order.uid}")
            _remember_pos(request, response, order.pos)
            return response
    order = _shown_order(request)
    pos = order.pos if order else form.chosen_pos()
    context = {
        **admin.site.each_context(request),
        "title": _("Cashier"),
        "form": form,
        "currency": request.tenant.currency,
        "order": order,
        "final_state": order and FINAL_STATES.get(order.status, ""),
        "asks_to_cancel": order is not None and request.GET.get("cancel") == "ask",
        "pos_day": pos and pos_day(request, pos),
        "seller_time_zone": SITES[request.tenant.site].time_zone,
        "uses_the_admin": not works_at_the_counter(request.user, request.tenant_role),
        "poll_ms": OPEN_POLL_MS,
        "live": live.enabled(),
    }
    return render(request, "orders/cashier.html", context | _replace_context(request, open_order))


def _remember_pos(request: HttpRequest, response: HttpResponse, pos: PointOfSale) -> None:
    response.set_cookie(
        POS_COOKIE,
        str(pos.pk),
        max_age=POS_COOKIE_AGE,
        path=reverse("cashier:page"),
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


def _amount(request: HttpRequest, order: Order) -> str:
    """The order's amount as the person's locale writes it."""
    return format_money(order.total_amount, order.currency, locale_for_request(request))


def _unconfirmed_open_order(request: HttpRequest, form: CashierOrderForm) -> Order | None:
    """The order open on the chosen POS, unless the cashier confirmed replacing that one
    (``replace`` is its uid): a POS shows one order to the buyer at a time."""
    open_order = services.open_order_on(form.cleaned_data["pos"])
    if open_order is None or request.POST.get("replace") == str(open_order.uid):
        return None
    return open_order


def _replace_context(request: HttpRequest, open_order: Order | None) -> dict:
    if open_order is None:
        return {}
    return {"open_order": open_order, "open_order_amount": _amount(request, open_order)}


def _create(request: HttpRequest, form: CashierOrderForm) -> Order | None:
    data, tenant = form.cleaned_data, request.tenant
    try:
        return services.create_order(
            tenant=tenant,
            pos=data["pos"],
            api=tenant.order_api,
            mode=tenant.qr_mode,
            external_reference=f"cashier-{uuid.uuid4().hex[:16]}",
            title=data["description"],
            items=[ItemInput(data["description"], data["amount"])],
            replace_open="replace" in request.POST,
        )
    except InvalidOrder as error:
        for problem in error.problems:
            form.add_error(None, problem.message)
    except OrderError as error:
        form.add_error(None, error.message)
    return None


def _shown_order(request: HttpRequest) -> Order | None:
    uid = request.GET.get("order", "")
    try:
        return Order.objects.select_related("pos__store").get(uid=uuid.UUID(uid)) if uid else None
    except (ValueError, Order.DoesNotExist):
        raise Http404("No such order.") from None


def _order_or_404(uid: uuid.UUID, **filters) -> Order:
    order = Order.objects.filter(uid=uid, **filters).select_related("pos__store").first()
    if order is None:
        raise Http404("No such order.")
    return order


@capability_required(Capability.CREATE_ORDERS)
def order_status(request: HttpRequest, uid: uuid.UUID) -> JsonResponse:
    """``{"status", "status_display"}`` of an order, which the page polls while it is open."""
    return JsonResponse(_status_body(request.tenant, _order_or_404(uid)))


def _status_body(tenant: Tenant, order: Order) -> dict:
    if services.expire_if_overdue(tenant=tenant, order=order):
        order.refresh_from_db(fields=["status"])
    return {"status": order.status, "status_display": order.get_status_display()}


@capability_required(Capability.CREATE_ORDERS)
def order_events(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    """The order's ``status.json`` as server-sent events: now, then on each change
    (``orders.live``); ``204`` where there is no stream (the page polls instead)."""
    order, tenant, language = _order_or_404(uid), request.tenant, translation.get_language()

    def current() -> dict:
        with tenant_scope(tenant), translation.override(language):
            order.refresh_from_db(fields=["status"])  # read after the stream subscribed
            return _status_body(tenant, order)

    def relay(message: bytes) -> bytes:
        status = json.loads(message)["status"]
        with translation.override(language):
            body = {"status": status, "status_display": str(Status(status).label)}
        return json.dumps(body).encode()

    return live.stream_response(request, live.order_channel(order.uid), current, relay)


@require_POST
@capability_required(Capability.CANCEL_ORDERS)
def cancel(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    """Cancel the order once the cashier confirmed (``confirm=yes``); without it, the page asks."""
    order = _order_or_404(uid)
    shown = f"{reverse('cashier:page')}?order={order.uid}"
    if request.POST.get("confirm") != "yes":
        return redirect(f"{shown}&cancel=ask")
    try:
        services.cancel_order(tenant=request.tenant, order=order)
        messages.success(request, _("The order was canceled."))
    except OrderError as error:
        messages.error(request, error.message)
    return redirect(shown)


@capability_required(Capability.CREATE_ORDERS)
def receipt(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    """A printable receipt of a paid (or refunded) order, for a ``?width=58`` (default) or
    ``80`` millimetre ticket printer."""
    order = _order_or_404(uid, status__in=RECEIPT_STATUSES)
    width = request.GET.get("width")
    context = {
        "order": order,
        "payment": order.payments.order_by("-paid_amount", "pk").first(),
        "tenant": request.tenant,
        "width": width if width in RECEIPT_WIDTHS else RECEIPT_WIDTHS[0],
        "widths": RECEIPT_WIDTHS,
        "seller_time_zone": SITES[request.tenant.site].time_zone,
    }
    return render(request, "orders/receipt.html", context)
