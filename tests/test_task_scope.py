"""Celery tasks carry their tenant into the worker and leave no scope behind."""

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.db import connection

from merchant_platform.celery import app as celery_app
from tenants.models import Membership
from tenants.scope import ScopeError, get_current_tenant, tenant_scope
from tenants.task_base import TenantTask
from tests.factories import TENANT_OWNED_FACTORIES, make_tenant


@celery_app.task(base=TenantTask, name="tests.visible_memberships")
def visible_memberships(*, tenant):
    """What a task for ``tenant`` can see: its own tenant and the memberships in scope."""
    return {
        "tenant": tenant.pk,
        "scoped_tenant": get_current_tenant().pk,
        "memberships": sorted(Membership.objects.values_list("pk", flat=True)),
    }


@celery_app.task(name="tests.unscoped_count")
def unscoped_count():
    """A plain task: with no stale scope left behind, its query must be refused."""
    try:
        return {"count": Membership.objects.count()}
    except ScopeError as error:
        return {"error": str(error)}


def _rows(tenant, n):
    factory = TENANT_OWNED_FACTORIES[Membership]
    return sorted(factory(tenant).pk for _ in range(n))


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_celery")
def test_eager_task_runs_in_the_enqueuing_tenants_scope():
    tenant_a, tenant_b = make_tenant(), make_tenant()
    rows_a, _rows_b = _rows(tenant_a, 2), _rows(tenant_b, 1)
    with tenant_scope(tenant_a):
        result = visible_memberships.delay().get()
        assert get_current_tenant() == tenant_a  # an eager task leaves its caller's scope alone
        assert Membership.objects.count() == len(rows_a)
    assert result == {"tenant": tenant_a.pk, "scoped_tenant": tenant_a.pk, "memberships": rows_a}
    assert get_current_tenant() is None


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_celery")
def test_task_for_an_explicit_tenant_id():
    tenant_a, tenant_b = make_tenant(), make_tenant()
    _rows(tenant_a, 1)
    rows_b = _rows(tenant_b, 2)
    with tenant_scope(tenant_a):  # an explicit tenant_id wins over the caller's scope
        result = visible_memberships.delay(tenant_id=tenant_b.pk).get()
    assert result["memberships"] == rows_b


def test_tenant_task_cannot_be_enqueued_without_a_tenant():
    with pytest.raises(ScopeError, match="runs for one tenant"):
        visible_memberships.delay()


# A Celery app of its own for the real-worker test, so no producer pool or result backend cached
# by the project's app in earlier (eager) tests is reused. It has the project's task base.
worker_app = Celery("tenant-scope-tests", set_as_current=False)
worker_app.conf.update(
    broker_url=settings.CELERY_BROKER_URL or "memory://",
    result_backend="cache+memory://",
    task_default_queue="tests.tenant-scope",
    task_acks_late=True,
    worker_hijack_root_logger=False,  # as the project's app: logging stays the project's
)
worker_visible_memberships = worker_app.task(
    base=TenantTask, name="tests.worker.visible_memberships"
)(visible_memberships.run)
worker_unscoped_count = worker_app.task(name="tests.worker.unscoped_count")(unscoped_count.run)


class NotYet(Exception):
    pass


@worker_app.task(
    base=TenantTask,
    name="tests.worker.tenant_after_a_retry",
    autoretry_for=(NotYet,),
    default_retry_delay=0,
)
def worker_tenant_after_a_retry(*, tenant, retries_wanted: int):
    """Fails until it has been retried ``retries_wanted`` times; then its tenant's id."""
    if worker_tenant_after_a_retry.request.retries < retries_wanted:
        raise NotYet()
    return {"tenant": tenant.pk, "retries": worker_tenant_after_a_retry.request.retries}


@task_postrun.connect
def _close_worker_thread_connection(sender=None, **kwargs):
    """The worker thread's database connection must not outlive the test database."""
    if sender is not None and sender.app is worker_app:
        connection.close()


@pytest.fixture
def celery_worker():
    """A real Celery worker (consumer thread, solo pool) on the configured broker.

    With CELERY_BROKER_URL set (CI: Redis) it consumes from that broker; otherwise from an
    in-memory broker. Results come back through an in-process cache backend.
    """
    with start_worker(worker_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_each_task_in_its_own_tenant_only(celery_worker):
    tenant_a, tenant_b = make_tenant(), make_tenant()
    rows_a, rows_b = _rows(tenant_a, 2), _rows(tenant_b, 3)

    result_a = worker_visible_memberships.apply_async(kwargs={"tenant_id": tenant_a.pk})
    result_b = worker_visible_memberships.apply_async(kwargs={"tenant_id": tenant_b.pk})
    result_plain = worker_unscoped_count.apply_async()

    assert result_a.get(timeout=30)["memberships"] == rows_a
    assert result_b.get(timeout=30) == {
        "tenant": tenant_b.pk,
        "scoped_tenant": tenant_b.pk,
        "memberships": rows_b,
    }
    assert "no tenant scope is active" in result_plain.get(timeout=30)["error"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_retried_tenant_task_is_sent_again_with_its_tenant(celery_worker):
    """The retry carries ``tenant_id``, not the ``Tenant`` the task was called with (which no
    serializer carries: the retry used to be rejected, and the task lost)."""
    tenant = make_tenant()

    result = worker_tenant_after_a_retry.apply_async(
        kwargs={"tenant_id": tenant.pk, "retries_wanted": 2}
    )

    assert result.get(timeout=30) == {"tenant": tenant.pk, "retries": 2}
