"""The admin of orders (read-only for now) and of Mercado Pago's notification inbox.

Orders are tenant-owned (``TenantOwnedAdmin``): members see their seller's orders, with the
items, payments, refunds, Mercado Pago calls and notifications of each. The inbox is
platform-owned: platform staff see every row; a member sees the rows that processing attributed
to their seller. Nobody adds, edits or deletes either here; notifications can be replayed.
"""

import json

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from orders import notifications
from orders.errors import OrderError
from orders.models import MercadoPagoCall, Notification, Order, OrderItem, Payment, Refund
from tenants.admin_mixins import ReadOnly, ReadOnlyInline, TenantAdminMixin, TenantOwnedAdmin
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
    "expires_at",
    "expiration_seconds",
    "created_at",
    "updated_at",
    "paid_at",
    "closed_at",
    "mp_last_updated",
]


@admin.register(Order)
class OrderAdmin(ReadOnly, TenantOwnedAdmin):
    """Orders, read-only: they change only through the order services and Mercado Pago."""

    list_display = ["external_reference", "status", "api", "mode", "total", "pos", "created_at"]
    list_filter = ["status", "api", "mode"]
    search_fields = ["external_reference", "mp_order_id", "title"]
    list_select_related = ["pos__store"]
    date_hierarchy = "created_at"
    fields = readonly_fields = ORDER_FIELDS
    inlines = [
        OrderItemInline,
        PaymentInline,
        RefundInline,
        MercadoPagoCallInline,
        NotificationInline,
    ]

    @admin.display(description="total", ordering="total_amount")
    def total(self, order: Order) -> str:
        return f"{order.total_amount} {order.currency}"


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
    "received_at",
    "processed_at",
    "query_json",
    "headers_json",
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
    list_filter = ["status", "kind", "topic"]
    search_fields = ["resource_id"]
    list_select_related = ["order"]
    date_hierarchy = "received_at"
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
