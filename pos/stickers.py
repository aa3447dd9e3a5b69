"""The POS's printable sticker: when a member of the seller first opened it (the owner's first
steps, ``tenants.checklist``, tick "Print the sticker" from it)."""

from django.utils import timezone

from pos.models import PointOfSale
from tenants.models import Tenant
from tenants.scope import tenant_scope


def record_sticker_opened(*, tenant: Tenant, pos: PointOfSale) -> None:
    """Note the first time ``tenant``'s ``pos`` sticker page is opened; later times change
    nothing (one conditional ``UPDATE``)."""
    if pos.sticker_printed_at is not None:
        return
    with tenant_scope(tenant):
        PointOfSale.objects.filter(pk=pos.pk, sticker_printed_at__isnull=True).update(
            sticker_printed_at=timezone.now()
        )
