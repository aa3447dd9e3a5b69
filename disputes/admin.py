"""The admin of disputes: each seller's members see its chargebacks, read-only (only Mercado Pago
changes them), the documentation deadline first; an order's page shows its disputes inline."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.db.models import Value
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from disputes.models import Dispute
from merchant_platform.money import format_money, locale_for_request
from tenants.admin_mixins import ReadOnly, ReadOnlyInline, TenantOwnedAdmin
from tenants.sites import SITES

SOON = timedelta(days=3)  # an open dispute's deadline this close is shown as urgent


def _in_sellers_zone(moment: datetime, dispute: Dispute) -> str:
    local = timezone.localtime(moment, ZoneInfo(SITES[dispute.tenant.site].time_zone))
    return date_format(local, "DATETIME_FORMAT")


def deadline_badge(dispute: Dispute, now: datetime | None = None) -> str:
    """The documentation deadline in the seller's time zone, with the days left while open."""
    if dispute.deadline is None:
        return "—"
    shown = _in_sellers_zone(dispute.deadline, dispute)
    if not dispute.is_open:
        return format_html('<span class="dispute-deadline">{}</span>', shown)
    left = dispute.deadline - (now or timezone.now())
    if left <= timedelta(0):
        return format_html(
            '<span class="dispute-deadline dispute-deadline-passed">{} ({})</span>',
            shown,
            gettext("passed"),
        )
    days = left.days
    words = ngettext("%(days)d day left", "%(days)d days left", days) % {"days": days}
    if days == 0:
        words = gettext("less than a day left")
    urgency = " dispute-deadline-soon" if left <= SOON else ""
    return format_html(
        '<span class="dispute-deadline dispute-deadline-open{}">{} ({})</span>',
        urgency,
        shown,
        words,
    )


def outcome(dispute: Dispute) -> str:
    if dispute.is_open:
        return gettext("Open: send the sale's documentation before the deadline")
    if dispute.coverage_applied:
        return gettext("Closed in your favor: you keep the money")
    return gettext("Closed in the buyer's favor")


class DisputeDisplay:
    """Display methods shared by the list and the order's inline (rows carry ``money_locale``)."""

    @admin.display(description=_("documentation deadline"), ordering="deadline")
    def deadline_shown(self, dispute: Dispute) -> str:
        return deadline_badge(dispute)

    @admin.display(description=_("amount"), ordering="amount")
    def amount_shown(self, dispute: Dispute) -> str:
        return format_money(dispute.amount, dispute.currency, dispute.money_locale)

    @admin.display(description=_("outcome"))
    def outcome_shown(self, dispute: Dispute) -> str:
        return outcome(dispute)


@admin.register(Dispute)
class DisputeAdmin(DisputeDisplay, ReadOnly, TenantOwnedAdmin):
    """Disputes: open ones first, the nearest deadline first."""

    list_display = [
        "deadline_shown",
        "mp_chargeback_id",
        "status",
        "amount_shown",
        "order_link",
        "outcome_shown",
    ]
    list_display_links = ["mp_chargeback_id"]
    list_filter = ["status", "documentation_required", "coverage_applied"]
    search_fields = ["mp_chargeback_id", "mp_payment_id", "order__external_reference"]
    ordering = ["-status", "deadline", "-pk"]  # "opened" sorts after "closed": open ones first
    fields = readonly_fields = [
        "mp_chargeback_id",
        "status",
        "outcome_shown",
        "deadline_shown",
        "amount_shown",
        "order_link",
        "payment",
        "mp_payment_id",
        "documentation_required",
        "documentation_status",
        "coverage_applied",
        "mp_created_at",
        "mp_last_updated",
        "created_at",
        "updated_at",
    ]

    class Media:
        css = {"all": ["disputes/dispute-admin.css"]}

    def get_queryset(self, request):
        rows = super().get_queryset(request).select_related("tenant", "order", "payment")
        return rows.annotate(money_locale=Value(locale_for_request(request)))

    @admin.display(description=_("order"), ordering="order__external_reference")
    def order_link(self, dispute: Dispute) -> str:
        if dispute.order is None:
            return "—"
        url = reverse("admin:orders_order_change", args=[dispute.order.pk])
        return format_html('<a href="{}">{}</a>', url, dispute.order.external_reference)


class DisputeInline(DisputeDisplay, ReadOnlyInline):
    """An order's disputes, on its admin page."""

    model = Dispute
    fk_name = "order"
    verbose_name_plural = _("disputes (chargebacks)")
    fields = ["mp_chargeback_id", "status", "deadline_shown", "amount_shown", "outcome_shown"]

    class Media:
        css = {"all": ["disputes/dispute-admin.css"]}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("tenant")
            .annotate(money_locale=Value(locale_for_request(request)))
        )
