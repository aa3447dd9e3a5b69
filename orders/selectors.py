"""Reads about orders for pages outside the admin: what a POS's display page shows, and the
orders of a POS's day on the cashier page."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from orders import services
from orders.models import OPEN_STATUSES, Order, Status
from pos.models import PointOfSale

CLOSED_STATES = {Status.PROCESSED: "paid", Status.EXPIRED: "expired", Status.CANCELED: "canceled"}


@dataclass(frozen=True)
class DisplayState:
    """What a display shows: ``idle``, ``open``, ``paid``, ``expired`` or ``canceled``, and the
    order it is about (None when idle)."""

    state: str
    order: Order | None = None


def display_state(pos: PointOfSale) -> DisplayState:
    """The state of ``pos``'s display now (call it inside ``pos.tenant``'s scope).

    Only the newest order of the POS is ever shown, so the display never turns from one buyer's
    order to an older one still open: open, it is shown with its QR; paid, expired or canceled,
    its final state stays for ``DISPLAY_FINAL_STATE_SECONDS``; after that, or when it failed
    (the buyer never got a QR), the display is idle. An open order past its expiry is
    expired on this read (``services.expire_if_overdue``).
    """
    order = _newest_order(pos)
    if order is not None and services.expire_if_overdue(tenant=pos.tenant, order=order):
        order = _newest_order(pos)
    if order is None:
        return DisplayState("idle")
    if order.status in OPEN_STATUSES:
        return DisplayState("open", order)
    shown_since = timezone.now() - timedelta(seconds=settings.DISPLAY_FINAL_STATE_SECONDS)
    if order.status in CLOSED_STATES and order.closed_at and order.closed_at >= shown_since:
        return DisplayState(CLOSED_STATES[order.status], order)
    return DisplayState("idle")


def _newest_order(pos: PointOfSale) -> Order | None:
    return Order.objects.filter(pos=pos).prefetch_related("items").select_related("pos").first()


def orders_of_pos_between(pos: PointOfSale, start: datetime, end: datetime) -> QuerySet[Order]:
    """The orders created on ``pos`` in [``start``, ``end``), newest first (call it inside
    ``pos.tenant``'s scope): the cashier page's list of the day's sales."""
    return Order.objects.filter(pos=pos, created_at__gte=start, created_at__lt=end).order_by(
        "-created_at", "-pk"
    )
