"""Reads about orders for pages outside the admin: what a POS's display page shows."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from orders.models import OPEN_STATUSES, Order, Status
from pos.models import PointOfSale

# How long a paid, expired or canceled order stays on the display before it turns idle.
SHOWN_AFTER_CLOSE = timedelta(seconds=30)
CLOSED_STATES = {Status.PROCESSED: "paid", Status.EXPIRED: "expired", Status.CANCELED: "canceled"}


@dataclass(frozen=True)
class DisplayState:
    """What a display shows: ``idle``, ``open``, ``paid``, ``expired`` or ``canceled``, and the
    order it is about (None when idle)."""

    state: str
    order: Order | None = None


def display_state(pos: PointOfSale) -> DisplayState:
    """The state of ``pos``'s display now (call it inside ``pos.tenant``'s scope).

    The newest open order of the POS is shown; without one, the order that closed last is shown
    as paid, expired or canceled for ``SHOWN_AFTER_CLOSE``; otherwise the display is idle.
    """
    orders = Order.objects.filter(pos=pos).prefetch_related("items").select_related("pos")
    order = orders.filter(status__in=OPEN_STATUSES).first()
    if order is not None:
        return DisplayState("open", order)
    order = (
        orders.filter(status__in=CLOSED_STATES, closed_at__gte=timezone.now() - SHOWN_AFTER_CLOSE)
        .order_by("-closed_at", "-pk")
        .first()
    )
    if order is not None:
        return DisplayState(CLOSED_STATES[order.status], order)
    return DisplayState("idle")
