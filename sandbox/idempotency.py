"""``X-Idempotency-Key``: the first successful response to a key is the answer to every repeat.

A key is scoped to the seller. The same key with the same request (method, path and canonical
JSON body) within 24 hours returns the stored status and body without doing anything; with a
different request it is a 409 ``idempotency_key_already_used``. The key row is inserted in the
same transaction as the work it guards, and the unique constraint on (seller, key) makes
concurrent identical requests wait for the first and then replay it. A request that fails
stores nothing, so the key can be retried with a corrected request.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from sandbox.errors import ApiError
from sandbox.models import Account, IdempotencyKey

MAX_KEY_LENGTH = 128
LIFETIME = timedelta(hours=24)


def fingerprint(method: str, path: str, body: dict) -> str:
    """A digest of the request: method, path and the body as canonical JSON."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def run(
    account: Account, key: str, request_fingerprint: str, work: Callable[[], tuple[int, dict]]
) -> tuple[int, dict]:
    """The ``(status, body)`` of ``work()``, done at most once per key and request."""
    IdempotencyKey.objects.filter(
        account=account, key=key, created_at__lte=timezone.now() - LIFETIME
    ).delete()
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    account=account,
                    key=key,
                    fingerprint=request_fingerprint,
                    status=0,
                    body={},
                    created_at=timezone.now(),
                )
        except IntegrityError:
            record = None
        if record is not None:
            status, body = work()
            record.status, record.body = status, body
            record.save(update_fields=["status", "body"])
            return status, body
    first = IdempotencyKey.objects.get(account=account, key=key)
    if first.fingerprint != request_fingerprint:
        raise ApiError(
            409,
            "idempotency_key_already_used",
            "the idempotency key was already used with a different request",
        )
    return first.status, first.body
