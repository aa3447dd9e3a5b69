"""Finding in Mercado Pago an Orders API order whose create answer never came.

A create that got no answer (a timeout, a lost connection, a process killed mid-call) may still
have made the order in Mercado Pago, and a buyer may pay it (at the POS's printed QR) while the
local order waits ``pending`` with no Mercado Pago id. Before such an order is sent again, or
failed because its expiry passed or a newer order took its POS, Mercado Pago's order search
(``GET /v1/orders``) is asked for it by ``external_reference``, between the order's creation
here and now: found, the local order adopts it (its id and its state, created or already paid);
not found, the existing rules go on (sent again with its key within its time, else failed).

This is the Orders API's counterpart of the legacy API's reconciliation, which finds orders by
the merchant orders of their reference (``remote.instore_state``).
"""

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from mpapi import APIError, RateLimited, ServerError, TransportFailure, UnexpectedResponse
from mpapi import orders as v1
from orders import remote, transitions
from orders.errors import MercadoPagoUnavailable
from orders.models import Api, Order, Status
from tenants.models import Tenant
from tenants.scope import tenant_scope
from tenants.services import NotConnected

# Clocks here and at Mercado Pago differ: the search window is widened by this on each side.
CLOCK_MARGIN = timedelta(minutes=10)
CREATE_PATH = "/v1/orders"


def may_have_been_made(order: Order) -> bool:
    """Whether ``order`` is a pending Orders API order that Mercado Pago may hold although no
    answer said so: a create attempt of it got no answer, or none was recorded (its sender died
    before saving them). One whose every attempt was answered (5xx, 429) was not made."""
    if order.api != Api.V1 or order.status != Status.PENDING or order.mp_order_id:
        return False
    attempts = order.calls.filter(method="POST", path=CREATE_PATH)
    return not attempts.exists() or attempts.filter(status__isnull=True).exists()


def adopt_unanswered_create(*, tenant: Tenant, order: Order) -> Order | None:
    """``order`` brought up to date with the Mercado Pago order its unanswered create made, found
    by search; None when it may not have been made, or Mercado Pago has no such order (or does
    not offer the search). Raises ``MercadoPagoUnavailable`` when the search gets no answer: the
    order then stays pending, neither sent again nor failed."""
    with tenant_scope(tenant):
        if not may_have_been_made(order):
            return None
        try:
            with remote.seller_client(tenant, order) as seller:
                found = _made_order(seller, order, timezone.now())
                if found is None:
                    return None
                state = remote.with_approval_times(seller, remote.v1_state(found), set())
        except NotConnected:
            return None  # sending it again says so
        except (ServerError, RateLimited, TransportFailure, UnexpectedResponse) as error:
            raise MercadoPagoUnavailable(
                _("Mercado Pago did not answer; the order is pending and will be sent again.")
            ) from error
        except APIError:
            return None
        Order.objects.filter(pk=order.pk).update(error_code="", error_message="")
        return transitions.apply(order, state)


def _made_order(seller: remote.Seller, order: Order, now: datetime) -> v1.Order | None:
    """The first Mercado Pago order of ``order``'s reference, POS and total made since it was
    saved here, and not already another local order's."""
    page = seller.mp.search_orders(
        seller.token,
        begin_date=order.created_at - CLOCK_MARGIN,
        end_date=now + CLOCK_MARGIN,
        external_reference=order.external_reference,
    )
    matching = [
        found
        for found in page.results
        if found.external_reference == order.external_reference
        and found.external_pos_id == order.pos.external_id
        and found.total_amount == order.total_amount
        and not Order.objects.filter(mp_order_id=found.id).exists()
    ]
    return min(matching, key=lambda found: found.created_date or now, default=None)
