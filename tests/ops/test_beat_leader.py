"""Two beats over one schedule, against the real Redis (its lock) and broker (the tasks sent):
each due task is sent once, and when the leader dies the other takes over without repeating it."""

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from celery import Celery
from django.conf import settings
from django.utils import timezone

from merchant_platform.beat import LeaderScheduler, last_runs, lock_url

pytestmark = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis://"),
    reason="the leader lock lives in Redis: needs CELERY_BROKER_URL=redis://...",
)

PERIOD = timedelta(hours=1)


@pytest.fixture
def beat_app() -> Iterator[tuple[Celery, str]]:
    """A Celery app on the test broker whose schedule sends one task, every hour, to a queue of
    its own (so no worker takes it and the test counts it)."""
    queue = f"beat-test-{uuid.uuid4().hex}"
    app = Celery("beat-test", broker=settings.CELERY_BROKER_URL, set_as_current=False)
    app.conf.beat_schedule = {
        "probe": {"task": "beat_test.probe", "schedule": PERIOD, "options": {"queue": queue}}
    }
    yield app, queue
    with app.connection_for_write() as connection, connection.SimpleQueue(queue):
        connection.default_channel.queue_delete(queue)  # the channel that declared it


def _sent(app: Celery, queue: str) -> int:
    with app.connection_for_write() as connection, connection.SimpleQueue(queue) as messages:
        return messages.qsize()


def _tick(*schedulers: LeaderScheduler, rounds: int = 3) -> None:
    for _ in range(rounds):
        for scheduler in schedulers:
            scheduler.tick()


def test_a_second_beat_sends_nothing_until_the_leader_dies(beat_app, settings):
    app, queue = beat_app
    assert lock_url() == settings.CELERY_BROKER_URL
    settings.BEAT_LOCK_TTL = 1  # seconds: a dead leader's lock expires quickly
    lock_key = f"test:beat:{uuid.uuid4().hex}"
    with time_machine.travel(timezone.now(), tick=True) as clock:
        leader = LeaderScheduler(app=app, lock_key=lock_key)
        standby = LeaderScheduler(app=app, lock_key=lock_key)
        _tick(leader, standby)  # both running, nothing due yet
        clock.shift(PERIOD + timedelta(seconds=1))
        _tick(leader, standby)
        assert _sent(app, queue) == 1
        assert (leader.leading, standby.leading) == (True, False)
        first_run = last_runs()["probe"]

        # The leader dies (it stops ticking, its lock is never released): the standby takes
        # over when the lock expires, from the leader's last run, so it does not send it again.
        deadline = time.monotonic() + 10
        while not standby.leading and time.monotonic() < deadline:
            standby.tick()
            time.sleep(0.05)
        assert standby.leading
        _tick(standby)
        assert _sent(app, queue) == 1

        clock.shift(PERIOD)
        _tick(standby)
        assert _sent(app, queue) == 2
        assert last_runs()["probe"] > first_run
    standby.close()
    leader.close()
