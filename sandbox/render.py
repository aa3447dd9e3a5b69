"""The JSON shapes of the emulated API's resources (api.md §2.3, §3.3, §4, §6.1, §7, §8)."""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from django.urls import reverse

from sandbox import emvco
from sandbox.amounts import as_number, as_string
from sandbox.models import (
    Account,
    Application,
    MerchantOrder,
    Order,
    Payment,
    PointOfSale,
    Refund,
    Store,
)
from sandbox.sites import Site, site

# (status, status_detail) of a v1 order's payment transaction, by the payment's status.
_TRANSACTION_STATUS = {
    Payment.Status.CREATED: ("created", "ready_to_process"),
    Payment.Status.APPROVED: ("processed", "accredited"),
    Payment.Status.REFUNDED: ("refunded", "refunded"),
    Payment.Status.CANCELED: ("canceled", "canceled_by_api"),
    Payment.Status.EXPIRED: ("expired", "expired"),
}
_PAID = {Payment.Status.APPROVED, Payment.Status.REFUNDED}
# Why the buyer's payment was rejected: the sandbox declines for want of funds (api.md §8).
REJECTED_DETAIL = "cc_rejected_insufficient_amount"


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and ``Z``."""
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Stores and POS ----------------------------------------------------------------------------


def store(row: Store) -> dict:
    location = dict(row.location)
    location["address_line"] = (
        f"{location.get('street_name', '')} {location.get('street_number', '')}, "
        f"{location.get('city_name', '')}, {location.get('state_name', '')}"
    )
    return {
        "id": row.pk,
        "name": row.name,
        "external_id": row.external_id or None,
        "business_hours": row.business_hours,
        "location": location,
        "date_created": iso(row.date_created),
        "date_creation": iso(row.date_created),
    }


def order_qr_data(account: Account, order_site: Site, qr_token: str) -> str:
    """The EMVCo payload of a dynamic or hybrid order, naming it by ``qr_token``."""
    return emvco.build(
        order_site,
        emvco.order_account_info(order_site, qr_token),
        account.merchant_name or account.nickname,
        account.merchant_city or order_site.id,
    )


def static_qr_code(pos: PointOfSale) -> str:
    """The EMVCo payload of ``pos``'s static QR."""
    account, pos_site = pos.account, site(pos.account.site_id)
    return emvco.build(
        pos_site,
        emvco.pos_account_info(pos_site, pos.pk, pos.uuid),
        account.merchant_name or account.nickname,
        account.merchant_city or pos.store.location.get("city_name", ""),
    )


def pos(row: PointOfSale, absolute: Callable[[str], str]) -> dict:
    """A POS; ``absolute`` turns the sandbox's QR image paths into absolute URLs."""

    def image(kind: str) -> str:
        return absolute(reverse("sandbox-pos-qr", args=[row.uuid, kind]))

    return {
        "id": row.pk,
        "name": row.name,
        "fixed_amount": row.fixed_amount,
        "category": row.category,
        "store_id": str(row.store_id),
        "external_store_id": row.store.external_id or None,
        "external_id": row.external_id,
        "url": row.url or None,
        "qr": {
            "image": image("image.png"),
            "template_document": image("template.pdf"),
            "template_image": image("template.png"),
        },
        "qr_code": static_qr_code(row),
        "status": row.status,
        "uuid": row.uuid,
        "user_id": row.account.user_id,
        "site": row.account.site_id,
        "compatible_id": "for_every_device",
        "date_created": iso(row.date_created),
        "date_last_updated": iso(row.date_last_updated),
    }


def paging(total: int, offset: int, limit: int) -> dict:
    return {"total": total, "offset": offset, "limit": limit}


# Orders API --------------------------------------------------------------------------------


def _transaction(payment: Payment) -> dict:
    amounts = site(payment.account.site_id)
    status, status_detail = _TRANSACTION_STATUS[payment.status]
    if payment.status == Payment.Status.APPROVED and payment.refunded_amount:
        status_detail = "partially_refunded"
    data = {
        "id": payment.transaction_id,
        "amount": as_string(payment.amount, amounts),
        "status": status,
        "status_detail": status_detail,
    }
    if payment.status in _PAID:
        data |= {
            "paid_amount": as_string(payment.amount, amounts),
            "refunded_amount": as_string(payment.refunded_amount, amounts),
            "reference_id": str(payment.pk),
            "payment_method": {
                "id": payment.payment_method_id,
                "type": payment.payment_type_id,
                "installments": payment.installments,
            },
        }
    return data


def _refund_transaction(refund: Refund) -> dict:
    return {
        "id": refund.refund_id,
        "transaction_id": refund.payment.transaction_id,
        "reference_id": str(refund.pk),
        "amount": as_string(refund.amount, site(refund.payment.account.site_id)),
        "status": _REFUND_TRANSACTION_STATUS[refund.status],
    }


# A refund transaction of the Orders API: ``processing`` → ``processed`` | ``failed``.
_REFUND_TRANSACTION_STATUS = {
    Refund.Status.IN_PROCESS: "processing",
    Refund.Status.APPROVED: "processed",
    Refund.Status.REJECTED: "failed",
}


def _paid_amount(order: Order) -> Decimal:
    return sum((p.amount for p in order.payments.all() if p.status in _PAID), Decimal(0))


def order(row: Order) -> dict:
    """A v1 order (api.md §3.3)."""
    amounts = site(row.account.site_id)
    payments = list(row.payments.order_by("pk"))
    refunds = Refund.objects.filter(payment__order=row).select_related("payment").order_by("pk")
    data = {
        "id": row.order_id,
        "type": "qr",
        "processing_mode": "automatic",
        "external_reference": row.external_reference,
        "description": row.description,
        "expiration_time": row.expiration_time,
        "country_code": amounts.country_code,
        "currency": row.currency,
        "user_id": str(row.account.user_id),
        "total_amount": as_string(row.total_amount, amounts),
        "status": row.status,
        "status_detail": row.status_detail,
        "created_date": iso(row.created_at),
        "last_updated_date": iso(row.updated_at),
        "integration_data": row.integration_data,
        "config": {"qr": {"external_pos_id": row.external_pos_id, "mode": row.mode}},
        "transactions": {"payments": [_transaction(payment) for payment in payments]},
    }
    if any(payment.status in _PAID for payment in payments):
        data["total_paid_amount"] = as_string(_paid_amount(row), amounts)
    if refunds:
        data["transactions"]["refunds"] = [_refund_transaction(refund) for refund in refunds]
    if row.marketplace_fee is not None:
        data["marketplace_fee"] = as_string(row.marketplace_fee, amounts)
    if row.items:
        data["items"] = row.items
    if row.mode != Order.Mode.STATIC:
        data["type_response"] = {"qr_data": row.qr_data}
    return data


def order_webhook(row: Order, action: str) -> dict:
    """The body of the ``order`` webhook for ``action`` (api.md §6.1)."""
    amounts = site(row.account.site_id)
    payments = []
    for payment in row.payments.order_by("pk"):
        status, status_detail = _TRANSACTION_STATUS[payment.status]
        entry = {"id": payment.transaction_id, "amount": as_string(payment.amount, amounts)}
        if payment.status in _PAID:
            entry |= {
                "paid_amount": as_string(payment.amount, amounts),
                "payment_method": {
                    "id": payment.payment_method_id,
                    "type": payment.payment_type_id,
                    "installments": payment.installments,
                },
                "reference": {"id": str(payment.pk)},
            }
        payments.append(entry | {"status": status, "status_detail": status_detail})
    data = {
        "id": row.order_id,
        "external_reference": row.external_reference,
        "status": row.status,
        "status_detail": row.status_detail,
        "total_amount": as_string(row.total_amount, amounts),
    }
    if any(payment.status in _PAID for payment in row.payments.all()):
        data["total_paid_amount"] = as_string(_paid_amount(row), amounts)
    data |= {"transactions": {"payments": payments}, "type": "qr", "version": row.version}
    return {
        "action": action,
        "api_version": "v1",
        "application_id": row.application.client_id if row.application else None,
        "data": data,
        "date_created": iso(row.updated_at),
        "live_mode": False,
        "type": "order",
        "user_id": str(row.account.user_id),
    }


def mp_connect_webhook(
    application: Application, account: Account, action: str, now: datetime
) -> dict:
    """The body of the ``mp-connect`` webhook (its shape is undocumented: modelled on the order
    webhook's, docs/orders.md "Notifications")."""
    return {
        "action": action,
        "application_id": application.client_id,
        "data": {"id": str(account.user_id)},
        "date_created": iso(now),
        "live_mode": False,
        "type": "mp-connect",
        "user_id": account.user_id,
    }


# Legacy in-store orders, merchant orders, payments -----------------------------------------


def instore_order(row: Order) -> dict:
    """A legacy order as ``GET …/pos/{external_pos_id}/orders`` lists it (api.md §2.3)."""
    data = {
        "external_reference": row.external_reference,
        "title": row.title,
        "description": row.description,
        "total_amount": as_number(row.total_amount),
        "items": row.items,
        "notification_url": row.notification_url or None,
        "expiration_date": row.expiration_date.isoformat() if row.expiration_date else None,
        "user_id": row.account.user_id,
        "external_pos_id": row.external_pos_id,
    }
    if row.sponsor_id is not None:
        data["sponsor"] = {"id": row.sponsor_id}
    if row.cash_out_amount is not None:
        data["cash_out"] = {"amount": as_number(row.cash_out_amount)}
    if row.taxes:
        data["taxes"] = row.taxes
    if row.marketplace_fee is not None:
        data["marketplace_fee"] = as_number(row.marketplace_fee)
    return data


def _account_ref(account) -> dict | None:
    return {"id": account.user_id, "nickname": account.nickname} if account else None


def merchant_order(row: MerchantOrder) -> dict:
    """A merchant order (api.md §7)."""
    currency = site(row.account.site_id).currency
    payments = list(row.payments.select_related("buyer").order_by("pk"))
    source = row.order
    items = [
        {
            "id": item.get("sku_number", ""),
            "title": item.get("title", ""),
            "description": item.get("description", ""),
            "picture_url": None,
            "category_id": item.get("category", ""),
            "quantity": item.get("quantity"),
            "unit_price": item.get("unit_price"),
            "currency_id": currency,
        }
        for item in (source.items if source else [])
    ]
    return {
        "id": row.pk,
        "status": row.status,
        "order_status": row.order_status,
        "external_reference": row.external_reference,
        "preference_id": "",
        "application_id": source.application.client_id if source and source.application else None,
        "site_id": row.account.site_id,
        "collector": _account_ref(row.account),
        "payer": _account_ref(payments[0].buyer) if payments else None,
        "sponsor_id": row.sponsor_id,
        "marketplace": "NONE",
        "notification_url": row.notification_url or None,
        "additional_info": "",
        "total_amount": as_number(row.total_amount),
        "paid_amount": as_number(row.paid_amount),
        "refunded_amount": as_number(row.refunded_amount),
        "shipping_cost": 0,
        "cancelled": False,
        "is_test": True,
        "date_created": row.date_created.isoformat(),
        "last_updated": row.last_updated.isoformat(),
        "items": items,
        "payments": [
            {
                "id": payment.pk,
                "transaction_amount": as_number(payment.amount),
                "total_paid_amount": as_number(payment.amount),
                "shipping_cost": 0,
                "currency_id": payment.currency,
                "status": payment.status,
                "status_details": REJECTED_DETAIL
                if payment.status == Payment.Status.REJECTED
                else "accredited",
                "operation_type": "regular_payment",
                "date_approved": payment.date_approved.isoformat()
                if payment.date_approved
                else None,
                "date_created": payment.date_created.isoformat(),
                "last_modified": payment.last_updated.isoformat(),
                "amount_refunded": as_number(payment.refunded_amount),
            }
            for payment in payments
        ],
        "shipments": [],
    }


def refund(row: Refund) -> dict:
    """A refund as ``/v1/payments/{id}/refunds`` answers it: ``status`` ``in_process``, then
    ``approved`` or ``rejected``."""
    return {
        "id": row.pk,
        "payment_id": row.payment_id,
        "amount": as_number(row.amount),
        "metadata": {},
        "source": [{"id": str(row.payment.account.user_id), "type": "collector"}],
        "date_created": row.date_created.isoformat(),
        "unique_sequence_number": None,
        "refund_mode": "standard",
        "adjustment_amount": 0,
        "status": row.status,
        "reason": None,
        "labels": [],
        "partition_details": [],
    }


def _payment_status_detail(row: Payment) -> str:
    if row.status == Payment.Status.REJECTED:
        return REJECTED_DETAIL
    if row.status == Payment.Status.REFUNDED:
        return "refunded"
    return "partially_refunded" if row.refunded_amount else "accredited"


def payment(row: Payment) -> dict:
    """A payment (api.md §8)."""
    source = row.order
    if source is not None and source.api == Order.Api.V1:
        order_ref = {"id": source.order_id, "type": "mp_order"}
    else:
        order_ref = {"id": row.merchant_order_id, "type": "mercadopago"}
    integration = source.integration_data if source else {}
    return {
        "id": row.pk,
        "status": row.status,
        "status_detail": _payment_status_detail(row),
        "external_reference": row.external_reference or None,
        "order": order_ref,
        "collector_id": row.account.user_id,
        "payer": {"id": row.buyer.user_id if row.buyer else None},
        "sponsor_id": source.sponsor_id if source else None,
        "pos_id": str(row.pos_id) if row.pos_id else None,
        "store_id": str(row.pos.store_id) if row.pos else None,
        "platform_id": integration.get("platform_id"),
        "integrator_id": integration.get("integrator_id"),
        "transaction_amount": as_number(row.amount),
        "transaction_amount_refunded": as_number(row.refunded_amount),
        "currency_id": row.currency,
        "payment_method_id": row.payment_method_id,
        "payment_type_id": row.payment_type_id,
        "installments": row.installments,
        "operation_type": "regular_payment",
        "point_of_interaction": {"type": "INSTORE"},
        "date_created": row.date_created.isoformat(),
        "date_approved": row.date_approved.isoformat() if row.date_approved else None,
        "date_last_updated": row.last_updated.isoformat(),
        "money_release_date": row.date_approved.isoformat() if row.date_approved else None,
        "refunds": [
            refund(r) for r in row.refunds.select_related("payment__account").order_by("pk")
        ],
        "live_mode": False,
    }
