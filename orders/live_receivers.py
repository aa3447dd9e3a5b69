"""Publishes each order change to the live pages (``orders.live``) once it is committed, with no
query: the display's state as the changed order makes it (``display.pushed_state``) and the
order's status."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from orders import live
from orders.display import pushed_state
from orders.models import Order
from orders.transitions import status_changed


def publish_order(order: Order) -> None:
    """Publish what the display of ``order``'s POS turns to and ``order``'s status."""
    live.publish(
        {
            live.display_channel(order.pos_id): pushed_state(order),
            live.order_channel(order.uid): {"status": order.status},
        }
    )


def _publish_on_commit(order: Order) -> None:
    if live.enabled():
        transaction.on_commit(lambda: publish_order(order), robust=True)


@receiver(status_changed, dispatch_uid="orders.live.status_changed")
def _status_changed(sender, order: Order, **kwargs) -> None:
    _publish_on_commit(order)


@receiver(post_save, sender=Order, dispatch_uid="orders.live.order_created")
def _order_created(sender, instance: Order, created: bool, **kwargs) -> None:
    if created:
        _publish_on_commit(instance)
