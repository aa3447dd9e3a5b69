"""``/api/v1/events`` and ``/api/v1/webhook-deliveries``: a seller's events, to catch up after
downtime, and the deliveries of the caller's webhook endpoints, with redelivery (docs/api.md).

An event shows as its webhooks send it (``partners.webhooks.event_payload``). A token sees the
events whose data its scopes show (``partners.scopes.may_read_event``): a token with none of them
gets an empty list, never a 403 that would tell what exists. ``webhook.test`` events are not
listed. A signed-in member sees every event of the seller.

Deliveries follow the endpoints' ownership (``partners.api``): a token sees those of its own
app's endpoints only, a signed-in owner or manager all of the seller's; they carry whole orders,
so a token needs ``orders:read`` besides ``webhooks:write``.
"""

from collections.abc import Collection

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from orders.filters import IdFilter
from partners import webhooks
from partners.api import WebhookDeliverySerializer, require_deliveries_scope
from partners.idempotency import idempotent
from partners.input import NoBody, period_filters
from partners.models import SUBSCRIBABLE_EVENTS, Event, WebhookDelivery
from partners.rest import NewestFirstPagination, TenantAPIMixin, is_token_request
from partners.scopes import event_kind, may_read_event
from tenants.roles import Capability

LISTED_TYPES = [event.value for event in SUBSCRIBABLE_EVENTS]  # webhook.test is not listed
# The choices of a listed type (settings.SPECTACULAR_SETTINGS names their enum EventTypeEnum).
EVENT_TYPE_CHOICES = [(event.value, event.label) for event in SUBSCRIBABLE_EVENTS]
UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def readable_types(scopes: Collection[str]) -> list[str]:
    """The listed event types whose data a token with ``scopes`` may read."""
    return [event_type for event_type in LISTED_TYPES if may_read_event(event_type, scopes)]


# Events ---------------------------------------------------------------------------------------


class EventTypesField(forms.CharField):
    """Event types, comma-separated, each exact (``order.created``) or every type of a kind
    (``order.*``): the types named, in a list."""

    def clean(self, value: str | None) -> list[str] | None:
        value = super().clean(value)
        if not value:
            return None
        types = []
        for name in (part.strip() for part in value.split(",")):
            if name.endswith(".*"):
                named = [t for t in LISTED_TYPES if event_kind(t) == name[:-2]]
            else:
                named = [name] if name in LISTED_TYPES else []
            if not named:
                raise forms.ValidationError(
                    f"Unknown event type: {name}. Use one of {', '.join(LISTED_TYPES)}, or a "
                    "kind followed by .* (order.*).",
                    code="invalid_choice",
                )
            types += named
        return types


class EventTypesFilter(filters.Filter):
    field_class = EventTypesField

    def filter(self, queryset: QuerySet, value: list[str] | None) -> QuerySet:
        return queryset if value is None else queryset.filter(type__in=value)


class EventFilter(filters.FilterSet):
    type = EventTypesFilter(
        help_text="Events of these types, comma-separated; `order.*` names every type of a kind."
    )
    created_after, created_before = period_filters("created_at", "Created")
    order = filters.ChoiceFilter(
        choices=[("newest", "Newest first"), ("oldest", "Oldest first")],
        method="ordered",
        help_text="`newest` first (the default) or `oldest` first, to catch up in order.",
    )

    class Meta:
        model = Event
        fields = ["type", "created_after", "created_before", "order"]

    def ordered(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Checked here, applied by ``EventPagination`` (the paginator orders the page)."""
        return queryset


class EventPagination(NewestFirstPagination):
    """Newest first; ``order=oldest`` pages oldest first (a cursor keeps the order it was made
    with, since its links carry ``order``)."""

    def get_ordering(self, request: Request, queryset: QuerySet, view) -> tuple[str, ...]:
        if request.query_params.get("order") == "oldest":
            return ("created_at", "pk")
        return self.ordering


class EventSerializer(serializers.Serializer):
    """An event as its webhooks send it (``partners.webhooks.event_payload``)."""

    id = serializers.UUIDField(
        read_only=True,
        help_text="The event's id: the id and X-Platform-Delivery header of each delivery of it.",
    )
    object = serializers.ChoiceField(choices=["event"], read_only=True, help_text='Always "event".')
    type = serializers.ChoiceField(choices=EVENT_TYPE_CHOICES, read_only=True)
    api_version = serializers.CharField(
        read_only=True, help_text="The API version `data` is written in (YYYY-MM-DD)."
    )
    created = serializers.DateTimeField(read_only=True, help_text="When it happened, in UTC.")
    data = serializers.DictField(
        read_only=True,
        help_text='What it is about, as the API shows it: {"order": ...}, {"refund": ...}, '
        '{"dispute": ...}, {"store": ...}, {"pos": ...} or {"seller": ..., '
        '"previous_connection": ...}.',
    )

    def to_representation(self, event: Event) -> dict:
        return webhooks.event_payload(event)


@extend_schema_view(
    list=extend_schema(
        summary="List events",
        description="Newest first, or oldest first with `order=oldest`. Only the events whose "
        "data the token's scopes show: `order.*`, `refund.*` and `dispute.*` need "
        "`orders:read`, `store.*` `stores:read`, `pos.*` `pos:read`; `seller.*` any token. "
        f"Events are kept {settings.EVENTS_RETENTION_DAYS} days.",
    ),
    retrieve=extend_schema(summary="Get an event"),
)
class EventViewSet(
    TenantAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """A seller's events: what its webhooks send, kept to be read again."""

    lookup_field = "uid"
    lookup_url_kwarg = "id"
    lookup_value_regex = UUID_PATTERN
    serializer_class = EventSerializer
    filterset_class = EventFilter
    pagination_class = EventPagination

    def get_queryset(self) -> QuerySet[Event]:
        events = Event.objects.all()
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular, reading the model
            return events
        if is_token_request(self.request):
            return events.filter(type__in=readable_types(self.request.auth.scopes))
        return events.filter(type__in=LISTED_TYPES)


# Deliveries -----------------------------------------------------------------------------------


class WebhookDeliveryFilter(filters.FilterSet):
    event = filters.UUIDFilter(field_name="event_uid", help_text="Deliveries of this event (id).")
    endpoint = IdFilter(field_name="endpoint", help_text="Deliveries to this endpoint (its id).")
    status = filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["event", "endpoint", "status"]


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT


@extend_schema_view(
    list=extend_schema(
        summary="List webhook deliveries",
        description="The deliveries of your app's endpoints, newest first, each with its "
        "attempts (oldest first). Their payloads hold whole orders: a token needs `orders:read` "
        "besides `webhooks:write` (403 `insufficient_scope`).",
    ),
    retrieve=extend_schema(summary="Get a webhook delivery"),
    redeliver=extend_schema(
        summary="Redeliver an event",
        description="Sends the delivery's event again now, with the same payload and id, and "
        "its retry schedule from the start (`attempt_count` back to 0; earlier attempts stay "
        "listed). For a `delivered`, `failed` or `canceled` delivery; 409 "
        "`delivery_pending` while it is pending, `endpoint_inactive` for an inactive endpoint "
        "and `access_revoked` when the endpoint's app lost access to the seller.",
        operation_id="webhook_deliveries_redeliver",
        request=None,
        responses={202: WebhookDeliverySerializer},
    ),
)
class WebhookDeliveryViewSet(
    TenantAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The deliveries of a seller's webhook endpoints; a token reaches its own app's only."""

    serializer_class = WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilter
    pagination_class = NewestFirstPagination
    read_scope = "webhooks:write"
    write_scope = "webhooks:write"
    write_capability = Capability.MANAGE_INTEGRATIONS
    action_capabilities = dict.fromkeys(
        ("list", "retrieve", "redeliver"), Capability.MANAGE_INTEGRATIONS
    )

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        deliveries = WebhookDelivery.objects.prefetch_related("attempts")
        if getattr(self, "swagger_fake_view", False):
            return deliveries
        if is_token_request(self.request):
            return deliveries.filter(endpoint__application_id=self.request.auth.application_id)
        return deliveries

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)
        require_deliveries_scope(request)

    @action(detail=True, methods=["post"])
    @idempotent
    def redeliver(self, request: Request, pk: str | None = None) -> Response:
        delivery = self.get_object()
        NoBody.check(request)
        try:
            delivery = webhooks.redeliver(tenant=self.tenant, delivery=delivery)
        except webhooks.CannotRedeliver as refusal:
            raise Conflict(str(refusal), code=refusal.code) from refusal
        delivery = self.get_queryset().get(pk=delivery.pk)  # with eager Celery: attempted already
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
