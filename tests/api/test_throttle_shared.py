"""The partner API's throttle counts atomically in the shared cache: requests of one grant that
run at once, in several threads (or processes) sharing Redis, never get past the rate."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings
from oauth2_provider.models import AccessToken

from partners.rest import PerClientRateThrottle

pytestmark = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis://"),
    reason="needs a Redis shared as production shares it (CI sets CELERY_BROKER_URL=redis://…)",
)


def test_a_grants_concurrent_requests_never_get_past_its_rate():
    redis_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.CELERY_BROKER_URL,
            # Keys of this run only, never cleared: RedisCache.clear() is FLUSHDB, which would
            # empty the queues of the other test processes on the same Redis database.
            "KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}",
        }
    }
    request = SimpleNamespace(auth=AccessToken(), partner_grant=SimpleNamespace(pk=1))
    start = threading.Barrier(8)

    def send_many(_thread: int) -> int:
        start.wait()
        return sum(PerClientRateThrottle().allow_request(request, None) for _ in range(100))

    with (
        override_settings(CACHES=redis_cache, API_THROTTLE_RATE="300/min"),
        time_machine.travel("2026-12-06 12:00:10Z", tick=False),  # all inside one window
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        allowed = sum(pool.map(send_many, range(8)))

    assert allowed == 300
