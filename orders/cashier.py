"""The cashier page, ``/cashier/``: for sellers with no POS software, a signed-in cashier picks a
POS, types an amount and a description, creates a dynamic or hybrid QR order, watches it turn
paid, and can cancel it. Every write is a call to ``orders.services``."""

import uuid
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from merchant_platform.money import (
    AmountError,
    amount_format,
    format_money,
    locale_for_site,
    parse_typed_amount,
)
from orders import services
from orders.errors import InvalidOrder, OrderError
from orders.models import Api, Mode, Order
from orders.validation import ItemInput
from pos.models import PointOfSale, SyncState
from tenants.decorators import capability_required
from tenants.roles import Capability


class CashierOrderForm(forms.Form):
    pos = forms.ModelChoiceField(queryset=PointOfSale.objects.none(), label="Point of sale")
    amount = forms.CharField(max_length=40)  # typed in the seller's locale: clean_amount
    description = forms.CharField(max_length=150)
    mode = forms.ChoiceField(choices=[(Mode.DYNAMIC, "Dynamic QR"), (Mode.HYBRID, "Hybrid QR")])
    api = forms.ChoiceField(choices=Api.choices, initial=Api.V1, label="Mercado Pago API")

    def __init__(self, *args, locale: str, currency: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.locale, self.currency = locale, currency
        shape = amount_format(locale, currency)
        amount = self.fields["amount"]
        amount.label = f"Amount ({currency})"
        amount.help_text = f"Like {shape['example']}"
        amount.widget.attrs |= {
            "inputmode": "decimal",
            "autocomplete": "off",
            "placeholder": shape["example"],
        } | {f"data-{key}": value for key, value in shape.items()}
        points_of_sale = PointOfSale.objects.filter(sync_state=SyncState.SYNCED).select_related(
            "store"
        )
        self.fields["pos"].queryset = points_of_sale
        only_pos = points_of_sale[:2]
        if len(only_pos) == 1:
            self.fields["pos"].initial = only_pos[0]  # a seller with one POS need not pick it

    def clean_amount(self) -> Decimal:
        try:
            return parse_typed_amount(self.cleaned_data["amount"], self.locale, self.currency)
        except AmountError as error:
            raise forms.ValidationError(error.message, code="amount") from None


@capability_required(Capability.CREATE_ORDERS)
def cashier(request: HttpRequest) -> HttpResponse:
    """The form, and the order named by ``?order=<uid>`` with its QR and status."""
    currency = request.tenant.site_info.currency
    form = CashierOrderForm(
        request.POST or None, locale=locale_for_site(request.tenant.site), currency=currency
    )
    open_order = None
    if request.method == "POST" and form.is_valid():
        open_order = _unconfirmed_open_order(request, form)
        order = None if open_order else _create(request, form)
        if order is not None:
            return redirect(f"{reverse('cashier:page')}?order={order.uid}")
    context = {"form": form, "order": _shown_order(request)}
    return render(request, "orders/cashier.html", context | _replace_context(request, open_order))


def _amount(request: HttpRequest, order: Order) -> str:
    """The order's amount as the seller's locale writes it."""
    return format_money(order.total_amount, order.currency, locale_for_site(request.tenant.site))


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
    data = form.cleaned_data
    try:
        return services.create_order(
            tenant=request.tenant,
            pos=data["pos"],
            api=data["api"],
            mode=data["mode"],
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
        return Order.objects.select_related("pos").get(uid=uuid.UUID(uid)) if uid else None
    except (ValueError, Order.DoesNotExist):
        raise Http404("No such order.") from None


@capability_required(Capability.CREATE_ORDERS)
def order_status(request: HttpRequest, uid: uuid.UUID) -> JsonResponse:
    """``{"status", "status_display"}`` of an order, which the page polls while it is open."""
    order = Order.objects.filter(uid=uid).first()
    if order is None:
        raise Http404("No such order.")
    if services.expire_if_overdue(tenant=request.tenant, order=order):
        order.refresh_from_db(fields=["status"])
    return JsonResponse({"status": order.status, "status_display": order.get_status_display()})


@require_POST
@capability_required(Capability.CANCEL_ORDERS)
def cancel(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    order = Order.objects.filter(uid=uid).first()
    if order is None:
        raise Http404("No such order.")
    try:
        services.cancel_order(tenant=request.tenant, order=order)
        messages.success(request, "The order was canceled.")
    except OrderError as error:
        messages.error(request, error.message)
    return redirect(f"{reverse('cashier:page')}?order={order.uid}")
