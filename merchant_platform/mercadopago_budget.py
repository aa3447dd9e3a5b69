"""Every web request's Mercado Pago calls, together, within ``MERCADOPAGO_REQUEST_BUDGET`` seconds.

A slow Mercado Pago then makes the request answer in time (a create leaves its order ``pending``,
sent again in the background; other calls answer 503 ``mercadopago_unavailable``) instead of the
server killing the worker in the middle of it. gunicorn.conf.py refuses a timeout that does not
leave the budget room (``merchant_platform.server.check_timeouts``).
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from mpapi.session import deadline

# Seconds a request needs besides its Mercado Pago calls: the database, reading it, answering.
REQUEST_MARGIN = 30


def longest_request(budget: float) -> float:
    """The longest a web request runs, in seconds, with a Mercado Pago ``budget``."""
    return budget + REQUEST_MARGIN


class MercadoPagoBudgetMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with deadline(settings.MERCADOPAGO_REQUEST_BUDGET):
            return self.get_response(request)
