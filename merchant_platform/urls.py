from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from merchant_platform import health, metrics
from orders import cashier
from orders.dashboard import dashboard_view
from partners.schema import SwaggerView

handler400 = "partners.errors.bad_request"  # JSON under /api/
handler404 = "partners.errors.page_not_found"  # JSON under /api/
handler500 = "partners.errors.server_error"  # JSON under /api/

urlpatterns = [
    path("", cashier.landing, name="landing"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="dashboard"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("console/", include("console.urls")),
    path("tenants/", include("tenants.urls")),
    path("pos/", include("pos.urls")),
    path("", include("orders.urls")),
    path("display/", include("orders.display_urls")),
    path("cashier/", include("orders.cashier_urls")),
    path("o/", include("partners.urls")),
    path("api/v1/", include(("merchant_platform.api_urls", "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
