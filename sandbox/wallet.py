"""The buyer wallet: pay what a QR shows, as the Mercado Pago app does after a scan.

A pasted ``qr_data`` names an order (dynamic or hybrid) or a POS (its static ``qr_code``); a POS
pays the order it shows now, or, when its ``fixed_amount`` is false and it shows none, an amount
the buyer types. The payment is approved, or, with ``outcome`` ``rejected``, declined (the order
stays payable).
"""

from dataclasses import dataclass, fields
from decimal import Decimal

from sandbox import emvco, lifecycle
from sandbox.amounts import parse_string
from sandbox.errors import ApiError
from sandbox.models import Account, Order, Payment, PointOfSale
from sandbox.sites import site

OUTCOMES = ("approved", "rejected")


@dataclass(frozen=True)
class Purchase:
    """What the buyer asked to pay."""

    qr_data: str = ""
    user_id: str = ""
    external_pos_id: str = ""
    payment_method_id: str = "account_money"
    buyer_user_id: str = ""
    amount: str = ""
    external_reference: str = ""  # the order expected (control API): another one is refused
    outcome: str = "approved"  # or "rejected": the payment is declined


def purchase_of(values: dict) -> Purchase:
    """The purchase a form or a JSON body asks for (its empty fields left out)."""
    given = {
        field.name: str(values[field.name])
        for field in fields(Purchase)
        if values.get(field.name) not in (None, "")
    }
    return Purchase(**given)


def _user_id(value: str) -> int:
    """A user id from a form; -1 (nobody) when it is not a number."""
    return int(value) if value.isdigit() else -1


def _bad(code: str, message: str, status: int = 400) -> ApiError:
    return ApiError(status, code, message)


def _target(purchase: Purchase) -> Order | PointOfSale:
    if purchase.qr_data:
        try:
            target = emvco.target(purchase.qr_data.strip())
        except emvco.InvalidPayload as error:
            raise _bad("invalid_qr_data", f"not a Mercado Pago QR: {error}") from error
        if target.order_token:
            found = Order.objects.filter(qr_token=target.order_token).first()
        elif target.pos_id:
            found = PointOfSale.objects.filter(pk=target.pos_id).first()
        else:
            found = PointOfSale.objects.filter(uuid=target.pos_uuid).first()
    elif purchase.user_id and purchase.external_pos_id:
        found = PointOfSale.objects.filter(
            account__user_id=_user_id(purchase.user_id),
            external_id=purchase.external_pos_id,
        ).first()
    else:
        raise _bad("bad_request", "send qr_data, or user_id and external_pos_id")
    if found is None:
        raise _bad("not_found", "the QR names no order or POS of this sandbox", 404)
    return found


def _buyer(purchase: Purchase, seller: Account) -> Account:
    buyers = Account.objects.filter(kind=Account.Kind.BUYER)
    if purchase.buyer_user_id:
        buyers = buyers.filter(user_id=_user_id(purchase.buyer_user_id))
    else:
        buyers = buyers.filter(site_id=seller.site_id).order_by("user_id")
    buyer = buyers.first()
    if buyer is None:
        raise _bad("invalid_buyer", "no such test buyer", 404)
    if buyer.site_id != seller.site_id:
        raise _bad("invalid_buyer", "the buyer and the seller must be of the same country")
    return buyer


def _method(purchase: Purchase, seller: Account) -> lifecycle.PaymentMethod:
    for method in lifecycle.payment_methods(seller.site_id):
        if method.id == purchase.payment_method_id:
            return method
    raise _bad(
        "invalid_payment_method",
        f"{purchase.payment_method_id} is not a payment method of {seller.site_id}",
    )


def _order_of(target: Order | PointOfSale, purchase: Purchase) -> Order | None:
    """The order ``target`` names (a POS: the one it shows now), checked against the
    ``external_reference`` the purchase expects, if any (404 ``no_order``, 409
    ``order_mismatch``)."""
    order = target if isinstance(target, Order) else lifecycle.shown_by(target)
    if purchase.external_reference:
        if order is None:
            raise _bad("no_order", "the QR shows no order now", 404)
        if order.external_reference != purchase.external_reference:
            raise _bad(
                "order_mismatch",
                f"the QR shows order {order.external_reference}, not {purchase.external_reference}",
                409,
            )
    return order


def order_shown(purchase: Purchase) -> Order:
    """The order the QR of ``purchase`` shows now (404 ``no_order`` when none)."""
    order = _order_of(_target(purchase), purchase)
    if order is None:
        raise _bad("no_order", "the QR shows no order now", 404)
    return order


def pay(purchase: Purchase) -> Payment:
    """Pay what ``purchase`` names, or have the payment rejected (``outcome``); 409
    ``order_not_payable`` if it is paid, canceled, expired."""
    if purchase.outcome not in OUTCOMES:
        raise _bad("invalid_outcome", f"outcome is one of {', '.join(OUTCOMES)}")
    approved = purchase.outcome == "approved"
    target = _target(purchase)
    order = _order_of(target, purchase)
    seller = target.account
    buyer, method = _buyer(purchase, seller), _method(purchase, seller)
    if order is not None:
        if purchase.amount:
            raise _bad("fixed_amount", "the order sets the amount; do not send one")
        change = lifecycle.pay if approved else lifecycle.reject
        try:
            return change(order, buyer, method)
        except lifecycle.NotAllowed as error:
            raise _bad("order_not_payable", f"cannot pay: {error}", 409) from error
    if target.fixed_amount:
        raise _bad("no_order", f"POS {target.external_id} shows no order to pay", 404)
    amount = parse_string(purchase.amount, site(seller.site_id))
    if amount is None or amount <= Decimal(0):
        raise _bad("invalid_amount", "type the amount to pay at this POS")
    return lifecycle.pay_amount(target, amount, buyer, method, approved=approved)


def receipt(payment: Payment) -> dict:
    """What was paid, for the wallet's answer."""
    order = payment.order
    v1 = order is not None and order.api == Order.Api.V1
    return {
        "status": payment.status,
        "payment_id": payment.pk,
        "transaction_id": payment.transaction_id,
        "amount": f"{payment.amount:.{site(payment.account.site_id).decimals}f}",
        "currency_id": payment.currency,
        "payment_method_id": payment.payment_method_id,
        "buyer_user_id": payment.buyer.user_id if payment.buyer else None,
        "order_id": order.order_id if v1 else None,
        "in_store_order_id": order.order_id if order and not v1 else None,
        "merchant_order_id": payment.merchant_order_id,
        "external_reference": payment.external_reference or None,
    }
