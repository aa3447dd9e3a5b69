"""Live status: order changes pushed to the open customer displays and cashier pages.

After the commit of an order's creation or status change (``orders.live_receivers``), the states
the pages compare are built once, from the order alone (the POS display's state with the order's
uid and status, as ``state.json`` has them, and the order's status), and published on Redis
(pub/sub, ``LIVE_STATUS_REDIS_URL``). Each open page holds a
stream of server-sent events (``stream``), served by the live server (uvicorn,
``deploy/live.sh``): at connect it reads the current state from the database once; after that
each process's one pattern subscription hands it every message of its channel, so an open page
costs no database query however long it waits.

Without Redis (``make run``) nothing is published and the pages poll, as they do whenever their
stream cannot open: a WSGI server (gunicorn, runserver) answers the stream's URL ``204``.
"""

import asyncio
import json
import logging
import random
import uuid
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import redis
import redis.asyncio
import redis.asyncio.retry
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from redis.backoff import NoBackoff

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 20
"""An SSE comment this often keeps proxies from closing an idle stream and finds closed ones."""
STREAM_SECONDS = 3600
"""A stream ends after about this long (plus up to a tenth, at random) and the browser opens a
new one, which may reach another live server: connections spread again after a scale-out."""
RECONNECT_MS = 1000
"""How long a browser waits before it opens a stream again (the SSE ``retry`` field)."""
UNAVAILABLE = b"event: unavailable\ndata: \n\n"
"""Sent, and the stream ended, when Redis cannot be reached: the page polls for a while."""


def enabled() -> bool:
    """Whether changes are published (Redis is configured for live status)."""
    return bool(settings.LIVE_STATUS_REDIS_URL)


def _prefix() -> str:
    """Pub/sub channels ignore Redis's database number: the channels carry it instead, so that
    deployments (or test runs) on one Redis with different databases do not hear each other."""
    database = urlsplit(settings.LIVE_STATUS_REDIS_URL).path.strip("/") or "0"
    return f"live:{database}:"


def display_channel(pos_id: int) -> str:
    return f"{_prefix()}pos:{pos_id}"


def order_channel(uid: uuid.UUID | str) -> str:
    return f"{_prefix()}order:{uid}"


# Publishing (web and worker processes) ----------------------------------------------------------

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            settings.LIVE_STATUS_REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
    return _client


def publish(messages: dict[str, dict]) -> None:
    """Publish each ``{channel: payload}`` (JSON) in one round trip. A Redis failure is logged,
    never raised: the change is committed, and a page learns it when its stream opens again."""
    if not enabled() or not messages:
        return
    try:
        with _redis().pipeline(transaction=False) as pipe:
            for channel, payload in messages.items():
                pipe.publish(channel, json.dumps(payload, cls=DjangoJSONEncoder))
            pipe.execute()
    except redis.RedisError as error:
        logger.warning("live status not published (%s)", type(error).__name__)


# Streaming (the live server's processes) --------------------------------------------------------


class _Mailbox:
    """The newest message of one stream's channel: a page needs the latest state, not each one."""

    def __init__(self) -> None:
        self.message: bytes | None = None
        self.closed = False
        self.ready = asyncio.Event()

    def put(self, message: bytes) -> None:
        self.message = message
        self.ready.set()

    def close(self) -> None:
        self.closed = True
        self.ready.set()

    async def get(self, timeout: float) -> bytes | None:
        """The next message; None after ``timeout`` seconds without one, or once closed."""
        try:
            await asyncio.wait_for(self.ready.wait(), timeout)
        except TimeoutError:
            return None
        self.ready.clear()
        message, self.message = self.message, None
        return message


class _Hub:
    """One Redis pattern subscription per process (per event loop) that hands each message to
    the mailboxes of its channel's open streams. When Redis fails, every mailbox is closed (its
    stream ends, the browser opens it again) and the next stream starts a new hub."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.mailboxes: dict[bytes, set[_Mailbox]] = {}
        self.closed = False
        self.started = self.loop.create_task(self._start())
        self.relay: asyncio.Task | None = None

    async def _start(self) -> None:
        # No silent reconnect: messages sent meanwhile would be lost; the streams end instead,
        # and each reads the current state again when the browser opens it again.
        self.client = redis.asyncio.Redis.from_url(
            settings.LIVE_STATUS_REDIS_URL,
            socket_connect_timeout=2,
            retry=redis.asyncio.retry.Retry(NoBackoff(), 0),
        )
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            await self.pubsub.psubscribe(f"{_prefix()}*")
        except redis.RedisError:
            await self._close()
            raise
        self.relay = self.loop.create_task(self._relay())

    async def _relay(self) -> None:
        try:
            async for message in self.pubsub.listen():
                for mailbox in self.mailboxes.get(message["channel"], ()):
                    mailbox.put(message["data"])
        except redis.RedisError as error:
            logger.warning("live status: Redis lost (%s)", type(error).__name__)
        finally:
            await self._close()

    async def _close(self) -> None:
        self.closed = True
        for mailboxes in self.mailboxes.values():
            for mailbox in mailboxes:
                mailbox.close()
        await self.pubsub.aclose()
        await self.client.aclose()

    def open(self, channel: str) -> _Mailbox:
        mailbox = _Mailbox()
        self.mailboxes.setdefault(channel.encode(), set()).add(mailbox)
        return mailbox

    def forget(self, channel: str, mailbox: _Mailbox) -> None:
        mailboxes = self.mailboxes.get(channel.encode(), set())
        mailboxes.discard(mailbox)
        if not mailboxes:
            self.mailboxes.pop(channel.encode(), None)


_hub: _Hub | None = None


async def _running_hub() -> _Hub:
    global _hub
    if _hub is None or _hub.closed or _hub.loop is not asyncio.get_running_loop():
        _hub = _Hub()
    hub = _hub
    await asyncio.shield(hub.started)
    return hub


def _read_once(current: Callable[[], dict]) -> dict:
    """``current()``, then this request's database connection closed: under ASGI each request
    runs its sync code in a thread of its own, whose connection would otherwise stay open, one
    per waiting page, as long as the stream."""
    try:
        return current()
    finally:
        if not connection.in_atomic_block:  # never inside a transaction (a test's)
            connection.close()


def _event(data: bytes) -> bytes:
    return b"data: " + data + b"\n\n"


async def stream(
    channel: str, current: Callable[[], dict], relay: Callable[[bytes], bytes] | None = None
) -> AsyncIterator[bytes]:
    """Server-sent events: the state ``current()`` reads (once, from the database), then every
    message published on ``channel`` (through ``relay``, if given), with heartbeats between."""
    try:
        hub = await _running_hub()
    except redis.RedisError as error:
        logger.warning("live status: Redis unavailable (%s)", type(error).__name__)
        yield UNAVAILABLE
        return
    mailbox = hub.open(channel)  # before the read: no change between the two is missed
    try:
        state = await sync_to_async(_read_once, thread_sensitive=True)(current)
        first = json.dumps(state, cls=DjangoJSONEncoder).encode()
        yield f"retry: {RECONNECT_MS}\n".encode() + _event(first)
        ends = hub.loop.time() + STREAM_SECONDS * (1 + random.random() / 10)  # noqa: S311
        while not mailbox.closed and hub.loop.time() < ends:
            message = await mailbox.get(HEARTBEAT_SECONDS)
            if message is not None:
                yield _event(relay(message) if relay else message)
            elif not mailbox.closed:
                yield b": heartbeat\n\n"
    finally:
        hub.forget(channel, mailbox)


def stream_response(
    request: HttpRequest,
    channel: str,
    current: Callable[[], dict],
    relay: Callable[[bytes], bytes] | None = None,
) -> HttpResponse:
    """The response of a page's stream URL (after the view checked the access): the events of
    ``stream`` under ASGI; ``204`` under WSGI or without Redis, which tells the page to poll."""
    if not enabled() or not isinstance(request, ASGIRequest):
        response = HttpResponse(status=204)
    else:
        response = StreamingHttpResponse(
            stream(channel, current, relay), content_type="text/event-stream"
        )
        response["X-Accel-Buffering"] = "no"  # proxies that buffer (nginx) pass events at once
    response["Cache-Control"] = "no-store"
    return response
