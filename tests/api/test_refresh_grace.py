"""Refreshing with rotation has a grace period (issue 20, point 4): several POS workers that
refresh with the same refresh token at once all get working tokens and the grant survives; the
previous access token works until the grace ends; after it, the old refresh token is refused and
DOT's reuse protection revokes the family, and the old access token answers ``token_expired``."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings

from partners.models import PartnerGrant
from partners.services import record_consent, revoke_grant
from tenants.scope import tenant_scope
from tests.api.authorization_code import ConnectedApp, connect
from tests.api.conftest import api_client

pytestmark = pytest.mark.django_db

GRACE = oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS
WORKERS = 4


def status_of(access_token: str) -> tuple[int, str | None]:
    answer = api_client(access_token).get("/api/v1/tenant")
    return answer.status_code, answer.json().get("code")


@pytest.fixture
def app(tenant_a, owner_a) -> ConnectedApp:
    return connect(tenant_a, owner_a)


def test_the_grace_period_is_the_setting():
    assert GRACE == 10  # OAUTH_REFRESH_TOKEN_GRACE_SECONDS's default


def test_workers_refreshing_with_the_same_token_within_the_grace_all_get_working_tokens(
    tenant_a, app
):
    first_pair = (app.access_token, app.refresh_token)
    now = timezone.now()

    with time_machine.travel(now, tick=False):
        answers = [app.refresh(first_pair[1]) for _worker in range(3)]
    with time_machine.travel(now + timedelta(seconds=GRACE - 1), tick=False):
        statuses = [status_of(answer["access_token"]) for answer in answers]
        previous = status_of(first_pair[0])

    assert all("access_token" in answer for answer in answers), answers
    assert len({answer["access_token"] for answer in answers}) == 3
    assert statuses == [(200, None)] * 3
    assert previous == (200, None)  # the previous access token, until the grace ends
    with tenant_scope(tenant_a):
        assert PartnerGrant.objects.get().revoked_at is None
    # Each worker's refresh token goes on working.
    with time_machine.travel(now + timedelta(seconds=GRACE - 1), tick=False):
        again = [app.refresh(answer["refresh_token"]) for answer in answers]
    assert all(status_of(answer["access_token"]) == (200, None) for answer in again)


@pytest.mark.django_db(transaction=True)
def test_workers_refreshing_at_the_same_moment_all_get_working_tokens(tenant_a, owner_a):
    app = connect(tenant_a, owner_a)
    start = threading.Barrier(WORKERS)

    def refresh(_worker: int) -> dict:
        start.wait()
        try:
            return ConnectedApp(app.application, "", "").refresh(app.refresh_token)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        answers = list(pool.map(refresh, range(WORKERS)))

    assert all("access_token" in answer for answer in answers), answers
    assert [status_of(answer["access_token"]) for answer in answers] == [(200, None)] * WORKERS
    assert status_of(app.access_token) == (200, None)
    with tenant_scope(tenant_a):
        assert PartnerGrant.objects.get().revoked_at is None


def test_after_the_grace_the_old_refresh_token_is_refused_and_revokes_the_family(app):
    old_access, old_refresh = app.access_token, app.refresh_token
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        assert status_of(old_access) == (200, None)  # authenticated, and kept in the cache
        app.refresh()

    with time_machine.travel(now + timedelta(seconds=GRACE + 1), tick=False):
        expired = status_of(old_access)
        reused = app.refresh(old_refresh)
        after_reuse = status_of(app.access_token)

    assert expired == (401, "token_expired")
    assert reused["error"] == "invalid_grant"
    assert after_reuse == (401, "token_invalid")  # reuse protection deleted the new pair


def test_a_refresh_token_revoked_with_its_grant_is_refused_within_the_grace(tenant_a, app):
    old_refresh = app.refresh_token
    app.refresh()
    with tenant_scope(tenant_a):
        grant = PartnerGrant.objects.get()
    revoke_grant(tenant=tenant_a, grant=grant)
    record_consent(  # a new consent does not revive the tokens of the old one
        tenant=tenant_a,
        application=app.application,
        user=grant.granted_by,
        requested=frozenset({"orders:read"}),
    )

    assert app.refresh(old_refresh)["error"] == "invalid_grant"
    assert app.refresh()["error"] == "invalid_grant"
    assert status_of(app.access_token) == (401, "token_revoked")
