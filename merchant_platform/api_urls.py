"""The partner API, ``/api/v1/`` (docs/api.md)."""

from django.urls import path

from tenants.api import TenantView

urlpatterns = [
    path("tenant", TenantView.as_view(), name="tenant"),
]
