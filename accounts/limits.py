"""Budgets of the account pages that send e-mail (password reset, sign-up, e-mail change), kept
in the shared cache by ``merchant_platform.rate_limits``."""

import hashlib

from merchant_platform.rate_limits import parse_rate, spend


def within_budget(kind: str, *keys: str, rate: str) -> bool:
    """Spend one use of each of ``keys``' budgets of ``kind`` at ``rate`` (e.g. ``"5/h"``;
    ``""``: no limit); whether every one allowed it. Keys are hashed, so that no e-mail address
    is written into a cache key."""
    parsed = parse_rate(rate)
    allowed = True
    for key in keys:
        digest = hashlib.sha256(key.lower().encode()).hexdigest()[:32]
        allowed = spend(f"accounts:{kind}:{digest}", parsed)[0] and allowed
    return allowed
