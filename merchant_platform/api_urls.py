"""The partner API, ``/api/v1/`` (docs/api.md). Paths have no trailing slash."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from orders.api import OrderViewSet
from partners.api import WebhookEndpointViewSet
from partners.errors import unknown_path
from pos.api import PointOfSaleViewSet, StoreViewSet
from tenants.api import TenantView

router = SimpleRouter(trailing_slash=False)
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("stores", StoreViewSet, basename="store")
router.register("pos", PointOfSaleViewSet, basename="pos")
router.register("orders", OrderViewSet, basename="order")

urlpatterns = [
    path("tenant", TenantView.as_view(), name="tenant"),
    *router.urls,
    re_path(r"^(?P<path>.*)$", unknown_path),
]
