"""A framework-free, typed client of the Mercado Pago HTTP API (no Django import here).

Start with :class:`MercadoPagoClient` and :class:`ClientConfig`; docs/mpapi.md is the guide.
"""

from mpapi.client import MercadoPagoClient
from mpapi.config import ClientConfig
from mpapi.errors import (
    APIError,
    BadRequest,
    Conflict,
    Forbidden,
    MercadoPagoError,
    NotFound,
    RateLimited,
    ServerError,
    TransportFailure,
    Unauthorized,
    UnexpectedResponse,
)
from mpapi.observe import CallRecord

__all__ = [
    "APIError",
    "BadRequest",
    "CallRecord",
    "ClientConfig",
    "Conflict",
    "Forbidden",
    "MercadoPagoClient",
    "MercadoPagoError",
    "NotFound",
    "RateLimited",
    "ServerError",
    "TransportFailure",
    "Unauthorized",
    "UnexpectedResponse",
]
