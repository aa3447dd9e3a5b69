"""The owner's first steps, read from the seller's data: "Get ready to take payments".

Five steps, each ticked by what the seller has done (a few ``exists()`` queries), each linking
to the page where it is done: connect Mercado Pago, create a store, create a point of sale,
print its sticker, take a test payment. The admin's index shows it to members who manage the
Mercado Pago connection (``tenants.templatetags.checklist``).
"""

from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from orders.models import Order, Status
from pos.models import PointOfSale, Store
from tenants.models import MercadoPagoCredential, Tenant
from tenants.scope import tenant_scope

PAID = (Status.PROCESSED, Status.REFUNDED)


@dataclass(frozen=True)
class Step:
    key: str
    title: Promise
    done: bool
    url: str = ""  # "" while there is nowhere to do it yet
    hint: Promise | str = ""  # why there is no link yet


@dataclass(frozen=True)
class Checklist:
    steps: tuple[Step, ...]

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def complete(self) -> bool:
        return self.done_count == self.total

    @property
    def next_step(self) -> Step | None:
        """The first step not done: the one to do now."""
        return next((step for step in self.steps if not step.done), None)


def setup_checklist(tenant: Tenant) -> Checklist:
    """Where ``tenant`` stands on its way to its first payment."""
    with tenant_scope(tenant):
        connected = (
            MercadoPagoCredential.objects.filter(status=MercadoPagoCredential.Status.CONNECTED)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
            .exists()
        )
        has_store = Store.objects.exists()
        sticker_pos = (
            PointOfSale.objects.exclude(qr_code="").order_by("pk").values_list("pk", flat=True)
        ).first()
        has_pos = sticker_pos is not None or PointOfSale.objects.exists()
        sticker_printed = PointOfSale.objects.filter(sticker_printed_at__isnull=False).exists()
        paid = Order.objects.filter(status__in=PAID).exists()
    sticker_hint = ""
    if sticker_pos is None:
        sticker_hint = (
            _("Once a point of sale is synced with Mercado Pago, its sticker can be printed.")
            if has_pos
            else _("Create a point of sale first.")
        )
    return Checklist(
        (
            Step("connect", _("Connect Mercado Pago"), connected, reverse("tenants:mercadopago")),
            Step("store", _("Create a store"), has_store, reverse("admin:pos_store_add")),
            Step(
                "pos",
                _("Create a point of sale"),
                has_pos,
                reverse("admin:pos_pointofsale_add"),
            ),
            Step(
                "sticker",
                _("Print the sticker"),
                sticker_printed,
                reverse("pos:sticker", args=[sticker_pos]) if sticker_pos is not None else "",
                sticker_hint,
            ),
            Step("payment", _("Take a test payment"), paid, reverse("cashier:page")),
        )
    )
