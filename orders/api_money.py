"""``/api/v1/payments`` and ``/api/v1/refunds``: a seller's payments and refunds as resources of
their own, named by their ``id`` (a UUID), and refunds asked for by order or by payment
(docs/api.md). The refund rules are ``orders.services.refund_order``'s."""

import uuid

from django.db.models import Prefetch, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from orders import services
from orders.api import UID_PATTERN, PaymentSerializer, RefundAmountSerializer, RefundSerializer
from orders.models import Order, Payment, Refund
from partners.idempotency import idempotent
from partners.input import period_filters
from partners.rest import NewestFirstPagination, TenantAPIMixin
from tenants.roles import Capability

# The serializers -----------------------------------------------------------------------------


class PaymentResourceSerializer(PaymentSerializer):
    """A payment of an order, as Mercado Pago reports it."""

    order = serializers.UUIDField(source="order.uid", read_only=True, help_text="Its order's id.")
    currency = serializers.CharField(source="order.currency", read_only=True)

    class Meta(PaymentSerializer.Meta):
        fields = [
            "id",
            "order",
            "currency",
            *(name for name in PaymentSerializer.Meta.fields if name != "id"),
        ]
        read_only_fields = fields


class RefundResourceSerializer(RefundSerializer):
    """A refund of (part of) a payment: asked for here, or found in Mercado Pago."""

    order = serializers.UUIDField(source="order.uid", read_only=True, help_text="Its order's id.")
    payment = serializers.UUIDField(
        source="payment.uid", read_only=True, help_text="The id of the refunded payment."
    )
    mercadopago_payment_id = serializers.CharField(
        source="payment.mp_payment_id",
        read_only=True,
        help_text="The mercadopago_payment_id of the refunded payment.",
    )
    currency = serializers.CharField(source="order.currency", read_only=True)

    class Meta(RefundSerializer.Meta):
        fields = [
            "id",
            "order",
            "payment",
            "mercadopago_refund_id",
            "mercadopago_payment_id",
            "currency",
            *(
                name
                for name in RefundSerializer.Meta.fields
                if name not in ("id", "payment", "mercadopago_refund_id")
            ),
        ]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.UUID)
class UidField(serializers.RelatedField):
    """An order or payment of the acting seller named by its ``id`` (a UUID), read in the
    request's tenant scope; another seller's is as unknown as one that never was."""

    default_error_messages = {"does_not_exist": "No {model} of this seller has this id."}

    def __init__(self, model: type[Order] | type[Payment], **kwargs) -> None:
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        return self.model.objects.select_related("order" if self.model is Payment else "pos")

    def to_internal_value(self, data: object) -> Order | Payment:
        try:
            return self.get_queryset().get(uid=uuid.UUID(str(data)))
        except (ValueError, self.model.DoesNotExist):
            self.fail("does_not_exist", model=self.model._meta.model_name)

    def to_representation(self, value: Order | Payment) -> str:
        return str(value.uid)


class RefundCreateSerializer(RefundAmountSerializer):
    """A refund of an order (from its first payment on) or of one of its payments."""

    order = UidField(Order, required=False, help_text="The id of the order to refund.")
    payment = UidField(
        Payment, required=False, help_text="Or the id of the payment to refund (of its order)."
    )

    def validate(self, attrs: dict) -> dict:
        if ("order" in attrs) == ("payment" in attrs):
            raise serializers.ValidationError(
                "Give the order or the payment to refund, not both.", code="order_or_payment"
            )
        if "payment" in attrs:
            attrs["order"] = attrs["payment"].order
        return attrs


# The filters ---------------------------------------------------------------------------------


class PaymentFilter(filters.FilterSet):
    order = filters.UUIDFilter(field_name="order__uid", help_text="Payments of this order (id).")
    status = filters.CharFilter(help_text="Mercado Pago's status of the payment (approved...).")
    approved_after, approved_before = period_filters("approved_at", "Approved")

    class Meta:
        model = Payment
        fields = ["order", "status", "approved_after", "approved_before"]


class RefundFilter(filters.FilterSet):
    order = filters.UUIDFilter(field_name="order__uid", help_text="Refunds of this order (id).")
    payment = filters.UUIDFilter(
        field_name="payment__uid", help_text="Refunds of this payment (id)."
    )
    status = filters.ChoiceFilter(choices=Refund.Status.choices)
    created_after, created_before = period_filters("created_at", "Created")

    class Meta:
        model = Refund
        fields = ["order", "payment", "status", "created_after", "created_before"]


class NewestPaymentsFirst(NewestFirstPagination):
    """A payment has no creation time of its own: the newest recorded first."""

    ordering = ("-pk",)


# The endpoints -------------------------------------------------------------------------------


class MoneyViewSet(TenantAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    lookup_field = "uid"
    lookup_value_regex = UID_PATTERN
    read_scope = "orders:read"
    write_scope = "orders:write"
    write_capability = Capability.REFUND_ORDERS


@extend_schema_view(
    list=extend_schema(summary="List payments", description="Newest first."),
    retrieve=extend_schema(summary="Get a payment"),
)
class PaymentViewSet(MoneyViewSet, viewsets.GenericViewSet):
    """The payments of a seller's orders."""

    serializer_class = PaymentResourceSerializer
    filterset_class = PaymentFilter
    pagination_class = NewestPaymentsFirst

    def get_queryset(self) -> QuerySet[Payment]:
        return Payment.objects.select_related("order").prefetch_related(
            Prefetch("refunds", Refund.objects.order_by("pk"), to_attr="listed_refunds")
        )


@extend_schema_view(
    list=extend_schema(summary="List refunds", description="Newest first."),
    retrieve=extend_schema(summary="Get a refund"),
)
class RefundViewSet(MoneyViewSet, viewsets.GenericViewSet):
    """The refunds of a seller's orders: asked for here, or found in Mercado Pago."""

    serializer_class = RefundResourceSerializer
    filterset_class = RefundFilter
    pagination_class = NewestFirstPagination

    def get_queryset(self) -> QuerySet[Refund]:
        return Refund.objects.select_related("order", "payment")

    def get_serializer_class(self) -> type[serializers.Serializer]:
        if self.action == "create":
            return RefundCreateSerializer
        return RefundResourceSerializer

    @extend_schema(
        summary="Create a refund",
        description="All that is left of a paid order or of one of its payments, or `amount` "
        "of it; partial refunds may be repeated up to what was paid, one at a time per order "
        "(409 `refund_in_progress` while one awaits Mercado Pago's answer). Answers 201 with "
        "the refund: `processed`, or `pending` while Mercado Pago processes it (or could not "
        "take it yet: it is sent again in the background). An order paid with several payments "
        "is refunded from its first payment on, one refund per payment: the answer is the "
        "first, `GET /api/v1/refunds?order=` lists them all.",
        request=RefundCreateSerializer,
        responses={201: RefundResourceSerializer},
        examples=[
            OpenApiExample(
                "Part of an order",
                value={"order": "0b7a3c1e-5d2f-4e8a-9c61-3f0d2b7e9a14", "amount": "40.00"},
                request_only=True,
            )
        ],
    )
    @idempotent
    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        first, *_ = services.refund_order(
            tenant=self.tenant,
            order=data["order"],
            payment=data.get("payment"),
            amount=data.get("amount"),
        )
        refund = self.get_queryset().get(pk=first.pk)
        return Response(RefundResourceSerializer(refund).data, status=status.HTTP_201_CREATED)
