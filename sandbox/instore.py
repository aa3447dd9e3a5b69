"""The legacy in-store QR API (api.md §2): validation with its ``errorKey``s and the three ways
to create an order (dynamic ``POST …/qrs``, hybrid ``PUT …/qrs``, attended ``PUT …/orders``).

Choices where api.md is silent: an unknown POS is a 404 ``pos_not_found``; a ``user_id`` that
is numeric but not the token's seller is a 403 ``invalid_collectorId``; without an
``expiration_date`` an order does not expire; when ``cash_out`` comes with items,
``total_amount`` is the items' total plus the cash-out amount.
"""

import re
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from sandbox import ids, lifecycle, render
from sandbox.amounts import parse_number
from sandbox.errors import ApiError
from sandbox.models import Account, Order, PointOfSale, Token
from sandbox.sites import site

ITEM_TEXT_FIELDS = ("sku_number", "category", "title", "description", "unit_measure", "currency_id")
ITEM_NUMBER_FIELDS = ("quantity", "unit_price", "total_amount")
UNIT_MEASURES = {"unit", "pack"}
_EXTERNAL_REFERENCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _bad(code: str, message: str, status: int = 400) -> ApiError:
    return ApiError(status, code, message)


def point_of_sale(account: Account, user_id: str, external_pos_id: str) -> PointOfSale:
    """The POS a legacy path names, checking the collector and the external POS id."""
    if not user_id.isdigit():
        raise _bad("invalid_collectorId", "user_id must be numeric")
    if int(user_id) != account.user_id:
        raise _bad("invalid_collectorId", "user_id is not the token's user", status=403)
    if not external_pos_id:
        raise _bad("invalid_externalPosId", "external_pos_id is required")
    pos = PointOfSale.objects.filter(account=account, external_id=external_pos_id).first()
    if pos is None:
        raise _bad("pos_not_found", f"POS {external_pos_id} not found", status=404)
    return pos


def _item(index: int, item: object) -> tuple[dict, Decimal]:
    if not isinstance(item, dict):
        raise _bad("invalid_items", f"items[{index}] must be an object")
    for field in ITEM_TEXT_FIELDS:
        if field in item and not isinstance(item[field], str):
            raise _bad(f"invalid_items.{field}", f"items[{index}].{field} must be a string")
    numbers = {}
    for field in ITEM_NUMBER_FIELDS:
        if field in item:
            value = item[field]
            numbers[field] = parse_number(value)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _bad(f"invalid_items.{field}", f"items[{index}].{field} must be a number")
    required = {
        "title": "invalid_items.title",
        "unit_measure": "invalid_unit_measure",
        "quantity": "invalid_quantity",
        "unit_price": "invalid_unit_price",
        "total_amount": "invalid_items.total_amount",
    }
    for field, code in required.items():
        if field not in item:
            raise _bad(code, f"items[{index}].{field} is required")
    if item["unit_measure"] not in UNIT_MEASURES:
        raise _bad("invalid_unit_measure", f"items[{index}].unit_measure must be unit or pack")
    quantity, price, total = numbers["quantity"], numbers["unit_price"], numbers["total_amount"]
    if quantity is None or quantity <= 0 or quantity != quantity.to_integral_value():
        raise _bad("invalid_quantity", f"items[{index}].quantity must be a positive integer")
    if price is None or price <= 0:
        raise _bad("invalid_unit_price", f"items[{index}].unit_price: at most two decimals")
    if total is None or total != price * quantity:
        raise _bad(
            "invalid_items.total_amount", f"items[{index}].total_amount is not price x quantity"
        )
    return item, total


def _sponsor_id(body: dict) -> int | None:
    if "sponsor" not in body:
        return None
    sponsor = body["sponsor"]
    if not isinstance(sponsor, dict) or "id" not in sponsor:
        raise _bad("invalid_id", "sponsor.id is required")
    if isinstance(sponsor["id"], bool) or not isinstance(sponsor["id"], int):
        raise _bad("invalid_sponsor.id", "sponsor.id must be a number")
    return sponsor["id"]


def _cash_out(body: dict) -> Decimal | None:
    if "cash_out" not in body:
        return None
    cash_out = body["cash_out"]
    if not isinstance(cash_out, dict) or "amount" not in cash_out:
        raise _bad("invalid_amount", "cash_out.amount is required")
    amount = parse_number(cash_out["amount"])
    if amount is None or amount <= 0:
        raise _bad("invalid_cash_out.amount", "cash_out.amount must be a positive number")
    return amount


def _expiration_date(body: dict) -> datetime | None:
    if "expiration_date" not in body:
        return None
    try:
        moment = datetime.fromisoformat(body["expiration_date"])
    except (TypeError, ValueError) as error:
        raise _bad("invalid_expiration_date", "expiration_date is not valid") from error
    if timezone.is_naive(moment) or moment <= timezone.now():
        raise _bad("invalid_expiration_date", "expiration_date must be in the future, with offset")
    return moment


def _notification_url(body: dict) -> str:
    url = body.get("notification_url", "")
    try:
        URLValidator(schemes=["http", "https"])(url)
        if len(url) > Order._meta.get_field("notification_url").max_length:
            raise ValidationError("too long")
    except ValidationError as error:
        if "notification_url" in body:
            raise _bad("invalid_notification_url", "notification_url is not a URL") from error
        return ""
    return url


def _validated(token: Token, body: dict, *, title_required: bool) -> dict:
    """The fields of a legacy order body, checked as Mercado Pago checks them."""
    reference = body.get("external_reference")
    if not isinstance(reference, str) or not _EXTERNAL_REFERENCE.match(reference):
        raise _bad("invalid_external_reference", "external_reference: up to 64 of [A-Za-z0-9_-]")
    if "total_amount" not in body:
        raise _bad("invalid_total_amount", "total_amount is required")
    total = parse_number(body["total_amount"])
    if total is None or total <= 0:
        raise _bad("invalid_total_amount", "total_amount: a positive number, two decimals at most")
    if ("title" in body or title_required) and not isinstance(body.get("title"), str):
        raise _bad("invalid_title", "title must be a string")
    if "description" in body and not isinstance(body["description"], str):
        raise _bad("invalid_description", "description must be a string")
    items = body.get("items", [])
    if not isinstance(items, list):
        raise _bad("invalid_items", "items must be a list")
    checked = [_item(index, item) for index, item in enumerate(items)]
    cash_out = _cash_out(body)
    if not checked and cash_out is None:
        raise _bad("error_creating_seller_qr_order", "an order needs items or a cash_out")
    items_total = sum((total for _item_, total in checked), Decimal(0)) + (cash_out or 0)
    if checked and items_total != total:
        raise _bad("invalid_total_amount", "total_amount is not the sum of the items")
    fee = None
    if "marketplace_fee" in body:
        if not token.via_oauth:
            raise _bad("marketplace_not_valid", "marketplace_fee needs an OAuth token")
        fee = parse_number(body["marketplace_fee"])
        if fee is None or fee < 0 or fee > total:
            raise _bad("invalid_marketplace_fee", "marketplace_fee: a number up to total_amount")
    return {
        "external_reference": reference,
        "title": body.get("title", ""),
        "description": body.get("description", ""),
        "total_amount": total,
        "items": items,
        "taxes": body.get("taxes", []),
        "cash_out_amount": cash_out,
        "marketplace_fee": fee,
        "sponsor_id": _sponsor_id(body),
        "notification_url": _notification_url(body),
        "expiration_date": _expiration_date(body),
    }


def create(token: Token, pos: PointOfSale, body: dict, mode: str) -> Order:
    """A legacy order on ``pos``: dynamic (not on the POS), hybrid or static (shown by it).

    A PUT (hybrid, static) that repeats the order the POS shows now leaves that order in place:
    creating or replacing what a POS shows is idempotent, so a retried PUT makes no second one,
    even while the first is still being handled (PUTs to one POS take turns).
    """
    fields = _validated(token, body, title_required=mode == Order.Mode.STATIC)
    if mode == Order.Mode.DYNAMIC:
        return _create(token, pos, fields, mode)
    with transaction.atomic():
        PointOfSale.objects.select_for_update().filter(pk=pos.pk).exists()
        shown = lifecycle.shown_by(pos)
        if shown is not None and _same_order(shown, mode, fields):
            return shown
        return _create(token, pos, fields, mode)


def _create(token: Token, pos: PointOfSale, fields: dict, mode: str) -> Order:
    account, amounts = token.account, site(token.account.site_id)
    now = timezone.now()
    token_in_qr = ids.qr_token()
    qr_data = ""
    if mode != Order.Mode.STATIC:
        qr_data = render.order_qr_data(account, amounts, token_in_qr)
    order = Order.objects.create(
        api=Order.Api.INSTORE,
        order_id=ids.in_store_order_id(),
        account=account,
        application=lifecycle.application_of(token),
        pos=pos,
        external_pos_id=pos.external_id,
        mode=mode,
        currency=amounts.currency,
        expires_at=fields["expiration_date"],
        qr_token=token_in_qr,
        qr_data=qr_data,
        created_at=now,
        updated_at=now,
        **fields,
    )
    if mode != Order.Mode.DYNAMIC:
        lifecycle.attach(order)
    return order


def _same_order(order: Order, mode: str, fields: dict) -> bool:
    if order.api != Order.Api.INSTORE or order.mode != mode:
        return False
    return all(getattr(order, name) == value for name, value in fields.items())


def store_pos(account: Account, user_id: str, external_store_id: str, external_pos_id: str):
    """The POS of the attended path, which must belong to the store ``external_store_id``."""
    pos = point_of_sale(account, user_id, external_pos_id)
    if pos.store.external_id != external_store_id:
        message = f"POS {external_pos_id} is not in store {external_store_id}"
        raise _bad("pos_not_found", message, status=404)
    return pos


def shown_order(pos: PointOfSale) -> Order:
    """The legacy order ``pos`` shows now; 404 ``point_of_sale_in_store_order_not_found``."""
    order = lifecycle.shown_by(pos)
    if order is None or order.api != Order.Api.INSTORE:
        raise _bad("point_of_sale_in_store_order_not_found", "no order on this POS", 404)
    return order
