"""An order as the partner API and its webhooks show it, built by plain functions.

``orders.api.OrderSerializer`` declares the shape (the OpenAPI schema); these functions build the
same JSON without DRF's per-field machinery, which was most of a list page's time
(docs/performance.md, "Lists"). ``order_json`` writes one order from its lists as
``order_lists`` loads them (``listed_items``, ``listed_payments``, ``listed_refunds``; and its
POS) or as the create leaves them in memory, and reads nothing. ``orders_json`` writes a page of
orders from rows (``page_rows``), with no model instance: one query for the page's items, one for
its payments, one for its refunds.

Formats are DRF's: amounts are strings with the model's two decimals, datetimes ISO 8601 in the
current time zone with ``Z`` for UTC, ids and uids strings.
"""

from collections import defaultdict
from datetime import datetime, tzinfo
from decimal import Decimal

from django.db.models import F, Prefetch, QuerySet, prefetch_related_objects
from django.utils import timezone

from orders.models import Order, OrderItem, Payment, Refund
from orders.services import left_to_refund

CENT = Decimal("0.01")
# What the representation reads of each row (``page_rows``, ``orders_json``).
ORDER_COLUMNS = (
    "id",
    "uid",
    "external_reference",
    "api",
    "mode",
    "status",
    "status_detail",
    "error_code",
    "error_message",
    "pos_id",
    "title",
    "description",
    "currency",
    "total_amount",
    "cash_out_amount",
    "marketplace_fee",
    "taxes",
    "qr_data",
    "expires_at",
    "mp_order_id",
    "metadata",
    "created_at",
    "updated_at",
    "paid_at",
    "closed_at",
)
ITEM_COLUMNS = (
    "order_id",
    "position",
    "title",
    "description",
    "sku",
    "category",
    "unit_price",
    "quantity",
    "unit_measure",
)
PAYMENT_COLUMNS = (
    "pk",
    "order_id",
    "uid",
    "mp_payment_id",
    "reference_id",
    "amount",
    "paid_amount",
    "refunded_amount",
    "status",
    "status_detail",
    "payment_method_id",
    "payment_method_type",
    "approved_at",
    "updated_at",
)
REFUND_COLUMNS = (
    "order_id",
    "payment_id",
    "uid",
    "mp_refund_id",
    "amount",
    "status",
    "error_code",
    "error_message",
    "created_at",
    "processed_at",
)


def order_lists() -> tuple[Prefetch, ...]:
    """What an order's representation shows besides its row, as lists on the order (``to_attr``:
    Django builds no queryset per order and relation to hold them), each ordered within its order
    only, so that its query needs no join with the orders."""
    return (
        Prefetch("items", OrderItem.objects.order_by("position"), to_attr="listed_items"),
        Prefetch("payments", Payment.objects.order_by("pk"), to_attr="listed_payments"),
        Prefetch("refunds", Refund.objects.order_by("pk"), to_attr="listed_refunds"),
    )


def with_lists(order: Order) -> Order:
    """``order`` with the lists of ``order_lists``, read now if it came without them."""
    if not hasattr(order, "listed_items"):
        prefetch_related_objects([order], *order_lists())
    return order


def amount(value: Decimal | None) -> str | None:
    """A money amount as the API writes it: a string with two decimals."""
    return None if value is None else f"{value.quantize(CENT):f}"


def moment(value: datetime | None, zone: tzinfo) -> str | None:
    """A datetime as the API writes it: ISO 8601 in ``zone`` (the current time zone), ``Z`` for
    UTC."""
    if not value:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def order_json(order: Order) -> dict:
    """``order`` (with its lists, ``with_lists``, and its POS) as the API shows it."""
    return _order_json(
        order, order.pos.store_id, order.listed_items, order.listed_payments, order.listed_refunds
    )


def page_rows(orders: QuerySet[Order]) -> QuerySet:
    """``orders`` as the rows that ``orders_json`` writes (``values()``: no model instance)."""
    return orders.values(*ORDER_COLUMNS, store_id=F("pos__store_id"))


def orders_json(rows: list[dict]) -> list[dict]:
    """The orders of ``rows`` (``page_rows``) as the API shows them, their items, payments and
    refunds read by one query each."""
    ids = [row["id"] for row in rows]
    items, payments, refunds = (
        _rows_by_order(model.objects.filter(order_id__in=ids).order_by(*order), columns)
        for model, order, columns in (
            (OrderItem, ("order_id", "position"), ITEM_COLUMNS),
            (Payment, ("pk",), PAYMENT_COLUMNS),
            (Refund, ("pk",), REFUND_COLUMNS),
        )
    )
    return [
        _order_json(
            Row(row), row["store_id"], items[row["id"]], payments[row["id"]], refunds[row["id"]]
        )
        for row in rows
    ]


class Row(dict):
    """A ``values()`` row read by attribute, as the functions here read a model instance."""

    __getattr__ = dict.__getitem__


def _rows_by_order(rows: QuerySet, columns: tuple[str, ...]) -> defaultdict[int, list[Row]]:
    by_order: defaultdict[int, list[Row]] = defaultdict(list)
    for row in rows.values(*columns):
        by_order[row["order_id"]].append(Row(row))
    return by_order


def _order_json(
    order: Order | Row,
    store_id: int,
    items: list[OrderItem] | list[Row],
    payments: list[Payment] | list[Row],
    refunds: list[Refund] | list[Row],
) -> dict:
    zone = timezone.get_current_timezone()
    paid = sum((p.paid_amount for p in payments), Decimal(0))
    refunded = sum((p.refunded_amount for p in payments), Decimal(0))
    left = left_to_refund(payments, refunds)
    mp_payment_ids = {p.pk: p.mp_payment_id for p in payments}
    return {
        "uid": str(order.uid),
        "external_reference": order.external_reference,
        "api": order.api,
        "mode": order.mode,
        "status": order.status,
        "status_detail": order.status_detail,
        "error_code": order.error_code,
        "error_message": order.error_message,
        "pos": order.pos_id,
        "store": store_id,
        "title": order.title,
        "description": order.description,
        "currency": order.currency,
        "total_amount": amount(order.total_amount),
        "cash_out_amount": amount(order.cash_out_amount),
        "marketplace_fee": amount(order.marketplace_fee),
        "taxes": [
            {"type": str(tax.get("type", "IVA")), "value": f"{Decimal(str(tax['value'])):f}"}
            for tax in order.taxes
        ],
        "paid_amount": amount(paid),
        "refunded_amount": amount(refunded),
        "amount_available_for_refund": amount(sum(left.values(), Decimal(0))),
        "qr_data": order.qr_data,
        "expires_at": moment(order.expires_at, zone),
        "mercadopago_order_id": order.mp_order_id,
        "metadata": {str(key): str(value) for key, value in order.metadata.items()},
        "items": [item_json(item) for item in items],
        "payments": [payment_json(payment, left[payment.pk], zone) for payment in payments],
        "refunds": [
            refund_json(refund, mp_payment_ids[refund.payment_id], zone) for refund in refunds
        ],
        "created_at": moment(order.created_at, zone),
        "updated_at": moment(order.updated_at, zone),
        "paid_at": moment(order.paid_at, zone),
        "closed_at": moment(order.closed_at, zone),
    }


def item_json(item: OrderItem | Row) -> dict:
    return {
        "position": item.position,
        "title": item.title,
        "description": item.description,
        "sku": item.sku,
        "category": item.category,
        "unit_price": amount(item.unit_price),
        "quantity": item.quantity,
        "unit_measure": item.unit_measure,
        "total_amount": amount(item.unit_price * item.quantity),
    }


def payment_json(payment: Payment | Row, available: Decimal, zone: tzinfo) -> dict:
    """``payment``, with ``available`` of it left to refund (``services.left_to_refund``), its
    times in ``zone``."""
    return {
        "id": str(payment.uid),
        "mercadopago_payment_id": payment.mp_payment_id,
        "reference_id": payment.reference_id,
        "amount": amount(payment.amount),
        "paid_amount": amount(payment.paid_amount),
        "refunded_amount": amount(payment.refunded_amount),
        "amount_available_for_refund": amount(available),
        "status": payment.status,
        "status_detail": payment.status_detail,
        "payment_method_id": payment.payment_method_id,
        "payment_method_type": payment.payment_method_type,
        "approved_at": moment(payment.approved_at, zone),
        "updated_at": moment(payment.updated_at, zone),
    }


def refund_json(refund: Refund | Row, mp_payment_id: str, zone: tzinfo) -> dict:
    """``refund`` of the payment ``mp_payment_id``, its times in ``zone``."""
    return {
        "id": str(refund.uid),
        "mercadopago_refund_id": refund.mp_refund_id,
        "payment": mp_payment_id,
        "amount": amount(refund.amount),
        "status": refund.status,
        "error_code": refund.error_code,
        "error_message": refund.error_message,
        "created_at": moment(refund.created_at, zone),
        "processed_at": moment(refund.processed_at, zone),
    }
