"""The client's configuration: where Mercado Pago is, who we are, and how patiently to call it."""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

import httpx

from mpapi.observe import CallRecord

PRODUCTION_BASE_URL = "https://api.mercadopago.com"
PRODUCTION_AUTH_URL = "https://auth.mercadopago.com/authorization"


def _user_agent() -> str:
    try:
        project_version = version("merchant-platform")
    except PackageNotFoundError:
        project_version = "0"
    return f"merchant-platform/{project_version}"


USER_AGENT = _user_agent()


def default_timeout() -> httpx.Timeout:
    """5 s to connect, 20 s to read, write or wait for a pooled connection."""
    return httpx.Timeout(20.0, connect=5.0)


@dataclass(frozen=True)
class ClientConfig:
    """How to reach Mercado Pago.

    ``base_url`` is ``https://api.mercadopago.com`` in production and ``http://<host>/sandbox``
    against the sandbox, whose authorization page is then ``<base_url>/authorization``.
    Retries wait a random time between 0 and ``min(backoff_cap, backoff_base * 2**(n-1))``
    seconds before retry ``n`` ("full jitter"). ``transport``, ``sleep`` and ``random`` exist
    for tests; ``observer`` receives a :class:`~mpapi.observe.CallRecord` for every attempt.
    """

    base_url: str = PRODUCTION_BASE_URL
    auth_url: str = PRODUCTION_AUTH_URL
    platform_id: str = ""
    integrator_id: str = ""
    timeout: httpx.Timeout = field(default_factory=default_timeout)
    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    user_agent: str = USER_AGENT
    transport: httpx.BaseTransport | None = None
    observer: Callable[[CallRecord], None] | None = None
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based), with full jitter."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (retry - 1))
        return self.random() * ceiling
