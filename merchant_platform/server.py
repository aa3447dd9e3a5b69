"""gunicorn's side of the platform (gunicorn.conf.py names these): a worker that never answers in
HTML, JSON log lines, and the check that the server's timeouts leave Mercado Pago its budget.

``JSONThreadWorker`` is gunicorn's ``gthread`` worker with three changes:

- An error gunicorn answers itself (an exception escaping the application, a malformed request)
  has the API's error body, ``{"code", "message"}``, as JSON, not gunicorn's HTML page.
- A worker aborted (SIGABRT: gunicorn's timeout, or an operator) first runs ``worker_abort``
  (gunicorn.conf.py releases the running requests' idempotency keys), then answers every request
  it was running and had not answered yet with a JSON 503 ``request_interrupted`` (retry it with
  the same ``Idempotency-Key``), and exits at once: gunicorn's own abort would wait for the
  request threads, and their clients would get nothing.
- A stopping worker closes its copy of the listening socket as soon as it stops accepting.
"""

import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from datetime import timedelta
from http import HTTPStatus

from gunicorn import glogging, util
from gunicorn.workers.gthread import ThreadWorker

from merchant_platform.logging import OneLineJSONFormatter
from merchant_platform.mercadopago_budget import longest_request

INTERRUPTED_MESSAGE = (
    "The server stopped while handling this request; retry it with the same Idempotency-Key."
)
REQUEST_ID_HEADER = "request-id"


def error_response(status: int, code: str, message: str, **headers: str) -> bytes:
    """A complete HTTP/1.1 answer with the API's error body, closing the connection."""
    body = json.dumps({"code": code, "message": message}).encode()
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "Connection: close",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """``gunicorn.util.write_error`` with the API's JSON body instead of an HTML page."""
    code = "server_error" if status_int >= 500 else "bad_request"
    message = mesg or ("The server failed to answer this request." if status_int >= 500 else reason)
    util.write_nonblock(sock, error_response(status_int, code, message))


class JSONThreadWorker(ThreadWorker):
    """gunicorn's ``gthread`` worker, answering its own errors and aborts in JSON."""

    def init_process(self) -> None:
        self._in_flight: dict[int, socket.socket] = {}  # unanswered requests, by thread
        self._in_flight_lock = threading.Lock()
        util.write_error = write_json_error  # what Worker.handle_error answers with
        super().init_process()

    def set_accept_enabled(self, enabled: bool) -> None:
        """gthread's, except that a stopping worker also closes its copy of the listening
        socket as it stops accepting, not once its last request is done: once the master has
        closed its own (SIGTERM), new connections are refused at once instead of waiting in the
        backlog of a socket nobody accepts on, to be reset when the worker leaves."""
        if enabled and not self.alive:
            return
        super().set_accept_enabled(enabled)
        if not self.alive:
            for listener in self.sockets:
                listener.close()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = self._tracking(self.wsgi)

    def _tracking(self, app: Callable) -> Callable:
        """``app``, noting each request's socket until the application has answered."""

        def tracked(environ: dict, start_response: Callable) -> Iterable[bytes]:
            thread = threading.get_ident()
            with self._in_flight_lock:
                self._in_flight[thread] = environ["gunicorn.socket"]
            try:
                return app(environ, start_response)
            finally:
                with self._in_flight_lock:
                    self._in_flight.pop(thread, None)

        return tracked

    def handle_abort(self, sig, frame) -> None:
        self.alive = False
        try:
            self.cfg.worker_abort(self)
        except Exception:
            self.log.exception("worker_abort failed")
        with self._in_flight_lock:
            unanswered = list(self._in_flight.values())
        answer = error_response(503, "request_interrupted", INTERRUPTED_MESSAGE, Retry_After="1")
        for sock in unanswered:
            try:
                sock.setblocking(True)
                sock.settimeout(1)
                sock.sendall(answer)
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the client has gone
        self.log.critical("Worker aborted, %d request(s) answered 503", len(unanswered))
        logging.shutdown()
        os._exit(1)


class AccessFormatter(OneLineJSONFormatter):
    """The platform's JSON line, plus the request's fields (``record.access``)."""

    def format(self, record: logging.LogRecord) -> str:
        event = json.loads(super().format(record))
        event.update(getattr(record, "access", {}))
        return json.dumps(event, ensure_ascii=False, default=str)


class JSONLogger(glogging.Logger):
    """gunicorn's error and access logs as one JSON object per line (the platform's format).

    An access line carries ``method``, ``path``, ``status``, ``duration_ms``, ``bytes``,
    ``remote_addr`` and the ``request_id`` the platform answered in its ``Request-Id`` header.
    """

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log, formatter in (
            (self.error_log, OneLineJSONFormatter()),
            (self.access_log, AccessFormatter()),
        ):
            for handler in log.handlers:
                handler.setFormatter(formatter)

    def access(self, resp, req, environ: dict, request_time: timedelta) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        headers = {name.lower(): value for name, value in resp.headers}
        fields = {
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": int(status) if str(status).isdigit() else status,
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "bytes": getattr(resp, "sent", None),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "request_id": headers.get(REQUEST_ID_HEADER),
        }
        self.access_log.info(
            "%s %s %s", fields["method"], fields["path"], fields["status"], extra={"access": fields}
        )


def check_timeouts(*, timeout: float, graceful_timeout: float, budget: float) -> list[str]:
    """Refuse a gunicorn ``timeout`` that would abort a worker before its longest request,
    ``longest_request(budget)`` (``budget``: MERCADOPAGO_REQUEST_BUDGET), has ended; a warning
    for a ``graceful_timeout`` that would cut such a request short on a restart."""
    longest = longest_request(budget)
    needs = f"the longest request, {longest:g} s (MERCADOPAGO_REQUEST_BUDGET {budget:g} s + margin)"
    if timeout <= longest:
        raise RuntimeError(f"gunicorn's timeout ({timeout:g} s) must exceed {needs}")
    if graceful_timeout <= longest:
        return [f"gunicorn's graceful_timeout ({graceful_timeout:g} s) is below {needs}"]
    return []
