"""Order events for partners' webhooks, from the orders app's status signal."""

from django.dispatch import receiver

from orders.models import Order, Status
from orders.transitions import status_changed
from partners import webhooks
from partners.models import EventType

ORDER_EVENTS = {
    Status.CREATED: EventType.ORDER_CREATED,
    Status.PROCESSED: EventType.ORDER_PROCESSED,
    Status.CANCELED: EventType.ORDER_CANCELED,
    Status.EXPIRED: EventType.ORDER_EXPIRED,
    Status.REFUNDED: EventType.ORDER_REFUNDED,
}


@receiver(status_changed, dispatch_uid="partners.emit_order_event")
def emit_order_event(sender, order: Order, previous: str, **kwargs) -> None:
    """Write the event of an order's new status for the subscribed endpoints, in the transaction
    of the change (``pending`` and ``failed`` have none): an error here rolls the change back."""
    event_type = ORDER_EVENTS.get(order.status)
    if event_type is not None:
        webhooks.emit_order_event(tenant=order.tenant, order=order, event_type=event_type)
