"""The sandbox's URLs, mounted under /sandbox/ by the project when SANDBOX_ENABLED is on."""

from django.urls import include, path
from django.views.generic import TemplateView

urlpatterns = [
    path("", TemplateView.as_view(template_name="sandbox/index.html"), name="sandbox-index"),
    path("", include("sandbox.urls_api")),  # the emulated Mercado Pago API and the buyer wallet
    path("", include("sandbox.urls_oauth")),  # OAuth authorization page and /oauth/token
    path("_control/", include("sandbox.urls_control")),  # fault injection, deliveries
]
