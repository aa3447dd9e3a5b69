"""Merchant orders and payments (api.md §7, §8): reads, search and payment refunds.

The payments API puts its numeric error codes in ``cause`` (``{"code": 4292, ...}``), under a
generic ``error``. A refund larger than what is left to refund is ``2085`` (api.md lists the code
without a meaning; we give it this one); an unknown refund is ``2032``.

A refund is made ``in_process`` and settled later (``lifecycle.settle_due``); reads settle the
seller's refunds whose time has come first, as reads expire orders.
"""

from decimal import Decimal

from django.db.models import QuerySet

from sandbox import lifecycle
from sandbox.amounts import parse_number
from sandbox.errors import ApiError
from sandbox.models import Account, MerchantOrder, Payment, Refund

# A v1 order's payment is hidden until approved; a rejected payment (legacy only) is shown.
VISIBLE = (Payment.Status.APPROVED, Payment.Status.REFUNDED, Payment.Status.REJECTED)


def payment_error(status: int, error: str, code: int, message: str) -> ApiError:
    """An error of the payments API, its numeric code in ``cause``."""
    return ApiError(status, error, message, cause=[{"code": code, "description": message}])


def merchant_order_of(account: Account, merchant_order_id: str) -> MerchantOrder:
    """The merchant order ``merchant_order_id`` of ``account``; 404 otherwise."""
    lifecycle.settle_due(account)
    found = None
    if merchant_order_id.isdigit():
        found = MerchantOrder.objects.filter(account=account, pk=int(merchant_order_id)).first()
    if found is None:
        raise ApiError(404, "not_found", f"merchant order {merchant_order_id} not found")
    return found


def search_merchant_orders(account: Account, params: dict) -> tuple[QuerySet, int, int]:
    """Merchant orders by ``external_reference`` (and ``status``): rows, offset and limit."""
    lifecycle.settle_due(account)
    found = MerchantOrder.objects.filter(account=account).order_by("pk")
    for param in ("external_reference", "status"):
        if param in params:
            found = found.filter(**{param: params[param]})
    offset, limit = params.get("offset", "0"), params.get("limit", "20")
    if not (offset.isdigit() and limit.isdigit() and 0 < int(limit) <= 100):
        raise ApiError(400, "invalid_format", "offset and limit must be integers, limit 1 to 100")
    return found, int(offset), int(limit)


def payment_of(account: Account, payment_id: str) -> Payment:
    """The paid or rejected payment ``payment_id`` of ``account`` (code 2000 when there is
    none)."""
    lifecycle.settle_due(account)
    found = None
    if payment_id.isdigit():
        found = (
            Payment.objects.filter(account=account, pk=int(payment_id), status__in=VISIBLE)
            .select_related("order", "pos", "buyer", "account")
            .first()
        )
    if found is None:
        raise payment_error(404, "not_found", 2000, "Payment not found")
    return found


def refunds_of(payment: Payment) -> QuerySet[Refund]:
    """The refunds of ``payment``, oldest first."""
    return payment.refunds.select_related("payment__account").order_by("pk")


def refund_of(payment: Payment, refund_id: str) -> Refund:
    """The refund ``refund_id`` of ``payment`` (code 2032 when there is none)."""
    found = refunds_of(payment).filter(pk=int(refund_id)).first() if refund_id.isdigit() else None
    if found is None:
        raise payment_error(404, "not_found", 2032, "Refund not found")
    return found


def refund(payment: Payment, body: dict) -> Refund:
    """Refund ``payment``: in full (``{}``) or ``{"amount": 5}``."""
    amount: Decimal | None = None
    if "amount" in body:
        amount = parse_number(body["amount"])
        if amount is None:
            raise payment_error(400, "bad_request", 4041, "amount must be numeric")
        if amount <= 0:
            raise payment_error(400, "bad_request", 4040, "amount must be positive")
    try:
        return lifecycle.refund_payment(payment, amount)
    except lifecycle.NotAllowed as error:
        raise payment_error(400, "bad_request", 2063, f"refund not allowed: {error}") from error
    except lifecycle.AmountExceeds as error:
        raise payment_error(400, "bad_request", 2085, str(error)) from error
