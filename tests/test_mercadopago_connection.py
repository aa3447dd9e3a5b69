"""A seller's Mercado Pago connection: manual tokens checked by the sandbox, encrypted at rest."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core import serializers
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from sandbox.seed import seller_access_token as sandbox_token
from tenants import services
from tenants.models import MercadoPagoCredential
from tenants.scope import tenant_scope
from tests.factories import make_connected_tenant, make_tenant

pytestmark = pytest.mark.django_db

MLA_TOKEN = sandbox_token("MLA")


def test_a_seller_connects_with_its_own_access_token():
    tenant = make_tenant(site="MLA")
    credential = services.connect_with_access_token(tenant=tenant, access_token=MLA_TOKEN)
    tenant.refresh_from_db()
    assert tenant.mp_user_id == 100000001
    assert credential.source == MercadoPagoCredential.Source.MANUAL
    assert not credential.allows_marketplace_fee
    assert credential.access_token_tail == MLA_TOKEN[-4:]
    assert services.seller_access_token(tenant) == MLA_TOKEN


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("not-a-token", "not a Mercado Pago access token"),
        ("APP_USR-8000000000000001-000000-forged-100000001", "refused this access token"),
    ],
)
def test_a_token_mercado_pago_refuses_is_not_saved(token, message):
    tenant = make_tenant()
    with pytest.raises(services.ConnectionRefused, match=message):
        services.connect_with_access_token(tenant=tenant, access_token=token)
    with tenant_scope(tenant):
        assert not MercadoPagoCredential.objects.exists()


def test_one_mercado_pago_account_serves_one_seller():
    make_connected_tenant(site="MLA")
    with pytest.raises(services.ConnectionRefused, match="another seller"):
        services.connect_with_access_token(tenant=make_tenant(), access_token=MLA_TOKEN)


def test_a_seller_without_a_usable_connection_gets_a_clear_error():
    tenant = make_tenant("Unconnected")
    with pytest.raises(services.NotConnected, match="has not connected"):
        services.seller_access_token(tenant)
    connected = make_connected_tenant("Revoked", site="MLB")
    with tenant_scope(connected):
        MercadoPagoCredential.objects.update(status=MercadoPagoCredential.Status.NEEDS_RECONNECT)
    with pytest.raises(services.NotConnected, match="must connect Mercado Pago again"):
        services.seller_access_token(connected)


def test_an_expired_token_is_not_used():
    tenant = make_connected_tenant(site="MLA")
    with tenant_scope(tenant):
        MercadoPagoCredential.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(services.NotConnected, match="revoked or expired"):
        services.seller_access_token(tenant)


def test_tokens_are_encrypted_in_the_database_and_in_a_dump():
    tenant = make_connected_tenant(site="MLA")
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM tenants_mercadopagocredential")
        (stored,) = cursor.fetchone()
    assert MLA_TOKEN not in stored
    assert stored.startswith("gAAAAA")

    dump = StringIO()
    call_command("dumpdata", "tenants", all=True, stdout=dump)
    assert MLA_TOKEN not in dump.getvalue()

    with tenant_scope(tenant):
        MercadoPagoCredential.objects.all().delete()
    for restored in serializers.deserialize("json", dump.getvalue()):
        if isinstance(restored.object, MercadoPagoCredential):
            restored.save()
    assert services.seller_access_token(tenant) == MLA_TOKEN
    assert json.loads(dump.getvalue())  # a well-formed dump
