"""The Orders API for QR (``/v1/orders``, api.md §3): validation, creation, reads, search,
cancel and refund. Expiration follows api.md §3.2: 30 s to 3600 h; dynamic orders default to
15 minutes; static orders default to and are capped at 10 minutes; a hybrid order's ``qr_data``
honours the value while its place on the POS's static QR ends after 10 minutes at most.
"""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from math import ceil

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from sandbox import ids, lifecycle, render
from sandbox.amounts import parse_string
from sandbox.errors import ApiError
from sandbox.models import Account, Order, Payment, PointOfSale, Token
from sandbox.sites import Site, site

CREATE_FIELDS = {
    "type",
    "external_reference",
    "total_amount",
    "description",
    "expiration_time",
    "processing_mode",
    "config",
    "transactions",
    "items",
    "discounts",
    "marketplace_fee",
    "integration_data",
    "taxes",
}
REQUIRED_FIELDS = ("type", "external_reference", "config", "transactions")
MODES = {choice.value for choice in Order.Mode}
MIN_EXPIRATION = timedelta(seconds=30)
MAX_EXPIRATION = timedelta(hours=3600)
DYNAMIC_EXPIRATION = timedelta(minutes=15)
STATIC_EXPIRATION = timedelta(minutes=10)  # the default and the cap of the static QR
_EXTERNAL_REFERENCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_PAYMENT_ID = re.compile(r"^PAY[0-9A-Z]{26}$")


def _invalid(message: str, code: str = "property_value") -> ApiError:
    return ApiError(400, code, message, [message])


def parse_duration(text: object) -> timedelta | None:
    """An ISO 8601 duration of days, hours, minutes and seconds (``PT15M``), or None."""
    match = _DURATION.match(text) if isinstance(text, str) and len(text) <= 20 else None
    if not match or text in ("P", "PT"):
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def iso_duration(duration: timedelta) -> str:
    """``duration`` as an ISO 8601 duration in minutes or seconds (``PT10M``)."""
    seconds = int(duration.total_seconds())
    return f"PT{seconds // 60}M" if seconds % 60 == 0 else f"PT{seconds}S"


def _amount(value: object, field: str, amounts: Site) -> Decimal:
    amount = parse_string(value, amounts)
    if amount is None or amount <= 0:
        raise _invalid(f"{field} must be a positive amount string with two decimals or none")
    return amount


def _check_fields(body: dict) -> None:
    unknown = sorted(set(body) - CREATE_FIELDS)
    if unknown:
        raise ApiError(400, "unsupported_properties", "unsupported properties", unknown)
    missing = [field for field in REQUIRED_FIELDS if field not in body]
    if missing:
        raise ApiError(400, "required_properties", "required properties are missing", missing)
    if body["type"] != "qr":
        raise _invalid("type must be qr")
    reference = body["external_reference"]
    if not isinstance(reference, str) or not _EXTERNAL_REFERENCE.match(reference):
        raise _invalid("external_reference: up to 64 letters, digits, '-' or '_'")
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > 150:
        raise _invalid("description must be a string of up to 150 characters")
    if body.get("processing_mode", "automatic") != "automatic":
        raise _invalid("processing_mode must be automatic for QR orders")


def _pos_and_mode(account: Account, config: object) -> tuple[PointOfSale, str]:
    qr = config.get("qr") if isinstance(config, dict) else None
    if not isinstance(qr, dict) or not isinstance(qr.get("external_pos_id"), str):
        raise ApiError(400, "required_properties", "config.qr.external_pos_id is required")
    mode = qr.get("mode", Order.Mode.STATIC)
    if mode not in MODES:
        raise _invalid("config.qr.mode must be static, dynamic or hybrid")
    pos = PointOfSale.objects.filter(account=account, external_id=qr["external_pos_id"]).first()
    if pos is None:
        raise ApiError(404, "pos_not_found", f"POS {qr['external_pos_id']} not found")
    return pos, mode


def _payment_amount(transactions: object, amounts: Site) -> Decimal:
    payments = transactions.get("payments") if isinstance(transactions, dict) else None
    if not isinstance(payments, list) or not payments:
        raise ApiError(400, "minimum_items", "transactions.payments needs one payment")
    if len(payments) > 1 or set(transactions) != {"payments"}:
        raise ApiError(400, "maximum_items", "a QR order takes exactly one payment")
    payment = payments[0]
    amount = payment.get("amount") if isinstance(payment, dict) else None
    return _amount(amount, "transactions.payments[0].amount", amounts)


def _items(items: object, amounts: Site) -> tuple[list[dict], Decimal]:
    if not isinstance(items, list):
        raise _invalid("items must be a list", code="property_type")
    total = Decimal(0)
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("title"), str):
            raise _invalid(f"items[{index}].title is required")
        price = _amount(item.get("unit_price"), f"items[{index}].unit_price", amounts)
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise _invalid(f"items[{index}].quantity must be a positive integer")
        total += price * quantity
    return items, total


def _total(body: dict, payment_amount: Decimal, items_total: Decimal | None, amounts: Site):
    if "total_amount" in body:
        total = parse_string(body["total_amount"], amounts)
        if total is None or total <= 0:
            raise _invalid("total_amount: two decimals or none", code="invalid_total_amount")
    else:
        total = payment_amount
    if total != payment_amount or (items_total is not None and items_total != total):
        raise _invalid(
            "total_amount must equal the sum of the payments and of the items",
            code="invalid_total_amount",
        )
    return total


def _expiration(body: dict, mode: str) -> tuple[str, timedelta, timedelta | None]:
    """``(expiration_time shown, time to expire, time shown on the POS)``."""
    if "expiration_time" in body:
        requested = parse_duration(body["expiration_time"])
        if requested is None or not MIN_EXPIRATION <= requested <= MAX_EXPIRATION:
            raise _invalid("expiration_time: an ISO 8601 duration from PT30S to PT3600H")
    else:
        requested = STATIC_EXPIRATION if mode == Order.Mode.STATIC else DYNAMIC_EXPIRATION
    on_pos = min(requested, STATIC_EXPIRATION)
    if mode == Order.Mode.STATIC:
        return iso_duration(on_pos), on_pos, on_pos
    shown = body.get("expiration_time", iso_duration(requested))
    return shown, requested, on_pos if mode == Order.Mode.HYBRID else None


def _integration_data(token: Token, body: dict) -> tuple[dict, int | None]:
    data = body.get("integration_data", {})
    if not isinstance(data, dict):
        raise _invalid("integration_data must be an object", code="property_type")
    sponsor = data.get("sponsor")
    sponsor_id = None
    if sponsor is not None:
        sponsor_id = str(sponsor.get("id", "")) if isinstance(sponsor, dict) else ""
        if not (
            sponsor_id.isdigit()
            and Account.objects.filter(
                user_id=int(sponsor_id), kind=Account.Kind.INTEGRATOR
            ).exists()
        ):
            raise ApiError(400, "sponsor_id_not_valid", f"sponsor {sponsor_id!r} is not valid")
    application = lifecycle.application_of(token)
    shown = {"application_id": application.client_id if application else None} | data
    return shown, int(sponsor_id) if sponsor_id else None


def _marketplace_fee(token: Token, body: dict, total: Decimal, amounts: Site) -> Decimal | None:
    if "marketplace_fee" not in body:
        return None
    if not token.via_oauth:
        raise ApiError(400, "marketplace_not_valid", "marketplace_fee needs an OAuth token")
    fee = parse_string(body["marketplace_fee"], amounts)
    if fee is None or fee > total:
        raise _invalid("marketplace_fee: an amount string no larger than total_amount")
    return fee


DISCOUNT_PAYMENT_TYPES = {
    "account_money",
    "credit_card",
    "debit_card",
    "prepaid_card",
    "digital_currency",
    "bank_transfer",
}


def _discounts(body: dict, total: Decimal, amounts: Site) -> dict:
    """``discounts`` as sent, checked: ``{payment_methods: [{type, new_total_amount}]}``, one
    entry per payment method type, each a lower total than ``total_amount`` (api.md §3.2)."""
    if "discounts" not in body:
        return {}
    discounts = body["discounts"]
    if not isinstance(discounts, dict):
        raise _invalid("discounts must be an object", code="property_type")
    unknown = sorted(set(discounts) - {"payment_methods"})
    if unknown:
        raise ApiError(400, "unsupported_properties", "unsupported properties", unknown)
    methods = discounts.get("payment_methods")
    if not isinstance(methods, list) or not methods:
        raise ApiError(400, "minimum_items", "discounts.payment_methods needs one entry")
    installments = _mapping(_mapping(body["config"]).get("payment_method"))
    if "installments_cost" in installments:
        message = "discounts cannot be combined with config.payment_method.installments_cost"
        raise ApiError(400, "discounts_not_allowed_with_installments", message)
    kept, seen = [], set()
    for index, method in enumerate(methods):
        field = f"discounts.payment_methods[{index}]"
        if not isinstance(method, dict):
            raise _invalid(f"{field} must be an object", code="property_type")
        unknown = sorted(set(method) - {"type", "new_total_amount"})
        if unknown:
            raise ApiError(400, "unsupported_properties", "unsupported properties", unknown)
        kind = method.get("type")
        if not isinstance(kind, str) or kind not in DISCOUNT_PAYMENT_TYPES or kind in seen:
            raise _invalid(f"{field}.type: a payment method type, once each")
        seen.add(kind)
        new_total = _amount(method.get("new_total_amount"), f"{field}.new_total_amount", amounts)
        if new_total >= total:
            raise _invalid(f"{field}.new_total_amount must be lower than total_amount")
        kept.append({"type": kind, "new_total_amount": method["new_total_amount"]})
    return {"payment_methods": kept}


def _mapping(value: object) -> dict:
    """``value`` if it is an object, else an empty one."""
    return value if isinstance(value, dict) else {}


def create(token: Token, body: dict) -> Order:
    """Create a QR order for the token's seller from an API body."""
    account, amounts = token.account, site(token.account.site_id)
    _check_fields(body)
    pos, mode = _pos_and_mode(account, body["config"])
    payment_amount = _payment_amount(body["transactions"], amounts)
    items, items_total = _items(body["items"], amounts) if "items" in body else ([], None)
    total = _total(body, payment_amount, items_total, amounts)
    expiration_time, expires_in, shown_for = _expiration(body, mode)
    integration_data, sponsor_id = _integration_data(token, body)
    fee = _marketplace_fee(token, body, total, amounts)
    discounts = _discounts(body, total, amounts)
    now = timezone.now()
    token_in_qr = ids.qr_token()
    order = Order.objects.create(
        api=Order.Api.V1,
        order_id=ids.order_id(),
        account=account,
        application=lifecycle.application_of(token),
        pos=pos,
        external_pos_id=pos.external_id,
        mode=mode,
        external_reference=body["external_reference"],
        description=body.get("description", ""),
        currency=amounts.currency,
        total_amount=total,
        marketplace_fee=fee,
        items=items,
        integration_data=integration_data,
        discounts=discounts,
        sponsor_id=sponsor_id,
        expiration_time=expiration_time,
        expires_at=now + expires_in,
        attached_until=now + shown_for if shown_for else None,
        qr_token=token_in_qr,
        qr_data=(
            render.order_qr_data(account, amounts, token_in_qr) if mode != Order.Mode.STATIC else ""
        ),
        created_at=now,
        updated_at=now,
    )
    Payment.objects.create(
        account=account,
        order=order,
        pos=pos,
        transaction_id=ids.payment_transaction_id(),
        external_reference=order.external_reference,
        currency=amounts.currency,
        amount=total,
        date_created=now,
        last_updated=now,
    )
    if mode != Order.Mode.DYNAMIC:
        lifecycle.attach(order)
    return order


def get(account: Account, order_id: str) -> Order:
    """The v1 order ``order_id`` of ``account``, expired first if its time has passed (and its
    refunds settled if theirs has)."""
    if not ids.is_order_id(order_id):
        message = "order_id must start with ORD followed by 26 characters"
        raise _invalid(message, code="invalid_path_param")
    lifecycle.expire_due(account)
    lifecycle.settle_due(account)
    order = Order.objects.filter(api=Order.Api.V1, account=account, order_id=order_id).first()
    if order is None:
        raise ApiError(404, "order_not_found", f"order {order_id} not found")
    return order


def cancel(account: Account, order_id: str) -> Order:
    """Cancel a created order (409 in any other state)."""
    try:
        return lifecycle.cancel(get(account, order_id))
    except lifecycle.NotAllowed as error:
        raise ApiError(409, "cannot_cancel_order", str(error)) from error


def _refund_amounts(body: dict, amounts: Site) -> dict[str, Decimal] | None:
    if not body:
        return None
    transactions = body.get("transactions")
    if set(body) != {"transactions"} or not isinstance(transactions, list) or not transactions:
        raise _invalid("a partial refund is {transactions: [{id, amount}]}")
    refunds: dict[str, Decimal] = {}
    for index, transaction in enumerate(transactions):
        pay_id = transaction.get("id") if isinstance(transaction, dict) else None
        if not isinstance(pay_id, str) or not _PAYMENT_ID.match(pay_id) or pay_id in refunds:
            raise _invalid(f"transactions[{index}].id must be a PAY id of the order")
        field = f"transactions[{index}].amount"
        refunds[pay_id] = _amount(transaction.get("amount"), field, amounts)
    return refunds


def refund(account: Account, order_id: str, body: dict) -> Order:
    """Refund a processed order: in full (empty body) or ``transactions: [{id, amount}]``."""
    order = get(account, order_id)
    amounts = _refund_amounts(body, site(account.site_id))
    try:
        return lifecycle.refund_order(order, amounts)
    except lifecycle.NotAllowed as error:
        raise ApiError(409, "cannot_refund_order", str(error)) from error
    except lifecycle.UnknownTransaction as error:
        raise ApiError(404, "transaction_not_found", f"not in the order: {error}") from error
    except lifecycle.AmountExceeds as error:
        raise ApiError(400, "refund_amount_exceeds", str(error)) from error


def _moment(value: str | None, name: str, end: bool = False) -> datetime:
    """A query's date-time; a bare date means its first (or, for ``end``, last) instant."""
    day = parse_date(value) if value else None
    if day is not None:
        moment = datetime.combine(day, datetime.max.time() if end else datetime.min.time())
    else:
        moment = parse_datetime(value) if value else None
    if moment is None:
        raise ApiError(400, "invalid_query_param", f"{name} is required (ISO 8601)", [name])
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def search(account: Account, params: dict) -> tuple[QuerySet[Order], dict]:
    """The orders matching a search and their ``paging`` (begin_date and end_date required)."""
    begin, end = (
        _moment(params.get("begin_date"), "begin_date"),
        _moment(params.get("end_date"), "end_date", end=True),
    )
    lifecycle.expire_due(account)
    found = Order.objects.filter(
        api=Order.Api.V1, account=account, created_at__gte=begin, created_at__lte=end
    ).order_by("created_at", "pk")
    for param in ("external_reference", "status"):
        if params.get(param):
            found = found.filter(**{param: params[param]})
    offset, limit = _paging(params)
    total = found.count()
    paging = {
        "total": total,
        "total_pages": ceil(total / limit),
        "offset": offset,
        "limit": limit,
    }
    return found[offset : offset + limit], paging


def _paging(params: dict) -> tuple[int, int]:
    """``(offset, limit)`` from ``offset``/``limit`` or the SDK's ``page``/``page_size``."""
    values = {}
    for name, default in (("offset", "0"), ("limit", "50"), ("page", "1"), ("page_size", "")):
        value = params.get(name, default)
        if value and not value.isdigit():
            raise ApiError(400, "invalid_query_param", f"{name} must be an integer", [name])
        values[name] = int(value) if value else None
    limit = values["page_size"] or values["limit"]
    if not 1 <= limit <= 100:
        raise ApiError(400, "invalid_query_param", "limit must be from 1 to 100", ["limit"])
    if values["page_size"]:
        return (max(values["page"], 1) - 1) * limit, limit
    return values["offset"], limit
