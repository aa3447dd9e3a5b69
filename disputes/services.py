"""Disputes as Mercado Pago says they are: every write of a ``Dispute`` is here.

``record_chargeback`` applies a chargeback read from Mercado Pago, merged upwards: an answer
older than the one applied (``date_last_updated``), or one that would reopen a closed case,
changes nothing, so repeated, late and reordered notifications are harmless. Each change that is
applied emits the partner event ``dispute.opened`` (the first time) or ``dispute.updated``.
"""

from decimal import Decimal

from django.db import IntegrityError, transaction

from disputes.models import Dispute
from mpapi import Chargeback, NotFound, get_chargeback
from orders import remote
from orders.models import Payment
from partners import webhooks
from partners.models import EventType
from tenants.models import Tenant
from tenants.scope import cross_tenant_scope, tenant_scope

CENTS = Decimal("0.01")


def refresh_dispute(*, tenant: Tenant, mp_chargeback_id: str) -> Dispute | None:
    """Read chargeback ``mp_chargeback_id`` from Mercado Pago with ``tenant``'s token and record
    it; None when Mercado Pago says it is not this seller's."""
    with tenant_scope(tenant), remote.seller_client(tenant) as seller:
        try:
            chargeback = get_chargeback(seller.mp, seller.token, mp_chargeback_id)
        except NotFound:
            return None
    return record_chargeback(tenant=tenant, chargeback=chargeback)


def record_chargeback(*, tenant: Tenant, chargeback: Chargeback) -> Dispute:
    """Create or update ``tenant``'s dispute of ``chargeback`` (merged upwards; idempotent)."""
    values = _values(chargeback)
    with tenant_scope(tenant), transaction.atomic():
        dispute = _locked(chargeback.id)
        if dispute is None:
            payment = _payment(chargeback)
            try:
                with transaction.atomic():
                    dispute = Dispute.objects.create(
                        tenant=tenant,
                        mp_chargeback_id=chargeback.id,
                        payment=payment,
                        order=payment.order if payment else None,
                        mp_payment_id=str(chargeback.payments[0]) if chargeback.payments else "",
                        **values,
                    )
            except IntegrityError:  # recorded meanwhile by a concurrent notification
                dispute = _locked(chargeback.id)
            else:
                _emit(tenant, dispute, EventType.DISPUTE_OPENED)
                return dispute
        if _is_older(chargeback, dispute):
            return dispute
        changed = [name for name, value in values.items() if getattr(dispute, name) != value]
        if changed:
            for name in changed:
                setattr(dispute, name, values[name])
            dispute.save(update_fields=[*changed, "updated_at"])
            _emit(tenant, dispute, EventType.DISPUTE_UPDATED)
    return dispute


def _values(chargeback: Chargeback) -> dict:
    return {
        "amount": (chargeback.amount or Decimal(0)).quantize(CENTS),
        "currency": chargeback.currency or "",
        "status": chargeback.status or Dispute.Status.OPENED,
        "documentation_required": bool(chargeback.documentation_required),
        "documentation_status": chargeback.documentation_status or "",
        "deadline": chargeback.date_documentation_deadline,
        "coverage_applied": bool(chargeback.coverage_applied),
        "mp_created_at": chargeback.date_created,
        "mp_last_updated": chargeback.date_last_updated,
    }


def _locked(mp_chargeback_id: str) -> Dispute | None:
    return Dispute.objects.select_for_update().filter(mp_chargeback_id=mp_chargeback_id).first()


def _payment(chargeback: Chargeback) -> Payment | None:
    """The local payment the chargeback names (by Mercado Pago's numeric payment id)."""
    ids = [str(payment_id) for payment_id in chargeback.payments]
    return Payment.objects.select_related("order").filter(reference_id__in=ids).first()


def _is_older(chargeback: Chargeback, dispute: Dispute) -> bool:
    """Whether ``chargeback`` says less than what ``dispute`` already has."""
    reopens = dispute.status == Dispute.Status.CLOSED and chargeback.status == Dispute.Status.OPENED
    older = (
        chargeback.date_last_updated is not None
        and dispute.mp_last_updated is not None
        and chargeback.date_last_updated < dispute.mp_last_updated
    )
    return reopens or older


def payload(dispute: Dispute) -> dict:
    """The partner event's ``data`` (docs/api.md, "Webhooks")."""
    order = dispute.order
    return {
        "dispute": {
            "chargeback_id": dispute.mp_chargeback_id,
            "status": dispute.status,
            "amount": str(dispute.amount.quantize(CENTS)),  # as the API writes amounts
            "currency": dispute.currency,
            "documentation_required": dispute.documentation_required,
            "documentation_status": dispute.documentation_status,
            "documentation_deadline": _iso(dispute.deadline),
            "coverage_applied": dispute.coverage_applied,
            "payment_id": dispute.mp_payment_id,
            "order": str(order.uid) if order else None,
            "external_reference": order.external_reference if order else None,
            "opened_at": _iso(dispute.mp_created_at),
            "updated_at": _iso(dispute.mp_last_updated),
        }
    }


def _iso(moment) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _emit(tenant: Tenant, dispute: Dispute, event_type: str) -> None:
    webhooks.publish(tenant=tenant, event_type=event_type, data=payload(dispute))


def seller_of_payment(mp_payment_id: int | None) -> Tenant | None:
    """The seller with Mercado Pago payment ``mp_payment_id`` (its numeric id), if any."""
    if mp_payment_id is None:
        return None
    with cross_tenant_scope():
        found = Payment.objects.select_related("tenant").filter(reference_id=str(mp_payment_id))
        payment = found.first()
    return payment.tenant if payment else None
