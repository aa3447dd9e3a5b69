"""Partners' events from the other apps' signals (an order's status, a refund's, a store or POS
sync failing, the seller's Mercado Pago connection); an app's deletion."""

from django.db.models.signals import pre_delete
from django.dispatch import receiver
from oauth2_provider.models import get_application_model

from orders.models import Order, Refund, Status
from orders.transitions import refund_changed, status_changed
from partners import services, webhooks
from partners.models import EventType
from pos.models import PointOfSale, Store
from pos.services import sync_failed
from tenants.models import Tenant
from tenants.signals import connection_changed

Application = get_application_model()

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


@receiver(refund_changed, dispatch_uid="partners.emit_refund_events")
def emit_refund_events(
    sender, refund: Refund, order: Order, previous: str | None, **kwargs
) -> None:
    """Write the events of a refund recorded (``refund.created``) or settled
    (``refund.succeeded``, ``refund.failed``) in the transaction of the change; a refund
    processed that leaves the order not wholly refunded also writes ``order.partially_refunded``
    (a whole one is ``order.refunded``, from the order's status)."""
    event_types = []
    if previous is None:
        event_types.append(EventType.REFUND_CREATED)
    if refund.status == Refund.Status.PROCESSED:
        event_types.append(EventType.REFUND_SUCCEEDED)
        if order.status != Status.REFUNDED:
            event_types.append(EventType.ORDER_PARTIALLY_REFUNDED)
    elif refund.status == Refund.Status.FAILED:
        event_types.append(EventType.REFUND_FAILED)
    webhooks.emit_refund_events(
        tenant=order.tenant, refund=refund, order=order, event_types=event_types
    )


@receiver(sync_failed, dispatch_uid="partners.emit_sync_failed")
def emit_sync_failed(sender, row: Store | PointOfSale, **kwargs) -> None:
    """Write ``store.sync_failed`` or ``pos.sync_failed``, in the transaction of the change."""
    webhooks.emit_sync_failed(tenant=row.tenant, row=row)


@receiver(connection_changed, dispatch_uid="partners.emit_connection_changed")
def emit_connection_changed(sender, tenant: Tenant, previous: str, **kwargs) -> None:
    """Write ``seller.connection_changed``, in the transaction of the change."""
    webhooks.emit_connection_changed(tenant=tenant, previous=previous)


@receiver(pre_delete, sender=Application, dispatch_uid="partners.forget_application")
def forget_deleted_application(sender, instance: Application, **kwargs) -> None:
    """A deleted app (admin or code) loses every seller as a revocation would: its endpoints are
    deactivated and their pending deliveries canceled; its tokens answer ``token_revoked``."""
    services.forget_application(application=instance)
