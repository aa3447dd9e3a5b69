"""``/api/v1/orders``: create, list, read, cancel and refund a seller's orders, their QR image,
and exports of orders, payments and refunds as CSV or XLSX (docs/api.md, docs/orders.md).

Orders are named by their ``uid``, never by their database id. The serializers here check the
shape of the input only; every rule of an order (amounts, references, expiry, which POS) is
``orders.services``'s, which answers with the error code Mercado Pago would give.
``OrderSerializer`` is the order as the API shows it; it needs no request, so outbound webhooks
use it too.
"""

from decimal import Decimal

from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request
from rest_framework.response import Response

from orders import exports, services
from orders import metadata as order_metadata
from orders.dashboard import LONGEST_PERIOD, local_day
from orders.filters import OrderFilter
from orders.models import Api, Mode, Order, OrderItem, Payment, Refund
from orders.representation import order_json, order_lists, orders_json, page_rows, with_lists
from orders.validation import ItemInput, TaxInput
from partners.idempotency import claim_of, idempotent
from partners.input import AwareDateTimeField, NoBody, RefuseUnknownFields
from partners.rest import NewestFirstPagination, TenantAPIMixin, acting_tenant
from pos import qr
from pos.api import IgnoreAcceptHeader, qr_image_response, qr_image_schema
from pos.models import PointOfSale
from tenants.roles import Capability

UID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
POSTGRES_MAX_INTEGER = 2_147_483_647


def _amount(**kwargs) -> serializers.DecimalField:
    """A money amount: a decimal string (a JSON number is accepted). Its rules (positive, the
    currency's decimals, at most 999999999999.99) are checked by the order services."""
    return serializers.DecimalField(max_digits=None, decimal_places=None, **kwargs)


def _read_amount(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, help_text=help_text
    )


# The order as the API shows it --------------------------------------------------------------


class OrderItemSerializer(serializers.ModelSerializer):
    total_amount = _read_amount("unit_price x quantity.")

    class Meta:
        model = OrderItem
        fields = [
            "position",
            "title",
            "description",
            "sku",
            "category",
            "unit_price",
            "quantity",
            "unit_measure",
            "total_amount",
        ]
        read_only_fields = fields


class AvailableForRefundField(serializers.DecimalField):
    """What may still be refunded of a payment (``services.left_to_refund``): paid less
    refunded, less its refunds still pending. Reads the refunds listed on the payment
    (``listed_refunds``) when it has them. (An order's is ``orders.representation``'s.)"""

    def __init__(self, help_text: str) -> None:
        super().__init__(
            max_digits=14, decimal_places=2, read_only=True, source="*", help_text=help_text
        )

    def to_representation(self, payment: Payment) -> str:
        refunds = getattr(payment, "listed_refunds", None)
        if refunds is None:
            refunds = payment.refunds.all()
        left = services.left_to_refund([payment], refunds)
        return super().to_representation(sum(left.values(), Decimal(0)))


class PaymentSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uid", read_only=True, help_text="The payment's id.")
    mercadopago_payment_id = serializers.CharField(
        source="mp_payment_id",
        read_only=True,
        help_text="The Orders API's transaction id (PAY...) or the legacy API's payment id.",
    )
    amount_available_for_refund = AvailableForRefundField(
        "What can still be refunded of this payment: paid less refunded, less its refunds in "
        "process."
    )

    class Meta:
        model = Payment
        fields = [
            "id",
            "mercadopago_payment_id",
            "reference_id",
            "amount",
            "paid_amount",
            "refunded_amount",
            "amount_available_for_refund",
            "status",
            "status_detail",
            "payment_method_id",
            "payment_method_type",
            "approved_at",
            "updated_at",
        ]
        read_only_fields = fields


class RefundSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uid", read_only=True, help_text="The refund's id.")
    mercadopago_refund_id = serializers.CharField(
        source="mp_refund_id", read_only=True, help_text="Empty until Mercado Pago has made it."
    )
    payment = serializers.CharField(
        source="payment.mp_payment_id",
        read_only=True,
        help_text="The mercadopago_payment_id of the refunded payment.",
    )

    class Meta:
        model = Refund
        fields = [
            "id",
            "mercadopago_refund_id",
            "payment",
            "amount",
            "status",
            "error_code",
            "error_message",
            "created_at",
            "processed_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "status": {
                "help_text": "pending while Mercado Pago has not completed it: with a "
                "mercadopago_refund_id Mercado Pago is processing it (not counted as refunded "
                "yet), without one it has not answered (it is sent again); processed; or failed "
                "(refused or rejected: its amount is refundable again; error_code is Mercado "
                "Pago's when it refused it)."
            }
        }


class TaxSerializer(serializers.Serializer):
    """A tax of the whole order as an amount (Colombia's IVA)."""

    type = serializers.CharField(default="IVA", help_text="IVA.")
    value = _amount(help_text="The tax amount, not a rate.")


class OrderSerializer(serializers.ModelSerializer):
    """An order with its items, payments and refunds."""

    pos = serializers.PrimaryKeyRelatedField(read_only=True, help_text="The id of its POS.")
    store = serializers.IntegerField(
        source="pos.store_id", read_only=True, help_text="The id of its POS's store."
    )
    mercadopago_order_id = serializers.CharField(
        source="mp_order_id",
        read_only=True,
        help_text="Mercado Pago's order id; empty while pending, and for a legacy static order.",
    )
    taxes = TaxSerializer(many=True, read_only=True)
    metadata = serializers.DictField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Your own keys and values (strings), as you set them.",
    )
    paid_amount = _read_amount("What the buyer paid.")
    refunded_amount = _read_amount("What was refunded.")
    amount_available_for_refund = AvailableForRefundField(
        "What can still be refunded: paid less refunded, less the refunds in process."
    )
    items = OrderItemSerializer(many=True, read_only=True, source="listed_items")
    payments = PaymentSerializer(many=True, read_only=True)
    refunds = RefundSerializer(many=True, read_only=True, source="listed_refunds")

    class Meta:
        model = Order
        fields = [
            "uid",
            "external_reference",
            "api",
            "mode",
            "status",
            "status_detail",
            "error_code",
            "error_message",
            "pos",
            "store",
            "title",
            "description",
            "currency",
            "total_amount",
            "cash_out_amount",
            "marketplace_fee",
            "taxes",
            "paid_amount",
            "refunded_amount",
            "amount_available_for_refund",
            "qr_data",
            "expires_at",
            "mercadopago_order_id",
            "metadata",
            "items",
            "payments",
            "refunds",
            "created_at",
            "updated_at",
            "paid_at",
            "closed_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "uid": {"help_text": "The order's id in this API."},
            "status": {
                "help_text": "pending (saved; Mercado Pago has not accepted it yet: it is sent "
                "again in the background), created (waiting for the buyer), processed (paid), "
                "canceled, expired, refunded, or failed (Mercado Pago refused it: see error_code)."
            },
            "error_code": {"help_text": "Why it failed, or why it is still pending."},
            "qr_data": {
                "help_text": "The EMVCo text of the order's own QR (dynamic and hybrid orders). "
                "Empty for a static order: the buyer scans its POS's fixed QR. qr.png and qr.svg "
                "draw whichever QR the buyer scans."
            },
        }

    def to_representation(self, order: Order) -> dict:
        """``order`` as ``orders.representation`` builds it (its lists read if it came without
        them: a webhook's), the fields above being its schema."""
        return order_json(with_lists(order))


# What a request sends -----------------------------------------------------------------------


def _item_text(name: str, **kwargs) -> serializers.CharField:
    """A text of an item, at most as long as its column."""
    return serializers.CharField(max_length=OrderItem._meta.get_field(name).max_length, **kwargs)


class ItemInputSerializer(RefuseUnknownFields, serializers.Serializer):
    """A line of a new order."""

    title = _item_text("title", allow_blank=True)
    unit_price = _amount()
    quantity = serializers.IntegerField(
        required=False, max_value=POSTGRES_MAX_INTEGER, help_text="1 when absent."
    )
    unit_measure = _item_text(
        "unit_measure", required=False, help_text="unit (default) or pack on the legacy API."
    )
    description = _item_text("description", required=False, allow_blank=True)
    sku = _item_text("sku", required=False, allow_blank=True, help_text="Your product code.")
    category = _item_text("category", required=False, allow_blank=True)
    total_amount = _amount(
        required=False, allow_null=True, help_text="When given, unit_price x quantity."
    )

    def validate(self, attrs: dict) -> ItemInput:
        return ItemInput(**attrs)


class TaxInputSerializer(RefuseUnknownFields, TaxSerializer):
    def validate(self, attrs: dict) -> TaxInput:
        return TaxInput(**attrs)


class StringValue(serializers.CharField):
    """A JSON string, never a number or a boolean turned into one."""

    default_error_messages = {"invalid": "Give a string."}

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": order_metadata.MAX_VALUE_LENGTH},
        "maxProperties": order_metadata.MAX_KEYS,
    }
)
class MetadataField(serializers.DictField):
    """``metadata`` in a body (``orders.metadata``): errors on ``metadata`` (``not_a_dict``,
    ``too_many_keys``) or on ``metadata.<key>`` (``invalid_key``; the value's ``invalid``,
    ``max_length``)."""

    default_error_messages = {"too_many_keys": order_metadata.TOO_MANY_KEYS}

    def __init__(self, **kwargs) -> None:
        value = StringValue(
            max_length=order_metadata.MAX_VALUE_LENGTH, allow_blank=True, trim_whitespace=False
        )
        super().__init__(child=value, **kwargs)

    def to_internal_value(self, data: object) -> dict[str, str]:
        if isinstance(data, dict):
            bad_keys = {
                str(key): [ErrorDetail(order_metadata.BAD_KEY, code="invalid_key")]
                for key in data
                if not order_metadata.KEY.fullmatch(str(key))
            }
            if bad_keys:
                raise serializers.ValidationError(bad_keys)
            if len(data) > order_metadata.MAX_KEYS:
                self.fail("too_many_keys")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.INT)
class PointOfSaleField(serializers.PrimaryKeyRelatedField):
    """A POS of the acting seller by id; another seller's is as unknown as one that never was."""

    default_error_messages = {"does_not_exist": "Choose a point of sale of this seller."}

    def get_queryset(self) -> QuerySet[PointOfSale]:
        return PointOfSale.objects.select_related("store", "seller_credential")


class OrderCreateSerializer(RefuseUnknownFields, serializers.Serializer):
    """A new order, as ``orders.services.create_order`` takes it."""

    pos = PointOfSaleField(help_text="The id of one of the seller's points of sale (synced).")
    api = serializers.ChoiceField(choices=Api.choices)
    mode = serializers.ChoiceField(choices=Mode.choices)
    external_reference = serializers.CharField(
        allow_blank=True, help_text="Your reference, unique per seller: 1 to 64 [A-Za-z0-9_-]."
    )
    title = serializers.CharField(allow_blank=True)
    description = serializers.CharField(
        required=False, allow_blank=True, help_text="At most 150 characters on the Orders API."
    )
    items = ItemInputSerializer(many=True, required=False)
    total_amount = _amount(
        required=False,
        allow_null=True,
        help_text="The items' total plus cash_out_amount; needed when there are no items.",
    )
    cash_out_amount = _amount(
        required=False, allow_null=True, help_text="Cash given to the buyer (legacy API only)."
    )
    taxes = TaxInputSerializer(many=True, required=False, help_text="Colombia's IVA (MCO only).")
    expiration_date = AwareDateTimeField(
        required=False, allow_null=True, help_text="When it stops being payable (with its offset)."
    )
    expiration_time = serializers.DurationField(
        required=False,
        allow_null=True,
        help_text="How long it stays payable, ISO 8601 (PT15M); 30 seconds to 3600 hours. "
        "Give it or expiration_date, not both; the deployment's default when neither.",
    )
    marketplace_fee = _amount(
        required=False,
        allow_null=True,
        help_text="The integrator's fee (sellers connected through OAuth only); the seller's "
        "fee policy when absent.",
    )
    metadata = MetadataField(
        required=False,
        help_text=f"Your own keys and values, returned and searchable: at most "
        f"{order_metadata.MAX_KEYS} keys of 1 to {order_metadata.MAX_KEY_LENGTH} characters of "
        f"[A-Za-z0-9_.-], each with a string of at most {order_metadata.MAX_VALUE_LENGTH} "
        "characters (an empty one is not kept).",
    )
    currency = serializers.CharField(
        required=False,
        write_only=True,
        help_text="The seller's currency (ISO 4217, GET /api/v1/tenant), to make sure of it: "
        "any other is refused (`currency_mismatch`). Orders are always in the seller's currency.",
    )

    def validate_currency(self, currency: str) -> str:
        expected = acting_tenant(self.context["request"]).currency
        if currency != expected:
            raise serializers.ValidationError(
                f"This seller's orders are in {expected}.", code="currency_mismatch"
            )
        return currency

    def validate(self, attrs: dict) -> dict:
        attrs.pop("currency", None)  # checked: every order is in the seller's currency
        return attrs


class OrderUpdateSerializer(RefuseUnknownFields, serializers.Serializer):
    """What of an order may change: its metadata."""

    metadata = MetadataField(
        help_text="The keys to set; an empty value removes its key. Other keys are kept."
    )


class RefundAmountSerializer(RefuseUnknownFields, serializers.Serializer):
    amount = _amount(
        required=False,
        allow_null=True,
        help_text="What to refund; everything still refundable when absent.",
    )


# The endpoints ------------------------------------------------------------------------------

CREATE_EXAMPLE = OpenApiExample(
    "A dynamic QR on the Orders API",
    request_only=True,
    value={
        "pos": 1,
        "api": "v1",
        "mode": "dynamic",
        "external_reference": "sale-1042",
        "title": "Table 7",
        "items": [
            {"title": "Bife de chorizo", "unit_price": "85.00", "quantity": 1, "sku": "BIFE-1"}
        ],
        "total_amount": "85.00",
        "expiration_time": "PT15M",
    },
)


EXPORT_PARAMETERS = [
    OpenApiParameter(
        "kind",
        str,
        enum=list(exports.KINDS),
        default="orders",
        description="`orders` created in the period (every status), `payments` approved in "
        "it, or `refunds` processed in it (a refund not processed yet: asked for in it).",
    ),
    OpenApiParameter(
        "from",
        OpenApiTypes.DATE,
        description="The first day (in the seller's time zone), included. Default: `to`.",
    ),
    OpenApiParameter(
        "to",
        OpenApiTypes.DATE,
        description=f"The last day, included; at most {LONGEST_PERIOD} days after `from`. "
        "Default: the seller's today.",
    ),
]


def export_schema(extension: str, content_type: str) -> dict:
    """``extend_schema`` arguments of an export route: its query and its file answer."""
    return {
        "summary": f"Export orders, payments or refunds as {extension.upper()}",
        "description": "One row per order, payment or refund of the seller in a range of its "
        "days, oldest first, with a header row of stable column names. Amounts are decimals "
        "(a dot, no thousands separator) beside a `currency` column; instants are ISO 8601 "
        "with the seller's UTC offset; text a spreadsheet would run as a formula starts with "
        "`'`. Sent as a download named `<seller>-<kind>-<from>-to-<to>." + extension + "`.",
        "operation_id": f"orders_export_{extension}",
        "parameters": EXPORT_PARAMETERS,
        "responses": {
            (200, content_type): OpenApiResponse(
                OpenApiTypes.BINARY, description=f"The {extension.upper()} file."
            )
        },
    }


@extend_schema_view(
    list=extend_schema(summary="List orders", description="Newest first."),
    retrieve=extend_schema(summary="Get an order"),
)
class OrderViewSet(
    TenantAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """A seller's orders, paid with a QR in Mercado Pago."""

    lookup_field = "uid"
    lookup_value_regex = UID_PATTERN
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    pagination_class = NewestFirstPagination
    read_scope = "orders:read"
    write_scope = "orders:write"
    write_capability = Capability.CREATE_ORDERS
    action_capabilities = {
        "create": Capability.CREATE_ORDERS,
        "partial_update": Capability.CREATE_ORDERS,
        "cancel": Capability.CANCEL_ORDERS,
        "refund": Capability.REFUND_ORDERS,
    }

    def get_queryset(self) -> QuerySet[Order]:
        return Order.objects.select_related("pos").prefetch_related(*order_lists())

    def get_serializer_class(self) -> type[serializers.Serializer]:
        if self.action == "create":
            return OrderCreateSerializer
        if self.action == "refund":
            return RefundAmountSerializer
        if self.action == "partial_update":
            return OrderUpdateSerializer
        return OrderSerializer

    def list(self, request: Request) -> Response:
        """A page of orders, read as rows and written by ``orders.representation`` (no model
        instance, no serializer)."""
        page = self.paginate_queryset(page_rows(self.filter_queryset(Order.objects.all())))
        return self.get_paginated_response(orders_json(page))

    def _answer(self, order: Order, status_code: int = status.HTTP_200_OK) -> Response:
        """``order`` as it is now, with its items, payments and refunds."""
        order = self.get_queryset().get(pk=order.pk)
        return Response(OrderSerializer(order).data, status=status_code)

    @extend_schema(
        summary="Create an order",
        description="Validated with the rules of the chosen Mercado Pago API (400 names the "
        "field and gives Mercado Pago's error code), then created in Mercado Pago. The answer "
        "is 201 with the order: `created`, or `pending` when Mercado Pago could not answer (it "
        "is sent again in the background, never twice). A legacy dynamic QR that got no answer "
        "cannot be sent again: 503, create a new one.",
        request=OrderCreateSerializer,
        responses={201: OrderSerializer},
        examples=[CREATE_EXAMPLE],
    )
    @idempotent
    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claim = claim_of(request)  # a retry that takes over a cut-off attempt resumes its order
        order = services.create_order(
            tenant=self.tenant,
            uid=claim.uid if claim else None,
            retried=bool(claim and claim.taken_over),
            **serializer.validated_data,
        )
        # The order as the service left it, with its POS and lists: not read again.
        return Response(order_json(with_lists(order)), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Update an order's metadata",
        description="Sets the keys of `metadata` (an empty value removes its key) and keeps the "
        "others; nothing else of an order changes. At most "
        f"{order_metadata.MAX_KEYS} keys in all (400 `too_many_keys`).",
        request=OrderUpdateSerializer,
        responses={200: OrderSerializer},
        examples=[
            OpenApiExample(
                "Set one key, remove another",
                value={"metadata": {"table": "7", "waiter": ""}},
                request_only=True,
            )
        ],
    )
    def partial_update(self, request: Request, uid: str) -> Response:
        order = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(
            services.update_metadata(tenant=self.tenant, order=order, **serializer.validated_data)
        )

    @extend_schema(
        summary="Cancel an order",
        description="An order waiting for payment (`created`); a legacy dynamic QR cannot be "
        "deleted in Mercado Pago (409 `legacy_dynamic_order_cannot_be_deleted`). Answers the "
        "canceled order.",
        operation_id="orders_cancel",
        request=None,
        responses={200: OrderSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, uid: str) -> Response:
        order = self.get_object()
        NoBody.check(request)
        return self._answer(services.cancel_order(tenant=self.tenant, order=order))

    @extend_schema(
        summary="Refund an order",
        description="All of a paid order, or `amount` of it; partial refunds may be repeated "
        "up to what was paid. Answers 201 with the order and its refunds; a refund that Mercado "
        "Pago could not take yet is `pending` and is sent again in the background.",
        operation_id="orders_refund",
        request=RefundAmountSerializer,
        responses={201: OrderSerializer},
        examples=[OpenApiExample("Part of it", value={"amount": "40.00"}, request_only=True)],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def refund(self, request: Request, uid: str) -> Response:
        order = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.refund_order(tenant=self.tenant, order=order, **serializer.validated_data)
        return self._answer(order, status.HTTP_201_CREATED)

    def _qr_image(self, request: Request, image_format: qr.ImageFormat) -> HttpResponse:
        payload = self.get_object().scan_payload
        if not payload:
            raise Http404("This order has no QR yet: Mercado Pago has not accepted it.")
        return qr_image_response(request, payload, image_format)

    @extend_schema(
        summary="The QR of an order, as PNG",
        description="What the buyer scans: the order's qr_data, or for a static order its "
        "POS's fixed QR. 404 while there is none.",
        operation_id="orders_qr_png",
        **qr_image_schema(qr.PNG, "The QR"),
    )
    @action(
        detail=True,
        url_path="qr.png",
        url_name="qr-png",
        content_negotiation_class=IgnoreAcceptHeader,
    )
    def qr_png(self, request: Request, uid: str) -> HttpResponse:
        return self._qr_image(request, qr.PNG)

    @extend_schema(
        summary="The QR of an order, as SVG",
        description="What the buyer scans: the order's qr_data, or for a static order its "
        "POS's fixed QR. 404 while there is none.",
        operation_id="orders_qr_svg",
        **qr_image_schema(qr.SVG, "The QR"),
    )
    @action(
        detail=True,
        url_path="qr.svg",
        url_name="qr-svg",
        content_negotiation_class=IgnoreAcceptHeader,
    )
    def qr_svg(self, request: Request, uid: str) -> HttpResponse:
        return self._qr_image(request, qr.SVG)

    def _export(self, request: Request) -> exports.Export:
        today = local_day(self.tenant, timezone.now())[0]
        return exports.requested_export(self.tenant, request.query_params, today)

    @extend_schema(**export_schema("csv", "text/csv"))
    @action(
        detail=False,
        url_path="export.csv",
        url_name="export-csv",
        content_negotiation_class=IgnoreAcceptHeader,
    )
    def export_csv(self, request: Request) -> HttpResponse:
        return exports.csv_response(self._export(request))

    @extend_schema(**export_schema("xlsx", exports.XLSX_CONTENT_TYPE))
    @action(
        detail=False,
        url_path="export.xlsx",
        url_name="export-xlsx",
        content_negotiation_class=IgnoreAcceptHeader,
    )
    def export_xlsx(self, request: Request) -> HttpResponse:
        return exports.xlsx_response(self._export(request))
