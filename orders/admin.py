"""The admin of orders and of Mercado Pago's notification inbox.

Orders are tenant-owned (``TenantOwnedAdmin``): members see their seller's orders, with the
items, the QR, payments, refunds, Mercado Pago calls and notifications of each, and may cancel,
refresh and refund them as their role allows (through the order services only). The inbox is
platform-owned: platform staff see every row; a member sees the rows that processing attributed
to their seller. Nobody adds, edits or deletes either here; notifications can be replayed.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from orders import notifications, services
from orders.errors import InvalidOrder, OrderError
from orders.models import (
    MercadoPagoCall,
    Notification,
    Order,
    OrderItem,
    Payment,
    Refund,
    Status,
)
from pos.models import PointOfSale
from tenants.admin_mixins import ReadOnly, ReadOnlyInline, TenantAdminMixin, TenantOwnedAdmin
from tenants.admin_pagination import EstimatedCountPaginator
from tenants.roles import Capability


def _pretty_json(value) -> str:
    if value in (None, "", {}, []):
        return "—"
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = ["position", "title", "sku", "unit_price", "quantity", "unit_measure"]


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = [
        "mp_payment_id",
        "reference_id",
        "status",
        "status_detail",
        "amount",
        "paid_amount",
        "refunded_amount",
        "payment_method_id",
        "approved_at",
    ]


class RefundInline(ReadOnlyInline):
    model = Refund
    fk_name = "order"
    fields = ["payment", "amount", "status", "mp_refund_id", "error_code", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payment")


class MercadoPagoCallInline(ReadOnlyInline):
    model = MercadoPagoCall
    verbose_name_plural = "Mercado Pago calls"
    fields = [
        "created_at",
        "method",
        "path",
        "attempt",
        "status",
        "error",
        "duration_ms",
        "request_json",
        "response_json",
    ]
    ordering = ["created_at", "pk"]

    @admin.display(description="request body (redacted)")
    def request_json(self, call: MercadoPagoCall) -> str:
        return _pretty_json(call.request_body)

    @admin.display(description="response body (redacted)")
    def response_json(self, call: MercadoPagoCall) -> str:
        return _pretty_json(call.response_body)


class NotificationInline(ReadOnlyInline):
    model = Notification
    verbose_name_plural = "Mercado Pago notifications"
    fields = ["received", "kind", "topic", "action", "version", "status", "detail", "attempts"]
    ordering = ["received_at", "pk"]

    @admin.display(description="received")
    def received(self, notification: Notification) -> str:
        url = reverse("admin:orders_notification_change", args=[notification.pk])
        return format_html('<a href="{}">{:%Y-%m-%d %H:%M:%S}</a>', url, notification.received_at)


ORDER_FIELDS = [
    "uid",
    "external_reference",
    "title",
    "description",
    "pos",
    "api",
    "mode",
    "status",
    "status_detail",
    "error_code",
    "error_message",
    "currency",
    "total_amount",
    "cash_out_amount",
    "marketplace_fee",
    "taxes",
    "sponsor_id",
    "mp_order_id",
    "qr_data",
    "qr_preview",
    "expires_at",
    "expiration_seconds",
    "created_at",
    "updated_at",
    "paid_at",
    "closed_at",
    "mp_last_updated",
]


BADGE_COLORS = {
    Status.PENDING: "#6c757d",
    Status.FAILED: "#dc3545",
    Status.CREATED: "#0d6efd",
    Status.PROCESSED: "#198754",
    Status.CANCELED: "#495057",
    Status.EXPIRED: "#adb5bd",
    Status.REFUNDED: "#fd7e14",
}


def _points_of_listed_orders(request, model_admin) -> list[PointOfSale]:
    """The POS of the listed orders with their stores, read once for both filters that show them
    (Django's ``RelatedOnlyFieldListFilter`` of the stores joins every order to its POS instead:
    160 ms for a seller with 100,000 orders)."""
    if not hasattr(request, "_points_of_listed_orders"):
        used = model_admin.get_queryset(request).values("pos")
        points = PointOfSale.objects.filter(pk__in=used).select_related("store")
        request._points_of_listed_orders = list(points.order_by("store__name", "name"))
    return request._points_of_listed_orders


class PointOfSaleFilter(admin.RelatedOnlyFieldListFilter):
    """The POS of the listed orders (their names show their stores)."""

    def field_choices(self, field, request, model_admin):
        return [(point.pk, str(point)) for point in _points_of_listed_orders(request, model_admin)]


class StoreFilter(admin.RelatedOnlyFieldListFilter):
    """The stores of the listed orders' POS, in name order, with no query of their own."""

    def field_choices(self, field, request, model_admin):
        stores = {
            point.store_id: point.store for point in _points_of_listed_orders(request, model_admin)
        }
        return [(pk, str(store)) for pk, store in stores.items()]


class TopicFilter(admin.SimpleListFilter):
    """The topics Mercado Pago sends, listed without reading the inbox (Django's filter of a
    field's values reads every row for their distinct values, on every page)."""

    title = "topic"
    parameter_name = "topic"
    # The Orders API's webhooks, and the legacy IPN's (orders.notifications handles these).
    TOPICS = ("order", "payment", "merchant_order")

    def lookups(self, request, model_admin):
        return [*((topic, topic) for topic in self.TOPICS), ("other", "other")]

    def queryset(self, request, queryset):
        if self.value() == "other":
            return queryset.exclude(topic__in=self.TOPICS)
        if self.value():
            return queryset.filter(topic=self.value())
        return queryset


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        required=False,
        max_digits=14,
        decimal_places=2,
        help_text="Leave empty to refund everything still refundable.",
    )


@admin.register(Order)
class OrderAdmin(ReadOnly, TenantOwnedAdmin):
    """Orders: they change only through the order services and Mercado Pago.

    Actions: cancel (``Capability.CANCEL_ORDERS``), refresh from Mercado Pago (``VIEW``: any
    member who sees the order), refund with a form at ``<pk>/refund/``
    (``Capability.REFUND_ORDERS``). Platform staff need Django's ``change_order`` (cancel,
    refund) or ``view_order`` (refresh) permission. Service errors become admin messages.
    """

    list_display = [
        "external_reference",
        "status_badge",
        "api_code",
        "mode_code",
        "total",
        "store",
        "pos_name",
        "mp_order_id",
        "created_at",
    ]
    list_filter = [
        "status",
        ("pos", PointOfSaleFilter),
        ("pos__store", StoreFilter),
        "mode",
        "api",
        ("created_at", admin.DateFieldListFilter),  # a date_hierarchy reads every row per page
    ]
    search_fields = ["external_reference", "mp_order_id", "title"]
    list_select_related = ["pos__store"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = readonly_fields = ORDER_FIELDS
    actions = ["cancel", "refresh"]
    inlines = [
        OrderItemInline,
        PaymentInline,
        RefundInline,
        MercadoPagoCallInline,
        NotificationInline,
    ]

    @admin.display(description="total", ordering="total_amount")
    def total(self, order: Order) -> str:
        return f"{order.currency} {order.total_amount:,}"

    @admin.display(description="API", ordering="api")
    def api_code(self, order: Order) -> str:
        return order.api  # the filter names each one in full

    @admin.display(description="QR", ordering="mode")
    def mode_code(self, order: Order) -> str:
        return order.mode

    @admin.display(description="point of sale", ordering="pos__name")
    def pos_name(self, order: Order) -> str:
        return order.pos.name

    @admin.display(description="status", ordering="status")
    def status_badge(self, order: Order) -> str:
        return format_html(
            '<span style="background: {}; color: #fff; padding: 2px 8px; border-radius: 8px; '
            'white-space: nowrap">{}</span>',
            BADGE_COLORS.get(order.status, "#6c757d"),
            order.status,
        )

    @admin.display(description="store", ordering="pos__store__name")
    def store(self, order: Order) -> str:
        return str(order.pos.store)

    @admin.display(description="QR preview")
    def qr_preview(self, order: Order) -> str:
        if not order.scan_payload:
            return "—"
        url = reverse("orders:qr-svg", args=[order.pk])
        return format_html('<img src="{}" alt="QR of {}" width="240" height="240">', url, order)

    # Permissions of the actions -----------------------------------------------------------------

    def has_cancel_permission(self, request, obj=None) -> bool:
        if self._is_platform_staff(request):
            return request.user.has_perm("orders.change_order")
        return self._member_can(request, Capability.CANCEL_ORDERS, obj)

    def has_refund_permission(self, request, obj=None) -> bool:
        if self._is_platform_staff(request):
            return request.user.has_perm("orders.change_order")
        return self._member_can(request, Capability.REFUND_ORDERS, obj)

    def has_refresh_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj)

    # Actions ----------------------------------------------------------------------------------

    def _apply(self, request, queryset, service, done: str) -> None:
        """Call ``service`` on each order; report what was done and each service error."""
        count = 0
        for order in queryset.select_related("tenant"):
            try:
                service(tenant=order.tenant, order=order)
            except OrderError as error:
                self.message_user(
                    request, f"{order.external_reference}: {error.message}", messages.ERROR
                )
            else:
                count += 1
        if count:
            self.message_user(request, f"{count} order(s) {done}.")

    @admin.action(description="Cancel (in Mercado Pago too)", permissions=["cancel"])
    def cancel(self, request, queryset):
        self._apply(request, queryset, services.cancel_order, "canceled")

    @admin.action(description="Refresh from Mercado Pago", permissions=["refresh"])
    def refresh(self, request, queryset):
        self._apply(request, queryset, services.refresh_order, "refreshed")

    # The refund page and the change page's buttons ---------------------------------------------

    def get_urls(self):
        refund = path(
            "<path:object_id>/refund/",
            self.admin_site.admin_view(self.refund_view),
            name="orders_order_refund",
        )
        return [refund, *super().get_urls()]

    def refund_view(self, request, object_id: str):
        """A form for the amount to refund; the refund itself is ``services.refund_order``'s."""
        order = self.get_object(request, unquote(object_id))
        if order is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_refund_permission(request, order):
            raise PermissionDenied
        form = RefundForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                refunds = services.refund_order(
                    tenant=order.tenant, order=order, amount=form.cleaned_data["amount"]
                )
            except InvalidOrder as error:
                for field, problems in error.as_dict().items():
                    for problem in problems:
                        form.add_error("amount" if field == "amount" else None, problem)
            except OrderError as error:
                form.add_error(None, error.message)
            else:
                total = sum(refund.amount for refund in refunds)
                states = ", ".join(sorted({refund.get_status_display() for refund in refunds}))
                self.message_user(request, f"Refund of {total} {order.currency}: {states}.")
                return redirect("admin:orders_order_change", order.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund {order.external_reference}",
            "opts": self.opts,
            "original": order,
            "form": form,
        }
        return TemplateResponse(request, "admin/orders/order/refund.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, unquote(object_id))
        extra_context = {
            **(extra_context or {}),
            "can_cancel": order is not None and self.has_cancel_permission(request, order),
            "can_refund": order is not None and self.has_refund_permission(request, order),
            "can_refresh": order is not None and self.has_refresh_permission(request, order),
        }
        return super().change_view(request, object_id, form_url, extra_context)


NOTIFICATION_FIELDS = [
    "kind",
    "status",
    "topic",
    "action",
    "resource_id",
    "version",
    "request_id",
    "tenant",
    "order_link",
    "detail",
    "attempts",
    "sweeps",
    "received_at",
    "touched_at",
    "processed_at",
    "client_address",
    "query_json",
    "headers_json",
    "body_size",
    "body_sha256",
    "body",
    "traceback",
]


@admin.register(Notification)
class NotificationAdmin(ReadOnly, TenantAdminMixin, admin.ModelAdmin):
    """The inbox, read-only, with a "Replay" action.

    Members see only rows attributed to their seller (``tenant``, set by processing) and may
    replay them with ``Capability.MANAGE_INTEGRATIONS``; platform staff see and replay every
    row. Rejected rows (bad signature) are never replayed.
    """

    list_display = [
        "received_at",
        "kind",
        "topic",
        "action",
        "resource_id",
        "version",
        "status",
        "order",
        "attempts",
    ]
    list_filter = ["status", "kind", TopicFilter, ("received_at", admin.DateFieldListFilter)]
    search_fields = ["resource_id"]
    list_select_related = ["order"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = readonly_fields = NOTIFICATION_FIELDS
    actions = ["replay"]

    @admin.display(description="order")
    def order_link(self, notification: Notification) -> str:
        if notification.order_id is None:
            return "—"
        url = reverse("admin:orders_order_change", args=[notification.order_id])
        return format_html('<a href="{}">{}</a>', url, notification.order)

    @admin.display(description="query")
    def query_json(self, notification: Notification) -> str:
        return _pretty_json(notification.query)

    @admin.display(description="headers")
    def headers_json(self, notification: Notification) -> str:
        return _pretty_json(notification.headers)

    @admin.action(description="Replay (ask Mercado Pago again)", permissions=["replay"])
    def replay(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        rejected = queryset.filter(status=Notification.Status.REJECTED).count()
        try:
            queued = notifications.replay(ids=ids)
        except OrderError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(request, f"{queued} notification(s) queued again.")
        if rejected:
            self.message_user(
                request,
                f"{rejected} rejected notification(s) not replayed: their signature did not hold.",
                messages.WARNING,
            )

    def has_replay_permission(self, request):
        if self._is_platform_staff(request):
            return request.user.has_perm("orders.change_notification")
        return self._member_can(request, Capability.MANAGE_INTEGRATIONS)
