"""The sandbox alone as a WSGI application, for callers in this process that only talk to
Mercado Pago (the platform's tests and demo data, through
``merchant_platform.mercadopago.in_process_transport``, which names it by its dotted path).

It serves the sandbox's URLs under ``/sandbox/``, where the project mounts them, through the
middleware the sandbox relies on alone, built once: none of the platform's (sessions, sign-in,
tenants, language, CSP, metrics...). Its pages render here too (the sign-in form keeps its CSRF
protection), without the project's headers; browsers reach them through the project itself.
"""

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase
from django.urls import get_urlconf, include, path, set_urlconf
from django.utils.module_loading import import_string

from sandbox.faults import PREFIX

# Outermost first, in the project's order.
MIDDLEWARE = [
    "sandbox.faults.FaultInjectionMiddleware",  # faults answer before anything else runs
    "django.middleware.csrf.CsrfViewMiddleware",  # the authorization page's sign-in form
]

# This module is the application's URLconf too.
urlpatterns = [path(f"{PREFIX.removeprefix('/')}/", include("sandbox.urls"))]


class SandboxHandler(WSGIHandler):
    """Django's WSGI handler with this module's middleware and URLconf."""

    def load_middleware(self, is_async: bool = False) -> None:
        """Chain ``MIDDLEWARE`` as Django chains the project's (synchronously: WSGI)."""
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for middleware_path in reversed(MIDDLEWARE):
            middleware = import_string(middleware_path)(handler)
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self._template_response_middleware.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self._exception_middleware.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        """Answer from this URLconf, leaving the caller's thread on its own URLconf after: the
        caller (a platform request, a test) reverses its URLs in the same thread."""
        request.urlconf = __name__
        callers_urlconf = get_urlconf()
        try:
            return super().get_response(request)
        finally:
            set_urlconf(callers_urlconf)


application = SandboxHandler()
