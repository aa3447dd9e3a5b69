"""Chargebacks (``GET /v1/chargebacks/{id}``, api.md §6.1 topic ``topic_chargebacks_wh``).

A chargeback is opened on a paid payment from the control surface (the card issuer's side, which
no API of Mercado Pago's exposes), and decided there too. Each change writes a signed webhook
``Event`` of type ``topic_chargebacks_wh`` whose ``data.id`` is the chargeback's id, delivered as
every webhook is (``sandbox.notifier``). The body of that webhook is not documented: it is
modelled on the ``payment`` topic's (``action``, ``api_version``, ``application_id``, ``data.id``,
``date_created``, ``live_mode``, ``type``, ``user_id``).

The sandbox's choices where the reference is silent: the seller has ``DOCUMENTATION_DAYS`` to
send documentation; ``status`` is ``opened`` then ``closed``; a case decided for the seller has
``coverage_applied`` and ``documentation_status`` ``valid``, one decided for the buyer
``documentation_status`` ``invalid``.
"""

import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction

from sandbox.amounts import as_number, parse_number
from sandbox.errors import ApiError
from sandbox.models import Account, Application, Chargeback, Event, Payment
from sandbox.render import iso
from sandbox.seed import CLIENT_ID

TOPIC = "topic_chargebacks_wh"
DOCUMENTATION_DAYS = 10
OPENED, UPDATED = "chargeback.created", "chargeback.updated"
IN_FAVOR_OF = ("seller", "buyer")


def _refused(message: str, status: int = 400, code: str = "bad_request") -> ApiError:
    return ApiError(status, code, message)


def chargeback_id() -> str:
    """A new chargeback id: 18 lower-case hexadecimal characters, shaped like the reference's
    example (a string, not a number)."""
    return secrets.token_hex(9)


def chargeback_of(account: Account, chargeback_id: str) -> Chargeback:
    """The chargeback ``chargeback_id`` of ``account``; 404 otherwise."""
    found = (
        Chargeback.objects.filter(account=account, chargeback_id=chargeback_id)
        .select_related("payment")
        .first()
    )
    if found is None:
        raise _refused(f"chargeback {chargeback_id} not found", 404, "not_found")
    return found


def open_chargeback(payment_id: object, amount: object, now: datetime) -> Chargeback:
    """Open a chargeback on the paid payment ``payment_id`` for ``amount`` (None: what is paid
    and not refunded). ``ApiError`` when the payment is not paid, already disputed, or the
    amount is not in (0, what is left]."""
    with transaction.atomic():
        payment = None
        if str(payment_id).isdigit():
            payment = (
                Payment.objects.select_for_update(of=("self",))
                .select_related("account", "order__application")
                .filter(pk=int(payment_id))
                .first()
            )
        if payment is None:
            raise _refused(f"payment {payment_id} not found", 404, "not_found")
        if payment.status != Payment.Status.APPROVED:
            raise _refused(f"payment {payment.pk} is {payment.status}: only a paid one is disputed")
        if payment.chargebacks.filter(status=Chargeback.Status.OPENED).exists():
            raise _refused(f"payment {payment.pk} already has an open chargeback")
        left = payment.amount - payment.refunded_amount
        disputed = left if amount is None else parse_number(amount)
        if disputed is None or not Decimal(0) < disputed <= left:
            raise _refused(f"amount must be a number above 0 and at most {left}")
        chargeback = Chargeback.objects.create(
            chargeback_id=chargeback_id(),
            account=payment.account,
            payment=payment,
            currency=payment.currency,
            amount=disputed,
            date_documentation_deadline=now + timedelta(days=DOCUMENTATION_DAYS),
            date_created=now,
            date_last_updated=now,
        )
        _notify(chargeback, OPENED, now)
    return chargeback


def decide(chargeback: Chargeback, in_favor_of: str, now: datetime) -> Chargeback:
    """Close ``chargeback`` for the ``seller`` (coverage applied) or the ``buyer``."""
    if in_favor_of not in IN_FAVOR_OF:
        raise _refused("in_favor_of must be seller or buyer")
    with transaction.atomic():
        chargeback = Chargeback.objects.select_for_update().get(pk=chargeback.pk)
        if chargeback.status == Chargeback.Status.CLOSED:
            raise _refused(f"chargeback {chargeback.chargeback_id} is already closed")
        for_seller = in_favor_of == "seller"
        chargeback.status = Chargeback.Status.CLOSED
        chargeback.coverage_applied = for_seller
        chargeback.documentation_status = "valid" if for_seller else "invalid"
        chargeback.date_last_updated = now
        chargeback.save()
        _notify(chargeback, UPDATED, now)
    return chargeback


def render(row: Chargeback) -> dict:
    """A chargeback as ``GET /v1/chargebacks/{id}`` answers it."""
    return {
        "id": row.chargeback_id,
        "payments": [row.payment_id],
        "currency": row.currency,
        "amount": as_number(row.amount),
        "status": row.status,
        "coverage_applied": row.coverage_applied,
        "coverage_elegible": row.coverage_elegible,
        "documentation_required": row.documentation_required,
        "documentation_status": row.documentation_status,
        "documentation": [],
        "date_documentation_deadline": iso(row.date_documentation_deadline),
        "date_created": iso(row.date_created),
        "date_last_updated": iso(row.date_last_updated),
        "live_mode": False,
    }


def _application(payment: Payment) -> Application | None:
    order = payment.order
    if order is not None and order.application is not None:
        return order.application
    return Application.objects.filter(client_id=CLIENT_ID).first()


def _notify(row: Chargeback, action: str, now: datetime) -> Event:
    application = _application(row.payment)
    return Event.objects.create(
        kind=Event.Kind.WEBHOOK,
        application=application,
        account=row.account,
        topic=TOPIC,
        action=action,
        resource_id=row.chargeback_id,
        query={"data.id": row.chargeback_id, "type": TOPIC},
        body={
            "action": action,
            "api_version": "v1",
            "application_id": application.client_id if application else None,
            "data": {"id": row.chargeback_id},
            "date_created": iso(now),
            "live_mode": False,
            "type": TOPIC,
            "user_id": row.account.user_id,
        },
    )
