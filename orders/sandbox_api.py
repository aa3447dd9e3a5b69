"""``/api/v1/sandbox/orders/{uid}/pay`` and ``/expire``: a partner tests its flows in code against a
deployment that runs on the embedded sandbox (docs/api.md, "Sandbox").

A test buyer pays an order (as the sandbox's wallet does after a scan), or the buyer's payment is
rejected (the order stays waiting for payment), or its time runs out now.
The platform asks the sandbox over HTTP (``mpapi``'s ``sandbox_pay`` and ``sandbox_expire``: it
never imports the sandbox) and then reads the order back from it, as the reconciliation would,
so the change arrives as it does in production: the order's status and its partner events. The
sandbox's own notification, when it is delivered, finds the order up to date. Anywhere else these
paths do not exist (404).
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from merchant_platform.mercadopago import get_client, get_config
from mpapi import APIError, MercadoPagoError
from orders import services
from orders.api import UID_PATTERN, OrderSerializer
from orders.errors import MercadoPagoUnavailable, NotAllowed
from orders.models import Api, Order, Status
from orders.representation import order_lists
from partners.idempotency import idempotent
from partners.input import NoBody, RefuseUnknownFields
from partners.rest import TenantAPIMixin
from tenants.models import Tenant
from tenants.roles import Capability

logger = logging.getLogger(__name__)


def sandbox_in_use() -> bool:
    """Whether this deployment runs on its embedded sandbox (never in production)."""
    return settings.SANDBOX_ENABLED and get_config().uses_sandbox


# The services --------------------------------------------------------------------------------


APPROVED, REJECTED = "approved", "rejected"


def pay_in_sandbox(*, tenant: Tenant, order: Order, outcome: str = APPROVED) -> Order:
    """A test buyer pays ``order`` (waiting for payment) in the sandbox; the order read back.
    ``outcome`` ``rejected``: the payment is declined and the order stays waiting for payment
    (a legacy order shows the rejected payment). ``NotAllowed`` (``order_not_payable``) when
    the sandbox refuses."""
    if order.status != Status.CREATED:
        raise NotAllowed(
            f"Only an order waiting for payment can be paid; this one is {order.status}.",
            code="order_not_payable",
        )
    try:
        with get_client() as client:
            client.sandbox_pay(
                qr_data=order.scan_payload,
                external_reference=order.external_reference,
                outcome=outcome,
            )
    except APIError as error:
        raise NotAllowed(
            f"The sandbox refused: {error.message}", code="order_not_payable"
        ) from error
    return _read_back(tenant, order)


def expire_in_sandbox(*, tenant: Tenant, order: Order) -> Order:
    """``order`` (waiting for payment, Orders API) expires now in the sandbox; the order read
    back. ``NotAllowed`` (``order_not_expirable``) otherwise: a legacy order expires by its
    ``expires_at`` here, which the sandbox cannot move."""
    if order.api != Api.V1 or order.status != Status.CREATED:
        raise NotAllowed(
            "Only an Orders API (v1) order waiting for payment can be expired in the sandbox.",
            code="order_not_expirable",
        )
    try:
        with get_client() as client:
            client.sandbox_expire(
                qr_data=order.scan_payload, external_reference=order.external_reference
            )
    except APIError as error:
        raise NotAllowed(
            f"The sandbox refused: {error.message}", code="order_not_expirable"
        ) from error
    return _read_back(tenant, order)


def _read_back(tenant: Tenant, order: Order) -> Order:
    """``order`` brought up to date from the sandbox; as it is when the sandbox cannot answer
    now (its notification, or the reconciliation, brings the change)."""
    try:
        return services.refresh_order(tenant=tenant, order=order)
    except (MercadoPagoError, MercadoPagoUnavailable) as error:
        logger.info("order %s not read back from the sandbox: %s", order.uid, error)
        return order


# The endpoints -------------------------------------------------------------------------------


class PayBody(RefuseUnknownFields, serializers.Serializer):
    """How the test buyer's payment ends."""

    outcome = serializers.ChoiceField(
        choices=[APPROVED, REJECTED],
        default=APPROVED,
        help_text="approved (the default): the order is paid. rejected: the payment is "
        "declined (insufficient funds) and the order stays waiting for payment, payable again.",
    )


class SandboxOrderViewSet(TenantAPIMixin, viewsets.GenericViewSet):
    """Test actions on a seller's orders, on a deployment that runs on the embedded sandbox."""

    lookup_field = "uid"
    lookup_value_regex = UID_PATTERN
    serializer_class = NoBody
    read_scope = "orders:read"
    write_scope = "orders:write"
    write_capability = Capability.CREATE_ORDERS

    def initial(self, request: Request, *args, **kwargs) -> None:
        if not sandbox_in_use():
            raise Http404  # these paths exist only on the sandbox
        super().initial(request, *args, **kwargs)

    def get_queryset(self):
        return Order.objects.select_related("pos", "tenant")

    def _answer(
        self, request: Request, change: Callable[..., Order], body: type[serializers.Serializer]
    ) -> Response:
        order = self.get_object()
        serializer = body(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = change(tenant=self.tenant, order=order, **serializer.validated_data)
        order = self.get_queryset().prefetch_related(*order_lists()).get(pk=order.pk)
        return Response(OrderSerializer(order).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Sandbox: pay an order",
        description="A test buyer pays the order (waiting for payment) with the sandbox's "
        "wallet. Answers 202 with the order as the platform has it then: normally `processed`, "
        "with its payment, its `order.processed` event sent. With `outcome` `rejected` the "
        "payment is declined: the order stays `created` (a legacy order lists the rejected "
        "payment, nothing paid), no event is sent, and it can be paid again. 409 "
        "`order_not_payable` when it is not waiting for payment. Only on a deployment that "
        "runs on the embedded sandbox (404 elsewhere).",
        operation_id="sandbox_orders_pay",
        request=PayBody,
        responses={202: OrderSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def pay(self, request: Request, uid: str) -> Response:
        return self._answer(request, pay_in_sandbox, PayBody)

    @extend_schema(
        summary="Sandbox: expire an order",
        description="The order's time runs out now (Orders API orders waiting for payment). "
        "Answers 202 with the order: normally `expired`, its `order.expired` event sent. 409 "
        "`order_not_expirable` otherwise. Only on a deployment that runs on the embedded "
        "sandbox (404 elsewhere).",
        operation_id="sandbox_orders_expire",
        request=None,
        responses={202: OrderSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def expire(self, request: Request, uid: str) -> Response:
        return self._answer(request, expire_in_sandbox, NoBody)
