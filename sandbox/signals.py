"""Signal receivers, connected when ``SandboxConfig.ready`` imports this module."""

from functools import partial

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from sandbox.models import Event
from sandbox.tasks import deliver_event


@receiver(post_save, sender=Event, dispatch_uid="sandbox.deliver_new_event")
def deliver_new_event(sender, instance: Event, created: bool, raw: bool = False, **kwargs) -> None:
    """Send a new event once the transaction that wrote it commits.

    A failed delivery never fails that transaction's request: errors are logged (``robust``).
    """
    if created and not raw:
        transaction.on_commit(partial(deliver_event.delay, instance.pk), robust=True)
