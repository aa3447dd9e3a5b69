"""Celery beat refreshes OAuth tokens well before they expire; a revoked grant needs reconnect."""

from datetime import timedelta

import pytest
from django.utils import timezone

from merchant_platform.celery import app as celery_app
from tenants import oauth, services
from tenants.models import MercadoPagoCredential, Tenant
from tenants.schedules import BEAT_SCHEDULE
from tenants.scope import tenant_scope
from tenants.tasks import refresh_credential, refresh_due_credentials
from tests.factories import make_connected_tenant, make_oauth_tenant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


def connect_through_oauth(site: str, *, expires_in: timedelta) -> Tenant:
    """A seller connected through OAuth whose token expires ``expires_in`` from now."""
    tenant = make_oauth_tenant(site=site)
    with tenant_scope(tenant):
        MercadoPagoCredential.objects.update(expires_at=timezone.now() + expires_in)
    return tenant


def _credential(tenant) -> MercadoPagoCredential:
    with tenant_scope(tenant):
        return MercadoPagoCredential.objects.get()


def test_beat_refreshes_only_the_oauth_tokens_close_to_expiry():
    due = connect_through_oauth("MLA", expires_in=oauth.REFRESH_MARGIN - timedelta(days=1))
    fresh = connect_through_oauth("MLB", expires_in=oauth.REFRESH_MARGIN + timedelta(days=1))
    manual = make_connected_tenant(site="MLM")
    before = {tenant.pk: _credential(tenant) for tenant in (due, fresh, manual)}

    assert refresh_due_credentials.delay().get() == 1

    refreshed = _credential(due)
    assert refreshed.access_token != before[due.pk].access_token
    assert refreshed.refresh_token != before[due.pk].refresh_token
    assert refreshed.expires_at > timezone.now() + timedelta(days=179)
    for tenant in (fresh, manual):
        assert _credential(tenant).access_token == before[tenant.pk].access_token
    assert refresh_due_credentials.delay().get() == 0  # nothing is due any more


def test_a_revoked_grant_marks_the_seller_for_reconnect_and_the_run_goes_on():
    revoked = connect_through_oauth("MLA", expires_in=timedelta(days=1))
    other = connect_through_oauth("MLB", expires_in=timedelta(days=1))
    spent = _credential(revoked).refresh_token
    oauth.refresh_credential(tenant=revoked)
    with tenant_scope(revoked):  # as if that refresh had been lost: the old token comes back
        MercadoPagoCredential.objects.update(refresh_token=spent, expires_at=timezone.now())

    assert refresh_due_credentials.delay().get() == 2

    assert _credential(revoked).status == MercadoPagoCredential.Status.NEEDS_RECONNECT
    with pytest.raises(services.NotConnected, match="must connect Mercado Pago again"):
        services.seller_access_token(revoked)
    assert _credential(other).refreshed_at is not None
    assert refresh_credential.delay(tenant_id=revoked.pk).get() == "needs_reconnect"
    assert refresh_due_credentials.delay().get() == 0  # no longer refreshed until reconnected


def test_the_beat_schedule_names_a_registered_task():
    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in celery_app.tasks
