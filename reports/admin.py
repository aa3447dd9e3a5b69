"""The admin of Mercado Pago's reports: each seller's owners and managers (who handle its money)
see its downloaded reports and the mismatches matching found, open ones first, and ask for a
refresh from Mercado Pago; platform staff see every seller's. Only services write these rows."""

from django.contrib import admin, messages
from django.db.models import Count, F, Q, Value
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from merchant_platform.money import format_money, locale_for_request
from mpapi import MercadoPagoError
from orders.errors import OrderError
from reports import services
from reports.models import Mismatch, ReportFile
from tenants.admin_mixins import ReadOnly, TenantOwnedAdmin
from tenants.roles import Capability
from tenants.services import NotConnected

# Reports show the seller's money: members who may refund (owners and managers) see them.
SEES_MONEY = Capability.REFUND_ORDERS


class MoneyAdmin(ReadOnly, TenantOwnedAdmin):
    """Read-only, for platform staff and the members who handle the seller's money."""

    def has_module_permission(self, request):
        if self._is_platform_staff(request):
            return super().has_module_permission(request)
        return self._member_can(request, SEES_MONEY)

    def has_view_permission(self, request, obj=None):
        if self._is_platform_staff(request):
            return super().has_view_permission(request, obj)
        return self._member_can(request, SEES_MONEY, obj)


@admin.register(ReportFile)
class ReportFileAdmin(MoneyAdmin):
    list_display = [
        "__str__",
        "kind",
        "begin_date",
        "end_date",
        "status",
        "line_count",
        "open_mismatches",
        "downloaded_at",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["file_name"]
    fields = readonly_fields = [
        "kind",
        "file_name",
        "mp_report_id",
        "begin_date",
        "end_date",
        "status",
        "line_count",
        "open_mismatches",
        "error",
        "requested_at",
        "downloaded_at",
        "matched_at",
    ]

    def get_queryset(self, request):
        open_ones = Count("mismatches", filter=Q(mismatches__resolved_at__isnull=True))
        return super().get_queryset(request).annotate(open_count=open_ones)

    @admin.display(description=_("open mismatches"), ordering="open_count")
    def open_mismatches(self, report: ReportFile) -> str:
        if not report.open_count:
            return "0"
        url = reverse("admin:reports_mismatch_changelist") + f"?report__id__exact={report.pk}"
        return format_html('<a href="{}">{}</a>', url, report.open_count)


class OpenFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", _("Open")), ("no", _("Resolved"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(resolved_at__isnull=self.value() == "yes")
        return queryset


@admin.register(Mismatch)
class MismatchAdmin(MoneyAdmin):
    """Mismatches: open ones first, newest first."""

    list_display = [
        "kind",
        "field",
        "order_link",
        "expected_shown",
        "found_shown",
        "report",
        "found_at",
        "resolved_at",
        "resolution",
    ]
    list_filter = [OpenFilter, "kind", "field", "resolution"]
    search_fields = ["order__external_reference", "line__source_id", "payment__reference_id"]
    ordering = [F("resolved_at").desc(nulls_first=True), "-found_at", "-pk"]
    actions = ["refresh"]
    fields = readonly_fields = [
        "kind",
        "field",
        "report",
        "line_shown",
        "order_link",
        "payment",
        "refund",
        "expected_shown",
        "found_shown",
        "found_at",
        "resolved_at",
        "resolution",
    ]

    def get_queryset(self, request):
        rows = super().get_queryset(request).select_related("tenant", "order", "report", "line")
        return rows.annotate(money_locale=Value(locale_for_request(request)))

    @admin.display(description=_("order"), ordering="order__external_reference")
    def order_link(self, mismatch: Mismatch) -> str:
        if mismatch.order is None:
            return "—"
        url = reverse("admin:orders_order_change", args=[mismatch.order.pk])
        return format_html('<a href="{}">{}</a>', url, mismatch.order.external_reference)

    def _money(self, mismatch: Mismatch, amount) -> str:
        if amount is None:
            return "—"
        return format_money(amount, mismatch.currency, mismatch.money_locale)

    @admin.display(description=_("here"), ordering="expected")
    def expected_shown(self, mismatch: Mismatch) -> str:
        return self._money(mismatch, mismatch.expected)

    @admin.display(description=_("in the report"), ordering="found")
    def found_shown(self, mismatch: Mismatch) -> str:
        return self._money(mismatch, mismatch.found)

    @admin.display(description=_("report line"))
    def line_shown(self, mismatch: Mismatch) -> str:
        line = mismatch.line
        if line is None:
            return "—"
        return format_html(
            "#{} {} {} {}", line.number, line.kind, line.source_id, line.external_reference
        )

    def has_refresh_permission(self, request, obj=None) -> bool:
        if self._is_platform_staff(request):
            return request.user.has_perm("reports.view_mismatch")
        return self._member_can(request, SEES_MONEY, obj)

    @admin.action(description=_("Refresh from Mercado Pago"), permissions=["refresh"])
    def refresh(self, request, queryset):
        resolved = still = 0
        for mismatch in queryset.filter(resolved_at__isnull=True).select_related("tenant"):
            try:
                gone = services.resolve_by_refresh(mismatch.tenant, mismatch)
            except (NotConnected, MercadoPagoError, OrderError) as error:
                self.message_user(request, getattr(error, "message", str(error)), messages.ERROR)
                continue
            resolved, still = resolved + gone, still + (not gone)
        if resolved:
            message = ngettext(
                "%(n)d mismatch resolved by the refresh.",
                "%(n)d mismatches resolved by the refresh.",
                resolved,
            )
            self.message_user(request, message % {"n": resolved}, messages.SUCCESS)
        if still:
            message = ngettext(
                "%(n)d mismatch is still there: see docs on reconciliation for what to do.",
                "%(n)d mismatches are still there: see docs on reconciliation for what to do.",
                still,
            )
            self.message_user(request, message % {"n": still}, messages.WARNING)
        if not resolved and not still:
            self.message_user(request, gettext("No open mismatch selected."), messages.WARNING)
