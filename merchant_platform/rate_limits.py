"""Request budgets counted in the shared cache, atomically, in fixed windows.

Every limit of the platform (the partner API's throttle, rejected webhooks per address, IPN
look-ups per seller) spends from a budget here: ``cache.add`` opens a window and ``cache.incr``
counts in it, both atomic in Redis, so processes and threads that share the cache never let more
through than the rate. A fixed window may let up to twice the rate through across the boundary
of two windows; no window ever holds more than the rate.
"""

import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int] | None:
    """``"60/min"`` as (60, 60): how many per how many seconds (``s``, ``min``, ``h``, ``d``);
    ``None`` for "" (no limit)."""
    if not rate:
        return None
    count, _slash, period = rate.partition("/")
    seconds = PERIODS.get(period.strip()[:1].lower())
    if not count.strip().isdigit() or seconds is None:
        raise ImproperlyConfigured(f"{rate!r} is not a rate such as '60/min'")
    return int(count), seconds


@dataclass(frozen=True)
class Budget:
    """Where a budget stands after one use: the ``limit`` of its window, how many uses are
    ``remaining`` in it, and the seconds until it starts again (``reset``)."""

    limit: int
    remaining: int
    reset: int

    @property
    def allowed(self) -> bool:
        """Whether the use that was counted was within the limit."""
        return self.remaining >= 0


def spend_budget(key: str, rate: tuple[int, int]) -> Budget:
    """Count one use of ``key``'s budget of ``rate``; where the budget stands afterwards
    (``remaining`` is negative once the use was over the limit)."""
    limit, period = rate
    now = time.time()
    window = f"{key}:{int(now // period)}"
    cache.add(window, 0, timeout=period)
    try:
        used = cache.incr(window)
    except ValueError:  # the window ended between add and incr
        cache.add(window, 1, timeout=period)
        used = 1
    return Budget(
        limit=limit, remaining=limit - used, reset=max(1, math.ceil(period - now % period))
    )


def spend(key: str, rate: tuple[int, int] | None) -> tuple[bool, int]:
    """Count one use of ``key``'s budget; whether it was within ``rate``, and the seconds until
    the window ends."""
    if rate is None:
        return True, 0
    budget = spend_budget(key, rate)
    return budget.allowed, budget.reset
