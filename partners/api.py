"""``/api/v1/webhook-endpoints``: the URLs where a partner receives a seller's signed events, the
test event, and each endpoint's deliveries with their attempts (docs/api.md).

The signing secret is in the answer of the create and of ``rotate-secret`` only (and of their
replays under the same ``Idempotency-Key``, whose stored answer is encrypted); it is stored
encrypted and never listed. Writes go through ``partners.webhooks``.

An endpoint belongs to the partner app that registered it: a token sees and changes only its own
app's endpoints (any other is 404), while a signed-in owner or manager sees all of the seller's.
Deliveries carry whole orders, so listing them needs ``orders:read`` as well.
"""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from partners import webhooks
from partners.idempotency import idempotent
from partners.input import NoBody, RefuseUnknownFields
from partners.models import (
    SUBSCRIBABLE_EVENTS,
    DeliveryAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from partners.rest import (
    NewestFirstPagination,
    PermissionDeniedWithCode,
    TenantAPIMixin,
    is_token_request,
)
from partners.scopes import may_read_event
from tenants.roles import Capability


class WebhookEndpointSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=[(e.value, e.label) for e in SUBSCRIBABLE_EVENTS]),
        allow_empty=False,
        help_text="The events it receives.",
    )
    application = serializers.CharField(
        source="application.client_id",
        read_only=True,
        allow_null=True,
        help_text="The client id of the partner app that registered it (null: a signed-in user).",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "events",
            "description",
            "is_active",
            "application",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "url": {
                "help_text": "An https:// URL on a public address; each event is POSTed to it."
            },
            "is_active": {
                "help_text": "An inactive endpoint receives no events, except test events."
            },
        }

    def validate_events(self, events: list[str]) -> list[str]:
        """A token subscribes only to the events whose data its scopes show."""
        request = self.context.get("request")
        if request is None or not is_token_request(request):
            return events
        unreadable = [event for event in events if not may_read_event(event, request.auth.scopes)]
        if unreadable:
            raise serializers.ValidationError(
                f"This token's scopes do not show the data of {', '.join(unreadable)}.",
                code="insufficient_scope",
            )
        return events


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="Signs every delivery (X-Platform-Signature). Shown only in this answer: "
        "store it now.",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["status_code", "duration_ms", "error", "response_body", "created_at"]
        extra_kwargs = {
            "status_code": {"help_text": "What the endpoint answered; null if no answer came."}
        }


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.UUIDField(
        source="event_uid",
        read_only=True,
        help_text="The event's id: sent as X-Platform-Delivery and as the payload's id.",
    )
    attempts = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event_type",
            "status",
            "attempt_count",
            "next_attempt_at",
            "created_at",
            "delivered_at",
            "payload",
            "attempts",
        ]
        extra_kwargs = {
            "endpoint": {"help_text": "The id of the webhook endpoint it is sent to."},
            "attempt_count": {
                "help_text": "Attempts since it was queued or last redelivered (`attempts` lists "
                "them all)."
            },
            "next_attempt_at": {"help_text": "When it is tried next; null once it is settled."},
            "payload": {"help_text": "The JSON body sent."},
        }


DELIVERIES_SCOPE = "orders:read"


def require_deliveries_scope(request: Request) -> None:
    """Deliveries carry whole orders: a token needs ``DELIVERIES_SCOPE`` to see them (403)."""
    if is_token_request(request) and DELIVERIES_SCOPE not in request.auth.scopes:
        raise PermissionDeniedWithCode(
            f"Deliveries carry orders: this token lacks the {DELIVERIES_SCOPE} scope.",
            code="insufficient_scope",
        )


_SHOWN_ONCE = "The answer carries the signing `secret`, which is shown this once only."


@extend_schema_view(
    list=extend_schema(summary="List webhook endpoints", description="Newest first."),
    create=extend_schema(
        summary="Register a webhook endpoint",
        description=f"{_SHOWN_ONCE} Outside DEBUG the URL must be https://.",
        request=WebhookEndpointSerializer,
        responses={201: WebhookEndpointWithSecretSerializer},
    ),
    retrieve=extend_schema(summary="Get a webhook endpoint"),
    update=extend_schema(summary="Change a webhook endpoint"),
    partial_update=extend_schema(summary="Change some fields of a webhook endpoint"),
    destroy=extend_schema(
        summary="Delete a webhook endpoint", description="With its deliveries and attempts."
    ),
    send_test=extend_schema(
        summary="Send a test event",
        description="Queues a signed `webhook.test` event for the endpoint now (active or not). "
        "An `Idempotency-Key` header makes a retry return the first answer.",
        operation_id="webhook_endpoints_test",
        request=None,
        responses={202: WebhookDeliverySerializer},
    ),
    rotate_secret=extend_schema(
        summary="Replace the signing secret",
        description=f"The old secret stops signing at once. {_SHOWN_ONCE}",
        operation_id="webhook_endpoints_rotate_secret",
        request=None,
        responses={200: WebhookEndpointWithSecretSerializer},
    ),
    deliveries=extend_schema(
        summary="List the deliveries of a webhook endpoint",
        description="Newest first, each with its attempts (oldest first). Their payloads hold "
        f"whole orders: a token needs `{DELIVERIES_SCOPE}` besides `webhooks:write` (403 "
        "`insufficient_scope`).",
        operation_id="webhook_endpoints_deliveries",
        responses=WebhookDeliverySerializer(many=True),
    ),
)
class WebhookEndpointViewSet(TenantAPIMixin, viewsets.ModelViewSet):
    """A seller's webhook endpoints, registered by partner apps (or signed-in users); a token
    reaches only those of its own app."""

    serializer_class = WebhookEndpointSerializer
    pagination_class = NewestFirstPagination
    read_scope = "webhooks:write"
    write_scope = "webhooks:write"
    write_capability = Capability.MANAGE_INTEGRATIONS
    action_capabilities = dict.fromkeys(
        ("list", "retrieve", "deliveries"), Capability.MANAGE_INTEGRATIONS
    )

    def get_queryset(self):
        # The secret is never shown after the create; left encrypted, an endpoint whose secret no
        # configured key decrypts is still listed, changed, rotated (the cure) or deleted.
        endpoints = WebhookEndpoint.objects.select_related("application").defer("secret")
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular, reading the model
            return endpoints
        if is_token_request(self.request):
            return endpoints.filter(application_id=self.request.auth.application_id)
        return endpoints

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)
        if self.action == "deliveries":
            require_deliveries_scope(request)

    @idempotent(sealed=True)
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = request.auth.application if is_token_request(request) else None
        endpoint = webhooks.subscribe(
            tenant=self.tenant, application=application, **serializer.validated_data
        )
        return Response(
            WebhookEndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )

    def perform_update(self, serializer: WebhookEndpointSerializer) -> None:
        serializer.instance = webhooks.update_endpoint(
            tenant=self.tenant, endpoint=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        webhooks.unsubscribe(tenant=self.tenant, endpoint=instance)

    @action(detail=True, methods=["post"], url_path="test", url_name="test")
    @idempotent
    def send_test(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        NoBody.check(request)
        delivery = webhooks.send_test_event(tenant=self.tenant, endpoint=endpoint)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"], url_path="rotate-secret", url_name="rotate-secret")
    @idempotent(sealed=True)
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        NoBody.check(request)
        endpoint = webhooks.rotate_secret(tenant=self.tenant, endpoint=endpoint)
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data)

    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        deliveries = WebhookDelivery.objects.filter(endpoint=self.get_object()).prefetch_related(
            "attempts"
        )
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
