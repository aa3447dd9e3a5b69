"""What a log line is about: the request, the tenant, the order or partner, and the task in hand.

The fields live in one ``ContextVar``, so every line logged while they are set carries them
(``merchant_platform.logging``) without any log call passing them. ``RequestIdMiddleware`` opens
a fresh set per web request (its id taken from a safe ``X-Request-Id`` or made up, and answered
in the ``Request-Id`` header); Celery's task signals open one per task, restoring the id of the
request that published it (``merchant_platform.celery_logging``). Code that learns what it works
on adds it with ``bind``, for the rest of the request or task.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by the Celery app, before Django's settings are loaded
    from django.http import HttpRequest, HttpResponseBase

INCOMING_HEADER = "X-Request-Id"
RESPONSE_HEADER = "Request-Id"
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

Fields = dict[str, str | int]

# Never mutated: every change sets a new dict, so a value a task or a record took stays as it was.
_fields: ContextVar[Fields] = ContextVar("log_context", default={})  # noqa: B039


def current() -> Fields:
    """The fields in force (do not mutate)."""
    return _fields.get()


def request_id() -> str | None:
    value = _fields.get().get("request_id")
    return str(value) if value is not None else None


def accepted_request_id(incoming: str | None) -> str:
    """``incoming`` when it is a short, safe id; otherwise a new one (no newline, quote or
    500-character value of a client ever reaches a log line)."""
    if incoming and _SAFE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def _clean(fields: dict[str, object]) -> Fields:
    return {name: value for name, value in fields.items() if value is not None and value != ""}


def start(**fields: object) -> Token:
    """Replace the fields with ``fields`` (a new request or task); ``end`` with the token."""
    return _fields.set(_clean(fields))


def end(token: Token) -> None:
    """Restore the fields ``start`` replaced (the outer request of an in-process one, or none)."""
    try:
        _fields.reset(token)
    except ValueError:  # closed from another context (ASGI): that context ends anyway
        _fields.set({})


def bind(**fields: object) -> None:
    """Add ``fields`` until the request or task ends (None and empty values are left out)."""
    _fields.set({**_fields.get(), **_clean(fields)})


def bind_tenant(tenant) -> None:
    """Name ``tenant`` (a ``Tenant``) in the lines that follow, in scope or not."""
    bind(tenant=tenant.__dict__.get("slug"), tenant_id=tenant.pk)


class RequestIdMiddleware:
    """Give every request an id, carried by its log lines and answered in ``Request-Id``.

    First in ``MIDDLEWARE``, so that every response has the header (errors, redirects, static
    files). The fields stay in force until the response is closed, after Django's own
    ``django.request`` line and the server's access line; an in-process request (the sandbox,
    reached through WSGI in tests) restores its caller's when it ends.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request.request_id = accepted_request_id(request.headers.get(INCOMING_HEADER))
        token = start(request_id=request.request_id)
        try:
            response = self.get_response(request)
        except BaseException:
            end(token)
            raise
        response[RESPONSE_HEADER] = request.request_id
        response._resource_closers.append(lambda: end(token))
        return response
