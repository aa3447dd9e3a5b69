"""``/api/v1/stores`` and ``/api/v1/pos``: a seller's stores and points of sale, their sync with
Mercado Pago, and the POS fixed QR image (docs/api.md).

Every write goes through ``pos.services``, which validates with Mercado Pago's rules and pushes
the row to Mercado Pago: a refusal comes back as a ``ValidationError`` (400) and leaves nothing
behind; when Mercado Pago cannot answer, the row is kept as ``failed`` and retried.
"""

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response

from partners.idempotency import idempotent
from partners.input import NoBody, RefuseUnknownFields
from partners.rest import NewestFirstPagination, TenantAPIMixin
from pos import qr, services, validators
from pos.models import PointOfSale, Store
from tenants.roles import Capability

SYNC_FIELDS = ["sync_state", "sync_error_code", "sync_error_message", "last_synced_at"]
QR_FIELDS = ["qr_code", "qr_image_url", "qr_template_document_url", "qr_template_image_url"]
_MCC_CODES = "; ".join(
    f"{site} " + " or ".join(f"{code} ({label})" for code, label in codes.items())
    for site, codes in validators.MCC_BY_SITE.items()
)

_HOURS_RANGE = {
    "type": "object",
    "properties": {
        "open": {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"},
        "close": {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"},
    },
    "required": ["open", "close"],
    "additionalProperties": False,
}


@extend_schema_field(
    {
        "type": "object",
        "description": "At most two ranges a day, 24-hour times, each opening before it closes.",
        "properties": {
            day: {"type": "array", "maxItems": validators.MAX_RANGES_PER_DAY, "items": _HOURS_RANGE}
            for day in validators.DAYS
        },
        "additionalProperties": False,
        "example": {"monday": [{"open": "09:00", "close": "13:00"}]},
    }
)
class BusinessHoursField(serializers.JSONField):
    """A store's opening hours (``pos.validators.validate_business_hours``)."""


class StoreSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    business_hours = BusinessHoursField(required=False)

    class Meta:
        model = Store
        fields = [
            "id",
            *services.STORE_FIELDS,
            "mp_store_id",
            *SYNC_FIELDS,
            "created_at",
            "updated_at",
        ]


class PointOfSaleSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    class Meta:
        model = PointOfSale
        fields = [
            "id",
            *services.POS_FIELDS,
            "mp_pos_id",
            *QR_FIELDS,
            *SYNC_FIELDS,
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "store": {"help_text": "The id of one of the seller's stores."},
            "external_id": {
                "help_text": "Your id for the POS: 1 to 39 letters and digits. It cannot change "
                "after the POS is created."
            },
            "category": {"help_text": f"Gastronomy or gas station, or null: {_MCC_CODES}."},
            **{
                name: {"help_text": "Empty until Mercado Pago has given the POS its QR."}
                for name in QR_FIELDS
            },
        }

    def validate_external_id(self, external_id: str) -> str:
        if self.instance is not None and external_id != self.instance.external_id:
            raise ValidationError(
                "The external id of a point of sale cannot change after it is created; "
                "create another point of sale instead.",
                code="immutable",
            )
        return external_id


class IgnoreAcceptHeader(BaseContentNegotiation):
    """For views that answer a fixed content type themselves (images): any ``Accept`` is fine,
    and errors are rendered by the first renderer (JSON)."""

    def select_parser(self, request: Request, parsers: list) -> object:
        return parsers[0]

    def select_renderer(self, request: Request, renderers: list, format_suffix=None) -> tuple:
        return renderers[0], renderers[0].media_type


def _whole_number(allowed: range, default: int) -> dict:
    return {
        "type": "integer",
        "minimum": allowed.start,
        "maximum": allowed.stop - 1,
        "default": default,
    }


QR_IMAGE_PARAMETERS = [
    OpenApiParameter(
        "size",
        _whole_number(qr.SIZES, qr.ImageOptions.size),
        description="Pixels per module in a PNG; tenths of a millimetre per module in an SVG.",
    ),
    OpenApiParameter(
        "border",
        _whole_number(qr.BORDERS, qr.ImageOptions.border),
        description="Quiet-zone width in modules (scanners expect 4).",
    ),
    OpenApiParameter(
        "ec",
        str,
        description="Error-correction level.",
        enum=list(qr.ERROR_CORRECTION),
        default=qr.ImageOptions.ec,
    ),
]


def qr_image_schema(image_format: qr.ImageFormat, what: str) -> dict:
    """``extend_schema`` arguments of a QR image route: its options and its binary answer."""
    return {
        "parameters": QR_IMAGE_PARAMETERS,
        "responses": {
            (200, image_format.content_type): OpenApiResponse(
                OpenApiTypes.BINARY, description=f"{what} as {image_format.name.upper()}."
            ),
            (304, image_format.content_type): OpenApiResponse(
                description="The image has not changed since the ETag in If-None-Match."
            ),
        },
    }


def qr_image_response(request: Request, payload: str, image_format: qr.ImageFormat) -> HttpResponse:
    """``pos.qr.image_response`` for the API: bad image options are a 400 in the API's format."""
    try:
        qr.parse_options(request.query_params)
    except qr.InvalidImageOption as error:
        raise ValidationError(str(error), code="invalid_image_option") from error
    return qr.image_response(request, payload, image_format)


class SyncedRowViewSet(TenantAPIMixin, viewsets.ModelViewSet):
    """CRUD of a seller's rows mirrored in Mercado Pago; subclasses call the services."""

    pagination_class = NewestFirstPagination
    write_capability = Capability.MANAGE_STORES

    @idempotent
    def create(self, request: Request, *args, **kwargs) -> Response:
        return super().create(request, *args, **kwargs)

    @action(detail=True, methods=["post"])
    @idempotent
    def resync(self, request: Request, pk: str | None = None) -> Response:
        """Push the row to Mercado Pago again; if Mercado Pago fails, a task retries it."""
        row = self.get_object()
        NoBody.check(request)
        row = services.resync(tenant=self.tenant, row=row)
        return Response(self.get_serializer(row).data)


_IDEMPOTENT = "An `Idempotency-Key` header makes a retry return the first answer."


@extend_schema_view(
    list=extend_schema(summary="List stores", description="Newest first."),
    create=extend_schema(
        summary="Create a store",
        description="Created locally and in Mercado Pago; a refusal of Mercado Pago is a 400 on "
        f"the field it names and leaves nothing behind. {_IDEMPOTENT}",
    ),
    retrieve=extend_schema(summary="Get a store"),
    update=extend_schema(summary="Change a store", description="Changed in Mercado Pago too."),
    partial_update=extend_schema(summary="Change some fields of a store"),
    destroy=extend_schema(
        summary="Delete a store",
        description="In Mercado Pago too. A store with points of sale cannot be deleted (400).",
    ),
    resync=extend_schema(
        summary="Sync a store with Mercado Pago again",
        description=f"For a store whose sync failed. {_IDEMPOTENT}",
        operation_id="stores_resync",
        request=None,
    ),
)
class StoreViewSet(SyncedRowViewSet):
    """A seller's stores, with their sync state in Mercado Pago."""

    serializer_class = StoreSerializer
    filterset_fields = ["external_id", "sync_state"]
    read_scope = "stores:read"
    write_scope = "stores:write"

    def get_queryset(self):
        return Store.objects.all()

    def perform_create(self, serializer: StoreSerializer) -> None:
        serializer.instance = services.create_store(tenant=self.tenant, **serializer.validated_data)

    def perform_update(self, serializer: StoreSerializer) -> None:
        serializer.instance = services.update_store(
            tenant=self.tenant, store=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Store) -> None:
        services.delete_store(tenant=self.tenant, store=instance)


@extend_schema_view(
    list=extend_schema(summary="List points of sale", description="Newest first."),
    create=extend_schema(
        summary="Create a point of sale",
        description="Created locally and in Mercado Pago, which gives it its fixed QR "
        f"(`qr_code`). {_IDEMPOTENT}",
    ),
    retrieve=extend_schema(summary="Get a point of sale"),
    update=extend_schema(
        summary="Change a point of sale", description="`external_id` cannot change."
    ),
    partial_update=extend_schema(summary="Change some fields of a point of sale"),
    destroy=extend_schema(summary="Delete a point of sale", description="In Mercado Pago too."),
    resync=extend_schema(
        summary="Sync a point of sale with Mercado Pago again",
        description=f"For a point of sale whose sync failed. {_IDEMPOTENT}",
        operation_id="pos_resync",
        request=None,
    ),
)
class PointOfSaleViewSet(SyncedRowViewSet):
    """A seller's points of sale, their sync state and their fixed QR."""

    serializer_class = PointOfSaleSerializer
    filterset_fields = ["store", "external_id", "sync_state"]
    read_scope = "pos:read"
    write_scope = "pos:write"

    def get_queryset(self):
        return PointOfSale.objects.select_related("store")

    def perform_create(self, serializer: PointOfSaleSerializer) -> None:
        serializer.instance = services.create_pos(tenant=self.tenant, **serializer.validated_data)

    def perform_update(self, serializer: PointOfSaleSerializer) -> None:
        serializer.instance = services.update_pos(
            tenant=self.tenant, pos=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: PointOfSale) -> None:
        services.delete_pos(tenant=self.tenant, pos=instance)

    def _qr_image(self, request: Request, image_format: qr.ImageFormat) -> HttpResponse:
        pos = self.get_object()
        if not pos.qr_code:
            raise Http404("This point of sale has no QR yet: it is not synced with Mercado Pago.")
        return qr_image_response(request, pos.qr_code, image_format)

    @extend_schema(
        summary="The fixed QR of a point of sale, as PNG",
        operation_id="pos_qr_png",
        **qr_image_schema(qr.PNG, "The fixed QR"),
    )
    @action(
        detail=True,
        url_path="qr.png",
        url_name="qr-png",
        content_negotiation_class=IgnoreAcceptHeader,
    )
    def qr_png(self, request: Request, pk: str | None = None) -> HttpResponse:
        """404 while the point of sale has no QR (it is not synced with Mercado Pago yet)."""
        return self._qr_image(request, qr.PNG)

    @extend_schema(
        summary="The fixed QR of a point of sale, as SVG",
        operation_id="pos_qr_svg",
        **qr_image_schema(qr.SVG, "The fixed QR"),
    )
    @action(
        detail=True,
        url_path="qr.svg",
        url_name="qr-svg",
        content_negotiation_class=IgnoreAcceptHeader,
    )
    def qr_svg(self, request: Request, pk: str | None = None) -> HttpResponse:
        """404 while the point of sale has no QR (it is not synced with Mercado Pago yet)."""
        return self._qr_image(request, qr.SVG)
