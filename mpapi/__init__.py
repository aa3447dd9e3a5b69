"""A framework-free, typed client of the Mercado Pago HTTP API (no Django import here).

Start with :class:`MercadoPagoClient` and :class:`ClientConfig`; docs/mpapi.md is the guide.
"""

from mpapi.chargebacks import Chargeback, get_chargeback
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
from mpapi.reports import ReportKind, ReportLine, ReportNotCreated, parse_report_csv

__all__ = [
    "APIError",
    "BadRequest",
    "CallRecord",
    "Chargeback",
    "ClientConfig",
    "Conflict",
    "Forbidden",
    "MercadoPagoClient",
    "MercadoPagoError",
    "NotFound",
    "RateLimited",
    "ReportKind",
    "ReportLine",
    "ReportNotCreated",
    "ServerError",
    "TransportFailure",
    "Unauthorized",
    "UnexpectedResponse",
    "get_chargeback",
    "parse_report_csv",
]
