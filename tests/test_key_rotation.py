"""Credential keys rotate: old keys still decrypt, the command re-encrypts with the newest one."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from sandbox.seed import seller_access_token as sandbox_token
from tenants import services
from tests.factories import make_connected_tenant

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _stored_tokens() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM tenants_mercadopagocredential ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def test_rotation_re_encrypts_with_the_newest_key_and_old_keys_decrypt_until_then():
    with override_settings(MERCADOPAGO_CREDENTIAL_KEYS=[OLD]):
        tenants = [make_connected_tenant(site=site) for site in ("MLA", "MLB")]
    tokens = {tenant.pk: sandbox_token(tenant.site) for tenant in tenants}
    under_old = _stored_tokens()
    assert all(Fernet(OLD).decrypt(value.encode()) for value in under_old)

    with override_settings(MERCADOPAGO_CREDENTIAL_KEYS=[NEW]), pytest.raises(InvalidToken):
        services.seller_access_token(tenants[0])

    with override_settings(MERCADOPAGO_CREDENTIAL_KEYS=[NEW, OLD]):
        for tenant in tenants:
            assert services.seller_access_token(tenant) == tokens[tenant.pk]
        output = StringIO()
        call_command("rotate_credential_keys", stdout=output)
    assert "Re-encrypted 2 Mercado Pago credential(s)" in output.getvalue()

    rotated = _stored_tokens()
    assert all(Fernet(NEW).decrypt(value.encode()) for value in rotated)
    with override_settings(MERCADOPAGO_CREDENTIAL_KEYS=[NEW]):
        for tenant in tenants:
            assert services.seller_access_token(tenant) == tokens[tenant.pk]
