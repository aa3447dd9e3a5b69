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

from orders import services
from orders.errors import InvalidOrder, OrderError
from orders.models import Api, Mode, Order
from orders.validation import ItemInput
from pos.models import PointOfSale, SyncState
from tenants.decorators import capability_required
from tenants.roles import Capability


class CashierOrderForm(forms.Form):
    pos = forms.ModelChoiceField(queryset=PointOfSale.objects.none(), label="Point of sale")
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    description = forms.CharField(max_length=150)
    mode = forms.ChoiceField(choices=[(Mode.DYNAMIC, "Dynamic QR"), (Mode.HYBRID, "Hybrid QR")])
    api = forms.ChoiceField(choices=Api.choices, initial=Api.V1, label="Mercado Pago API")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        points_of_sale = PointOfSale.objects.filter(sync_state=SyncState.SYNCED).select_related(
            "store"
        )
        self.fields["pos"].queryset = points_of_sale
        only_pos = points_of_sale[:2]
        if len(only_pos) == 1:
            self.fields["pos"].initial = only_pos[0]  # a seller with one POS need not pick it


@capability_required(Capability.CREATE_ORDERS)
def cashier(request: HttpRequest) -> HttpResponse:
    """The form, and the order named by ``?order=<uid>`` with its QR and status."""
    form = CashierOrderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        order = _create(request, form)
        if order is not None:
            return redirect(f"{reverse('cashier:page')}?order={order.uid}")
    return render(request, "orders/cashier.html", {"form": form, "order": _shown_order(request)})


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
    order = Order.objects.filter(uid=uid).only("status").first()
    if order is None:
        raise Http404("No such order.")
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
