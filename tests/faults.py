"""The sandbox's fault injection, set from tests over its control API (docs/sandbox.md).

Whether the n-th affected request fails is a pure function of the seed and n
(``sandbox.faults.request_fate``), so a test that needs "the first request fails, the second does
not" picks a seed whose sequence is exactly that (``seed_where``) instead of switching faults off
mid-call.
"""

from collections.abc import Callable

from sandbox.faults import RequestFate, request_fate
from sandbox.models import FaultSettings


def set_faults(client, **settings) -> dict:
    """Replace the sandbox's faults (fields left out take their defaults); the new settings."""
    response = client.put("/sandbox/_control/faults", settings, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def seed_where(fates: list[Callable[[RequestFate], bool]], **settings) -> int:
    """The smallest seed whose first affected requests meet ``fates``, one predicate each.

    ``request_fate`` depends on the seed, the request number and the rates only, so the
    sequence the sandbox will draw is known before the requests are made.
    """
    for seed in range(10_000):
        drawn = FaultSettings(seed=seed, **settings)
        if all(wanted(request_fate(drawn, n)) for n, wanted in enumerate(fates)):
            return seed
    raise AssertionError("no seed below 10000 draws that sequence")


def timed_out(fate: RequestFate) -> bool:
    return fate.timeout and fate.error_status is None


def failed(fate: RequestFate) -> bool:
    return fate.error_status is not None


def clean(fate: RequestFate) -> bool:
    return fate == RequestFate()
