"""``Idempotency-Key`` for the API's POSTs: a retry gets the first answer, never a second write.

The first request with a key stores a fingerprint of its method, path and body, runs, and
stores its answer if it did something (``kept``: a 2xx, or Mercado Pago's 422 refusal). Any other
answer (a 400 on the input, a 404, a 409 on the object's state, a 5xx) did nothing and frees the
key: the same key with a corrected request then runs. A request that repeats the key gets the
stored answer, with ``Idempotent-Replayed: true``; with another body it gets 409
``idempotency_key_reused``, and while the first one still runs, 409 ``idempotency_key_in_use``.
Keys are per seller and per client (app or user) and kept ``IDEMPOTENCY_KEY_TTL`` seconds. An
answer that holds a secret (``idempotent(sealed=True)``: a webhook endpoint's signing secret) is
stored encrypted, in ``sealed_response_body``, never in clear.

A running request holds its key for a lease (``lease()``, longer than a request can run). If
its process dies (the lease runs out) or it raises an unexpected exception (the lease is released
at once), the next retry with the same body takes the key over: a conditional UPDATE of the
lease, so of two retries racing only one does. The handler is run again, and finds what the
first attempt did by the operation's id (``Claim.uid``, the same for every attempt of one key):
the orders create resumes the order the first attempt saved instead of making another. A worker
that gunicorn aborts releases the leases of the requests it was running (``release_running``,
from gunicorn.conf.py's ``worker_abort``), so their retries need not wait for the lease.

A key is *stuck* when no answer is stored for it and it was claimed longer ago than a request
can run (``longest_request()``): its attempt died. ``stuck_keys`` lists them, ``release`` ends
their lease (the admin's action and ``manage.py idempotency_keys --stuck --clear``).
"""

import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from merchant_platform import mercadopago_budget
from partners.models import IdempotentRequest
from partners.rest import acting_tenant, client_id_of
from tenants.scope import cross_tenant_scope

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
OPERATIONS = uuid.UUID("5b0c1f9e-3d8a-4c1e-9a55-6f1f3b2f7d10")  # namespace of Claim.uid

# The claims of the requests this process is running, by thread: (IdempotentRequest pk, attempt).
_running: dict[int, tuple[int, int]] = {}
_running_lock = threading.Lock()


def longest_request() -> timedelta:
    """The longest a request holds its key: its Mercado Pago calls are bounded together by
    ``MERCADOPAGO_REQUEST_BUDGET`` (merchant_platform.mercadopago_budget), plus a margin."""
    budget = settings.MERCADOPAGO_REQUEST_BUDGET
    return timedelta(seconds=mercadopago_budget.longest_request(budget))


def lease() -> timedelta:
    """How long a running request holds its key: twice the longest it can run (a slow
    database), about 2 minutes with the defaults."""
    return 2 * longest_request()


@dataclass(frozen=True)
class Claim:
    """The key a request holds while it runs."""

    uid: uuid.UUID  # the operation's id: the same for the first attempt and every takeover
    taken_over: bool  # an earlier attempt may have done part of the work


def claim_of(request: Request) -> Claim | None:
    """The claim of the running request (None when it was sent without a key)."""
    return getattr(request, "idempotency_claim", None)


class KeyConflict(APIException):
    status_code = status.HTTP_409_CONFLICT


def kept(status_code: int) -> bool:
    """Whether an answer is stored as its key's: a request that did something (2xx), or that
    Mercado Pago refused (422: it was called). Other 4xx did nothing; a 5xx may be retried."""
    return status.is_success(status_code) or status_code == status.HTTP_422_UNPROCESSABLE_ENTITY


def idempotent(handler: Callable | None = None, *, sealed: bool = False) -> Callable:
    """Decorate a viewset method that handles a POST (``@idempotent``, or
    ``@idempotent(sealed=True)`` when its answer holds a secret: stored encrypted)."""
    if handler is None:
        return lambda handler: idempotent(handler, sealed=sealed)

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
        request.idempotency_claim = Claim(uid=_operation_uid(record), taken_over=record.attempt > 1)
        mine = IdempotentRequest.objects.filter(pk=record.pk, attempt=record.attempt)
        thread = threading.get_ident()
        with _running_lock:
            _running[thread] = (record.pk, record.attempt)
        try:
            response = _handled(handler, view, request, *args, **kwargs)
        except BaseException:
            mine.filter(status_code=None).update(lease_until=timezone.now())  # retry at once
            raise
        finally:
            with _running_lock:
                _running.pop(thread, None)
        # A takeover's 4xx is kept too: an earlier attempt may have done part of the work.
        if response.status_code >= 500 or not (kept(response.status_code) or record.attempt > 1):
            mine.delete()
        else:
            mine.update(
                status_code=response.status_code, lease_until=None, **_stored(response, sealed)
            )
        return response

    wrapper.idempotent = True  # partners.autoschema documents the header on its operation
    return wrapper


def _stored(response: Response, sealed: bool) -> dict[str, object]:
    if sealed:
        body = json.dumps(response.data, cls=DjangoJSONEncoder)
        return {"sealed_response_body": body, "response_body": None}
    return {"response_body": response.data}


def _handled(handler: Callable, view, request: Request, *args, **kwargs) -> Response:
    """The handler's answer, an API error's included; any other exception is raised."""
    try:
        return handler(view, request, *args, **kwargs)
    except Exception as error:
        return view.handle_exception(error)  # re-raises what is not an API error


def _operation_uid(record: IdempotentRequest) -> uuid.UUID:
    """Derived from the tenant, the client, the key and the row: the same across takeovers, a
    new one once the key has expired and is claimed anew."""
    return uuid.uuid5(OPERATIONS, f"{record.tenant_id}:{record.client}:{record.key}:{record.pk}")


def _fingerprint(request: Request) -> str:
    """SHA-256 of the method, the path and the parsed JSON body (key order and spacing aside)."""
    body = json.dumps(request.data, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    digest = hashlib.sha256()
    for part in (request.method, request.path, body):
        encoded = part.encode()
        digest.update(len(encoded).to_bytes(8, "big") + encoded)
    return digest.hexdigest()


def _claim(request: Request, key: str, fingerprint: str) -> tuple[IdempotentRequest, bool]:
    """The record of ``key`` and whether this request runs it: a new key costs one INSERT; a
    running one whose lease has ended is taken over; a key kept longer than
    ``IDEMPOTENCY_KEY_TTL`` is forgotten and claimed anew."""
    tenant = acting_tenant(request)
    client = client_id_of(request)

    def create() -> IdempotentRequest:
        with transaction.atomic():
            return IdempotentRequest.objects.create(
                tenant=tenant,
                client=client,
                key=key,
                fingerprint=fingerprint,
                lease_until=timezone.now() + lease(),
            )

    try:
        return create(), True
    except IntegrityError:
        record = IdempotentRequest.objects.get(client=client, key=key)
    now = timezone.now()
    expired_before = now - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL)
    if record.created_at >= expired_before:
        return _take_over(record, fingerprint, now)
    IdempotentRequest.objects.filter(pk=record.pk).delete()
    try:
        return create(), True
    except IntegrityError:  # another request claimed the forgotten key meanwhile
        return IdempotentRequest.objects.get(client=client, key=key), False


def _take_over(
    record: IdempotentRequest, fingerprint: str, now: datetime
) -> tuple[IdempotentRequest, bool]:
    """``record``, and whether this request now runs it: only when it is still running, for the
    same request, past its lease, and no other retry took it over first."""
    if (
        record.status_code is not None
        or record.fingerprint != fingerprint
        or (record.lease_until is not None and record.lease_until > now)
    ):
        return record, False
    lease_until = now + lease()
    taken = IdempotentRequest.objects.filter(
        pk=record.pk, status_code=None, attempt=record.attempt
    ).update(lease_until=lease_until, attempt=F("attempt") + 1)
    if not taken:  # another retry was first, or the request has just finished
        return IdempotentRequest.objects.get(pk=record.pk), False
    record.lease_until, record.attempt = lease_until, record.attempt + 1
    return record, True


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
    body = (
        json.loads(record.sealed_response_body)
        if record.sealed_response_body
        else record.response_body
    )
    return Response(body, status=record.status_code, headers={"Idempotent-Replayed": "true"})


def release_running() -> int:
    """End the leases of the requests this process is running, which it is about to abandon (a
    worker gunicorn aborts): their retries take their keys over at once. How many were."""
    with _running_lock:
        claims = list(_running.values())
    released = 0
    with cross_tenant_scope():
        for pk, attempt in claims:
            released += IdempotentRequest.objects.filter(
                pk=pk, attempt=attempt, status_code=None
            ).update(lease_until=timezone.now())
    return released


def stuck(*, now: datetime, older_than: timedelta | None = None) -> Q:
    """Keys with no answer stored whose last attempt claimed them more than ``older_than``
    (default: ``longest_request()``) before ``now``: that attempt died. Each claim leases the key
    for ``lease()``, so it was claimed at ``lease_until - lease()``; a lease ended early (an
    exception, ``release``) ends the claim too."""
    claimed_before = now - (longest_request() if older_than is None else older_than)
    return Q(status_code=None) & (
        Q(lease_until__isnull=True)
        | Q(lease_until__lte=claimed_before + lease())
        | Q(lease_until__lte=now)
    )


def stuck_keys(*, now: datetime, older_than: timedelta | None = None) -> QuerySet:
    """The ``stuck`` keys; read them in a tenant or cross-tenant scope."""
    return IdempotentRequest.objects.filter(stuck(now=now, older_than=older_than))


def release(keys: QuerySet, *, now: datetime) -> int:
    """End the lease of ``keys`` that have no answer: the next retry with the same key and body
    takes it over and finishes the operation (an order its first attempt saved is resumed, never
    made twice). How many were still leased."""
    return keys.filter(status_code=None, lease_until__gt=now).update(lease_until=now)
