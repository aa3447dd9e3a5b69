"""What the order services raise. Every error has a machine-readable ``code`` and a message that is
safe to show: the code is Mercado Pago's own where Mercado Pago would have answered it."""

from dataclasses import dataclass


class OrderError(Exception):
    """Base of the order services' errors."""

    code: str = "order_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


@dataclass(frozen=True)
class Problem:
    """One rule an input breaks: the field (dotted, ``items.0.unit_price``), code and message."""

    field: str
    code: str
    message: str


class InvalidOrder(OrderError):
    """The input breaks rules that Mercado Pago would enforce; nothing was sent to it.

    ``problems`` lists every broken rule; ``code`` and ``message`` are the first one's.
    """

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("InvalidOrder needs at least one problem")
        self.problems = tuple(problems)
        super().__init__(problems[0].message, code=problems[0].code)

    def as_dict(self) -> dict[str, list[str]]:
        """``{field: [messages]}``, the shape of Django's ``ValidationError``."""
        fields: dict[str, list[str]] = {}
        for problem in self.problems:
            fields.setdefault(problem.field, []).append(problem.message)
        return fields


class NotAllowed(OrderError):
    """The order is not in a state, or of a kind, that allows what was asked."""

    code = "not_allowed"


class RefusedByMercadoPago(OrderError):
    """Mercado Pago refused the call (a 4xx); ``code`` is Mercado Pago's error code."""

    def __init__(self, message: str, *, code: str, status: int) -> None:
        super().__init__(message, code=code)
        self.status = status


class MercadoPagoUnavailable(OrderError):
    """Mercado Pago did not answer, or failed (5xx, 429, timeout); the message says whether the
    order or refund stays pending (and is sent again) or was not taken."""

    code = "mercadopago_unavailable"
