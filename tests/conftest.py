import pytest
from django.db import connection
from django.utils import translation

from merchant_platform import request_context
from merchant_platform.celery import app as celery_app
from tests.celery_worker import real_worker  # noqa: F401 (fixtures for every test module)
from tests.factories import make_member, make_tenant
from tests.http_receiver import receiver  # noqa: F401


@pytest.fixture
def tenant_a(db):
    return make_tenant("Seller A", site="MLA")


@pytest.fixture
def tenant_b(db):
    return make_tenant("Seller B", site="MLB")


@pytest.fixture
def owner_a(tenant_a):
    return make_member(tenant_a, "owner", "owner-a", language="en")


@pytest.fixture
def owner_b(tenant_b):
    return make_member(tenant_b, "owner", "owner-b", language="en")


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache: no rate-limit counter or IPN coalescing window
    (orders/notifications.py) of an earlier test, whose row ids may be this test's, carries over."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def eager_celery():
    """Tasks run in-process, as in the embedded default (whatever the environment says)."""
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = saved


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first: the fault soak, then the other ``slow`` tests. pytest-xdist
    (``--dist loadfile --no-loadscope-reorder``) hands files out in this order; a soak started
    last would run alone for minutes while the other processes idle."""

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("slow") is None:
            return 2
        return 0 if item.path.parent.name == "soak" else 1

    items.sort(key=rank)


@pytest.fixture(autouse=True)
def _the_project_app_stays_current():
    """Celery's ``start_worker`` makes its app the current and default one, and leaves it so: a
    test's own app (tests/test_task_scope.py) would then own every ``shared_task`` of the later
    tests of this process, which would publish to its broker, never eagerly nor to their queue."""
    yield
    celery_app.set_current()
    celery_app.set_default()


@pytest.fixture(autouse=True)
def _fresh_log_context():
    """No test's log lines (or the tasks it publishes) carry the request id or order that an
    earlier test left bound in this thread (``merchant_platform.request_context``)."""
    token = request_context.start()
    yield
    request_context.end(token)


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language: the language middleware leaves the language of
    a test's requests active in the thread, for the next test too."""
    translation.deactivate()


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_across_in_process_requests(monkeypatch):
    """Django's WSGI handler closes the database connection as each request starts and ends;
    inside a test's transaction (the platform calling the sandbox in-process) that would end the
    transaction on PostgreSQL. As Django's test client does, keep it while in a transaction."""
    close_if_unusable_or_obsolete = connection.close_if_unusable_or_obsolete

    def close_outside_transactions():
        if not connection.in_atomic_block:
            close_if_unusable_or_obsolete()

    monkeypatch.setattr(connection, "close_if_unusable_or_obsolete", close_outside_transactions)
