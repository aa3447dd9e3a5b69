"""The partner API, ``/api/v1/`` (docs/api.md). Paths have no trailing slash."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from orders.api import OrderViewSet
from orders.api_money import PaymentViewSet, RefundViewSet
from orders.sandbox_api import SandboxOrderViewSet
from partners.api import WebhookEndpointViewSet
from partners.errors import unknown_path
from partners.events_api import EventViewSet, WebhookDeliveryViewSet
from pos.api import PointOfSaleViewSet, StoreViewSet
from tenants.api import TenantView

router = SimpleRouter(trailing_slash=False)
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("events", EventViewSet, basename="event")
router.register("stores", StoreViewSet, basename="store")
router.register("pos", PointOfSaleViewSet, basename="pos")
router.register("orders", OrderViewSet, basename="order")
router.register("payments", PaymentViewSet, basename="payment")
router.register("refunds", RefundViewSet, basename="refund")
router.register("sandbox/orders", SandboxOrderViewSet, basename="sandbox-order")

urlpatterns = [
    path("tenant", TenantView.as_view(), name="tenant"),
    *router.urls,
    re_path(r"^(?P<path>.*)$", unknown_path),
]
