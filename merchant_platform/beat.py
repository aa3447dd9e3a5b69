"""Celery beat that a second instance cannot double: only the holder of a lock sends tasks.

``LeaderScheduler`` (``CELERY_BEAT_SCHEDULER``) takes a lock in Redis (the default cache's, else
the broker's) before each tick and renews it every ``BEAT_LOCK_TTL / 3`` seconds while it leads.
Another beat finds the lock taken and waits; it takes over once the leader stops renewing (at
once after a clean stop, which releases the lock; within ``BEAT_LOCK_TTL`` seconds after a kill).

Beat records when it last sent each periodic task in the default cache (``last_runs``). A beat
that becomes leader starts from those times, not from its own: it neither repeats what the last
leader just sent nor waits a full period after a restart. Without Redis (the embedded default,
tasks in-process) there is no lock: run one beat.
"""

import logging
from datetime import datetime

import redis
from celery.beat import Scheduler
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from redis.exceptions import LockError, RedisError

logger = logging.getLogger(__name__)

LOCK_KEY = "merchant_platform:beat:leader"
LAST_RUNS_KEY = "beat:last-runs"
REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"


def last_runs() -> dict[str, datetime]:
    """When beat last sent each periodic task, by schedule name (any beat, any restart)."""
    return cache.get(LAST_RUNS_KEY) or {}


def lock_url() -> str | None:
    """The Redis that holds beat's lock: the default cache's, else the broker's; else None."""
    default = settings.CACHES.get("default", {})
    if default.get("BACKEND") == REDIS_CACHE:
        location = default["LOCATION"]
        return (location.split(",") if isinstance(location, str) else location)[0]
    if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return settings.CELERY_BROKER_URL
    return None


class RedisLeaderLock:
    """A lock in Redis that expires ``ttl`` seconds after it was last taken or renewed."""

    def __init__(self, url: str, key: str, ttl: float):
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        self._lock = client.lock(key, timeout=ttl, thread_local=False)
        self._held = False

    def hold(self) -> bool:
        """Renew the lock if held, else try to take it; whether this process holds it now.
        Redis unreachable counts as not held: nobody sends rather than two."""
        try:
            if self._held:
                self._lock.reacquire()  # LockNotOwnedError once it expired and another took it
            else:
                self._held = self._lock.acquire(blocking=False)
        except (LockError, RedisError):
            logger.warning("beat: cannot take or renew the leader lock", exc_info=True)
            self._held = False
        return self._held

    def release(self) -> None:
        if self._held:
            self._held = False
            try:
                self._lock.release()
            except (LockError, RedisError):
                logger.warning("beat: cannot release the leader lock", exc_info=True)


class NoLock:
    """Every beat leads: for deployments without Redis, which run a single beat."""

    def hold(self) -> bool:
        return True

    def release(self) -> None:
        pass


class LeaderScheduler(Scheduler):
    """Celery's in-memory scheduler, sending only while it holds the leader lock."""

    def __init__(self, *args, lock_key: str = LOCK_KEY, **kwargs):
        url = lock_url()
        self.lock = RedisLeaderLock(url, lock_key, settings.BEAT_LOCK_TTL) if url else NoLock()
        self.renew_every = settings.BEAT_LOCK_TTL / 3
        self.leading: bool | None = None  # not known before the first tick
        super().__init__(*args, **kwargs)
        if not url and not kwargs.get("lazy"):
            logger.warning("beat: no Redis for the leader lock; run exactly one beat")

    def tick(self, *args, **kwargs) -> float:
        if not self.lock.hold():
            if self.leading:
                logger.warning("beat: lost the leader lock; standing by")
            elif self.leading is None:
                logger.info("beat: another beat holds the leader lock; standing by")
            self.leading = False
            return self.renew_every
        if not self.leading:
            logger.info("beat: holds the leader lock; sending periodic tasks")
            self.leading = True
            self._resume_from_last_runs()
        return min(super().tick(*args, **kwargs), self.renew_every)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        result = super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        self._record_run(entry.name)
        return result

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.lock.release()

    def _resume_from_last_runs(self) -> None:
        try:
            runs = last_runs()
        except Exception:
            logger.warning("beat: cannot read the last runs; using this beat's", exc_info=True)
            return
        for name, entry in self.schedule.items():
            if name in runs:
                entry.last_run_at = runs[name]
        self._heap = None  # rebuilt from the new times at the next tick

    def _record_run(self, name: str) -> None:
        """Only the leader writes, so read-modify-write is safe; names out of the schedule go."""
        try:
            runs = {key: at for key, at in last_runs().items() if key in self.schedule}
            cache.set(LAST_RUNS_KEY, runs | {name: timezone.now()}, timeout=None)
        except Exception:
            logger.warning("beat: cannot record the run of %s", name, exc_info=True)
