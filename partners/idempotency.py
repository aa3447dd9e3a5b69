"""``Idempotency-Key`` for the API's POSTs: a retry gets the first answer, never a second write.

The first request with a key stores a fingerprint of its method, path and body, runs, and
stores its answer (unless it was a 5xx, which the client may retry). A request that repeats the
key gets that stored answer, with ``Idempotent-Replayed: true``; with another body it gets 409
``idempotency_key_reused``, and while the first one still runs, 409 ``idempotency_key_in_use``.
Keys are per seller and per client (app or user) and kept ``IDEMPOTENCY_KEY_TTL`` seconds.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from partners.models import IdempotentRequest
from partners.rest import acting_tenant, client_id_of

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class KeyConflict(APIException):
    status_code = status.HTTP_409_CONFLICT


def idempotent(handler: Callable) -> Callable:
    """Decorate a viewset method that handles a POST."""

    @wraps(handler)
    def wrapper(view, request: Request, *args, **kwargs) -> Response:
        key = request.headers.get(HEADER, "")
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise ValidationError({HEADER: [f"Use at most {MAX_KEY_LENGTH} printable characters."]})
        fingerprint = _fingerprint(request)
        record, first = _claim(request, key, fingerprint)
        if not first:
            return _replay(record, fingerprint)
        try:
            response = handler(view, request, *args, **kwargs)
        except Exception as error:
            response = view.handle_exception(error)  # re-raises what is not an API error
        if response.status_code >= 500:
            record.delete()
        else:
            record.status_code = response.status_code
            record.response_body = response.data
            record.save(update_fields=["status_code", "response_body"])
        return response

    return wrapper


def _fingerprint(request: Request) -> str:
    """SHA-256 of the method, the path and the parsed body (key order and spacing aside).

    The parsed body, not the raw one: a form body has been read already by then.
    """
    data = request.data
    if hasattr(data, "lists"):  # a form's QueryDict
        data = dict(data.lists())
    body = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    digest = hashlib.sha256()
    for part in (request.method, request.path, body):
        encoded = part.encode()
        digest.update(len(encoded).to_bytes(8, "big") + encoded)
    return digest.hexdigest()


def _claim(request: Request, key: str, fingerprint: str) -> tuple[IdempotentRequest, bool]:
    """The record of ``key`` and whether this request is its first: a new key costs one INSERT;
    a key kept longer than ``IDEMPOTENCY_KEY_TTL`` is forgotten and claimed anew."""
    tenant = acting_tenant(request)
    client = client_id_of(request)

    def create() -> IdempotentRequest:
        with transaction.atomic():
            return IdempotentRequest.objects.create(
                tenant=tenant, client=client, key=key, fingerprint=fingerprint
            )

    try:
        return create(), True
    except IntegrityError:
        record = IdempotentRequest.objects.get(client=client, key=key)
    expired_before = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL)
    if record.created_at >= expired_before:
        return record, False
    IdempotentRequest.objects.filter(pk=record.pk).delete()
    try:
        return create(), True
    except IntegrityError:  # another request claimed the forgotten key meanwhile
        return IdempotentRequest.objects.get(client=client, key=key), False


def _replay(record: IdempotentRequest, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise KeyConflict(
            "This Idempotency-Key was used with another request; use a new key.",
            code="idempotency_key_reused",
        )
    if record.status_code is None:
        raise KeyConflict(
            "A request with this Idempotency-Key is still running; retry later.",
            code="idempotency_key_in_use",
        )
    return Response(
        record.response_body, status=record.status_code, headers={"Idempotent-Replayed": "true"}
    )
