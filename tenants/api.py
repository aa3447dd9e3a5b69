"""``GET /api/v1/tenant``: the seller the caller acts for."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from partners.rest import TenantAPIMixin
from tenants.models import MercadoPagoCredential, Tenant
from tenants.signals import NOT_CONNECTED


class TenantSerializer(serializers.ModelSerializer):
    country = serializers.CharField(source="country_code")
    currency = serializers.CharField()
    connection = serializers.SerializerMethodField(
        help_text="not_connected, connected or needs_reconnect (the seller must connect again)."
    )

    class Meta:
        model = Tenant
        fields = ["slug", "name", "site", "country", "currency", "status", "connection"]

    def get_connection(self, tenant: Tenant) -> str:
        credential = MercadoPagoCredential.objects.filter(tenant=tenant).only("status").first()
        return credential.status if credential is not None else NOT_CONNECTED


class TenantView(TenantAPIMixin, GenericAPIView):
    """The seller this token (or the signed-in user's chosen seller) acts for."""

    serializer_class = TenantSerializer

    @extend_schema(operation_id="tenant_retrieve")
    def get(self, request: Request) -> Response:
        return Response(self.get_serializer(self.tenant).data)
