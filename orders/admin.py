"""The admin of orders and of Mercado Pago's notification inbox.

Orders are tenant-owned (``TenantOwnedAdmin``): members see their seller's orders, with the
items, the QR, payments, refunds, Mercado Pago calls and the newest notifications of each, amounts
in their own money locale, and may cancel, refresh and refund them as their role allows (through
the order services only). Each action is offered only where the services would take it
(``services.cancel_refusal``, ``refund_refusal``, ``refundable_amount``, ``refresh_is_useful``);
a bulk action skips the orders it cannot act on and says which. A refund is confirmed on a page of
its own before it is made. The inbox is platform-owned: platform staff see every row; a member
sees the rows that processing attributed to their seller. Nobody adds, edits or deletes either
here; notifications can be replayed.
"""

import json
from collections.abc import Callable
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet, Value
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from disputes.admin import DisputeInline
from merchant_platform.money import (
    AmountError,
    amount_format,
    format_money,
    locale_for_request,
    parse_typed_amount,
)
from orders import notifications, services
from orders.errors import OrderError
from orders.models import (
    MercadoPagoCall,
    Notification,
    Order,
    OrderItem,
    Payment,
    Refund,
)
from pos import qr, qr_links
from pos.models import PointOfSale
from tenants.admin_mixins import ReadOnly, ReadOnlyInline, TenantAdminMixin, TenantOwnedAdmin
from tenants.admin_pagination import EstimatedCountPaginator
from tenants.models import Tenant
from tenants.roles import Capability
from tenants.sites import SITES

ADMIN_CSS = {"all": ["orders/order-admin.css"]}
NOTIFICATIONS_SHOWN = 50  # on an order's page, newest first; the inbox lists them all
SKIPPED_NAMED = 10  # orders a bulk action names when it skips some


def _pretty_json(value) -> str:
    if value in (None, "", {}, []):
        return "—"
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    return format_html('<pre class="order-json">{}</pre>', text)


def _in_persons_locale(rows: QuerySet, request) -> QuerySet:
    """``rows`` carrying ``money_locale``, the money locale of the person looking: admin display
    methods see a row, not the request."""
    return rows.annotate(money_locale=Value(locale_for_request(request)))


def money_column(field: str, description: str) -> Callable:
    """A display method of the row's amount ``field`` as ``format_money`` writes it in the
    person's locale (the row carries ``currency`` and ``money_locale``)."""

    @admin.display(description=description, ordering=field)
    def show(model_admin, row) -> str:
        amount = getattr(row, field)
        if amount is None:
            return model_admin.get_empty_value_display()
        return format_money(amount, row.currency, row.money_locale)

    return show


def _time_zone(tenant: Tenant) -> str:
    """The seller's time zone: the times of its orders are shown in it."""
    return SITES[tenant.site].time_zone


def _rendered_in(response: TemplateResponse, time_zone: str) -> TemplateResponse:
    """``response`` rendered now, with its times in ``time_zone`` (a ``TemplateResponse`` would
    render later, in the default zone: UTC)."""
    if isinstance(response, TemplateResponse):
        with timezone.override(time_zone):
            response.render()
    return response


class AmountsInline(ReadOnlyInline):
    """An inline of an order's rows that have amounts: each row carries its order's currency and
    the person's money locale, for ``money_column``."""

    def get_queryset(self, request):
        rows = super().get_queryset(request).annotate(currency=F("order__currency"))
        return _in_persons_locale(rows, request)


class OrderItemInline(AmountsInline):
    model = OrderItem
    fields = ["position", "title", "sku", "price", "quantity", "unit_measure"]
    price = money_column("unit_price", _("unit price"))


class PaymentInline(AmountsInline):
    model = Payment
    fields = [
        "mp_payment_id",
        "reference_id",
        "status",
        "status_detail",
        "charged",
        "paid",
        "refunded",
        "payment_method_id",
        "approved_at",
    ]
    charged = money_column("amount", _("amount"))
    paid = money_column("paid_amount", _("paid"))
    refunded = money_column("refunded_amount", _("refunded"))


class RefundInline(AmountsInline):
    model = Refund
    fk_name = "order"
    fields = [
        "payment",
        "refund_amount",
        "refund_status",
        "mp_refund_id",
        "error_code",
        "created_at",
    ]
    refund_amount = money_column("amount", _("amount"))

    @admin.display(description=_("status"), ordering="status")
    def refund_status(self, refund: Refund) -> str:
        """A pending refund says which: Mercado Pago made it and is processing it (not refunded
        money yet), or it has not answered yet."""
        if refund.status != Refund.Status.PENDING:
            return refund.get_status_display()
        if refund.mp_refund_id:
            return gettext("Processing in Mercado Pago")
        return gettext("Waiting for Mercado Pago's answer")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payment")


class MercadoPagoCallInline(ReadOnlyInline):
    model = MercadoPagoCall
    verbose_name_plural = _("Mercado Pago calls")
    classes = ["collapse"]  # for whoever investigates; the page is the seller's first
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

    @admin.display(description=_("request body (redacted)"))
    def request_json(self, call: MercadoPagoCall) -> str:
        return _pretty_json(call.request_body)

    @admin.display(description=_("response body (redacted)"))
    def response_json(self, call: MercadoPagoCall) -> str:
        return _pretty_json(call.response_body)


ORDER_FIELDS = [
    "uid",
    "external_reference",
    "typed_description",
    "title",  # shown only when it is not the description (see get_fields)
    "pos",
    "api",
    "mode",
    "status",
    "status_detail",
    "error_code",
    "error_message",
    "currency",
    "total",
    "cash_out",
    "fee",
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

    title = _("topic")
    parameter_name = "topic"
    # The Orders API's webhooks, and the legacy IPN's (orders.notifications handles these).
    TOPICS = ("order", "payment", "merchant_order")

    def lookups(self, request, model_admin):
        return [*((topic, topic) for topic in self.TOPICS), ("other", _("other"))]

    def queryset(self, request, queryset):
        if self.value() == "other":
            return queryset.exclude(topic__in=self.TOPICS)
        if self.value():
            return queryset.filter(topic=self.value())
        return queryset


class RefundForm(forms.Form):
    """The amount to refund, typed as the person writes amounts; empty: all that is refundable."""

    amount = forms.CharField(label=_("Amount to refund"), required=False, max_length=30)

    def __init__(self, *args, locale: str, currency: str, refundable: Decimal, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale, self.currency, self.refundable = locale, currency, refundable
        field = self.fields["amount"]
        field.widget.attrs.update(inputmode="decimal", autocomplete="off")
        field.help_text = gettext(
            "Type it like %(example)s. Leave it empty to refund all that is refundable: %(all)s."
        ) % {
            "example": amount_format(locale, currency)["example"],
            "all": format_money(refundable, currency, locale),
        }

    def clean_amount(self) -> Decimal | None:
        text = self.cleaned_data["amount"]
        if not text:
            return None
        try:
            amount = parse_typed_amount(text, self.locale, self.currency)
        except AmountError as error:
            raise forms.ValidationError(error.message) from None
        if amount > self.refundable:
            refundable = format_money(self.refundable, self.currency, self.locale)
            raise forms.ValidationError(
                gettext("At most %(refundable)s can be refunded.") % {"refundable": refundable}
            )
        return amount


class ConfirmRefundForm(forms.Form):
    """The refund confirmed on the confirmation page: the amount (empty: all that is refundable)
    and what was refundable when the person looked, so that a second submit refunds nothing."""

    amount = forms.DecimalField(
        required=False, max_digits=14, decimal_places=2, widget=forms.HiddenInput
    )
    seen_refundable = forms.DecimalField(max_digits=14, decimal_places=2, widget=forms.HiddenInput)


@admin.register(Order)
class OrderAdmin(ReadOnly, TenantOwnedAdmin):
    """Orders: they change only through the order services and Mercado Pago.

    Actions: cancel (``Capability.CANCEL_ORDERS``), refresh from Mercado Pago
    (``Capability.CREATE_ORDERS``: the people who take orders), refund at ``<pk>/refund/`` with
    a confirmation page (``Capability.REFUND_ORDERS``). Platform staff need Django's
    ``change_order`` permission. Service errors become admin messages.
    """

    list_display = [
        "external_reference",
        "typed_description",
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
    inlines = [OrderItemInline, PaymentInline, RefundInline, DisputeInline, MercadoPagoCallInline]

    class Media:
        css = ADMIN_CSS
        js = ["orders/order-admin.js"]

    def get_queryset(self, request):
        return _in_persons_locale(super().get_queryset(request), request)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and obj.title == self.typed_description(obj):
            return [field for field in fields if field != "title"]
        return fields

    total = money_column("total_amount", _("total"))
    cash_out = money_column("cash_out_amount", _("cash-out amount"))
    fee = money_column("marketplace_fee", _("marketplace fee"))

    @admin.display(description=_("description"))
    def typed_description(self, order: Order) -> str:
        """What the cashier typed (the order's title, and its one item's) or, for an order from
        the API that has one, its description: shown as typed, escaped, never marked safe."""
        return order.description or order.title

    @admin.display(description="API", ordering="api")
    def api_code(self, order: Order) -> str:
        return order.api  # the filter names each one in full

    @admin.display(description="QR", ordering="mode")
    def mode_code(self, order: Order) -> str:
        return order.mode

    @admin.display(description=_("point of sale"), ordering="pos__name")
    def pos_name(self, order: Order) -> str:
        return order.pos.name

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, order: Order) -> str:
        return format_html(
            '<span class="order-status order-status-{}">{}</span>', order.status, order.status
        )

    @admin.display(description=_("store"), ordering="pos__store__name")
    def store(self, order: Order) -> str:
        return str(order.pos.store)

    @admin.display(description=_("QR preview"))
    def qr_preview(self, order: Order) -> str:
        if not order.scan_payload:
            return "—"
        url = qr_links.image_url(order.scan_payload, qr.SVG)
        alt = gettext("QR of %(order)s") % {"order": order}
        return format_html('<img src="{}" alt="{}" width="240" height="240">', url, alt)

    # Permissions of the actions -----------------------------------------------------------------

    def _may(self, request, capability: Capability, obj=None) -> bool:
        if self._is_platform_staff(request):
            return request.user.has_perm("orders.change_order")
        return self._member_can(request, capability, obj)

    def has_cancel_permission(self, request, obj=None) -> bool:
        return self._may(request, Capability.CANCEL_ORDERS, obj)

    def has_refund_permission(self, request, obj=None) -> bool:
        return self._may(request, Capability.REFUND_ORDERS, obj)

    def has_refresh_permission(self, request, obj=None) -> bool:
        return self._may(request, Capability.CREATE_ORDERS, obj)

    # What each order allows now, as the services would judge it ---------------------------------

    @staticmethod
    def _why_not_cancel(order: Order) -> str | None:
        refusal = services.cancel_refusal(order)
        return refusal.message if refusal else None

    @staticmethod
    def _why_not_refresh(order: Order) -> str | None:
        if services.refresh_is_useful(order):
            return None
        return gettext("Mercado Pago never took it: there is nothing to ask about it.")

    @staticmethod
    def _why_not_refund(order: Order) -> str | None:
        if refusal := services.refund_refusal(order):
            return refusal.message
        if services.refundable_amount(order) <= 0:
            return gettext("Nothing of it is left to refund.")
        return None

    # Actions ----------------------------------------------------------------------------------

    def _apply(
        self,
        request,
        queryset,
        service: Callable,
        why_not: Callable[[Order], str | None],
        done: Callable[[int], str],
        skipped: Callable[[int], str],
    ) -> None:
        """Call ``service`` on each order it can act on (``why_not`` says None); report what was
        done, each service error, and the orders skipped with the reason of each."""
        count, passed_over = 0, []
        for order in queryset.select_related("tenant"):
            reason = why_not(order)
            if reason:
                passed_over.append(f"{order.external_reference}: {reason}")
                continue
            try:
                service(tenant=order.tenant, order=order)
            except OrderError as error:
                self.message_user(
                    request, f"{order.external_reference}: {error.message}", messages.ERROR
                )
            else:
                count += 1
        if count:
            self.message_user(request, done(count), messages.SUCCESS)
        if passed_over:
            named = " ".join(passed_over[:SKIPPED_NAMED])
            more = len(passed_over) - SKIPPED_NAMED
            if more > 0:
                named += " " + ngettext("And %(n)d more.", "And %(n)d more.", more) % {"n": more}
            self.message_user(request, f"{skipped(len(passed_over))} {named}", messages.WARNING)

    @admin.action(description=_("Cancel (in Mercado Pago too)"), permissions=["cancel"])
    def cancel(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.cancel_order,
            self._why_not_cancel,
            lambda n: ngettext("%(n)d order canceled.", "%(n)d orders canceled.", n) % {"n": n},
            lambda n: (
                ngettext(
                    "%(n)d order skipped, it cannot be canceled:",
                    "%(n)d orders skipped, they cannot be canceled:",
                    n,
                )
                % {"n": n}
            ),
        )

    @admin.action(description=_("Refresh from Mercado Pago"), permissions=["refresh"])
    def refresh(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.refresh_order,
            self._why_not_refresh,
            lambda n: ngettext("%(n)d order refreshed.", "%(n)d orders refreshed.", n) % {"n": n},
            lambda n: (
                ngettext(
                    "%(n)d order skipped, there is nothing to refresh:",
                    "%(n)d orders skipped, there is nothing to refresh:",
                    n,
                )
                % {"n": n}
            ),
        )

    # The change page's buttons and notifications; the refund pages ------------------------------

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if request.tenant is None:  # platform staff across sellers: UTC
            return response
        return _rendered_in(response, _time_zone(request.tenant))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is None:
            return super().render_change_form(request, context, add, change, form_url, obj)
        context.update(
            can_cancel=self.has_cancel_permission(request, obj) and not self._why_not_cancel(obj),
            can_refresh=self.has_refresh_permission(request, obj)
            and not self._why_not_refresh(obj),
            can_refund=self.has_refund_permission(request, obj) and not self._why_not_refund(obj),
            **self._notifications_context(obj),
        )
        response = super().render_change_form(request, context, add, change, form_url, obj)
        return _rendered_in(response, context["seller_time_zone"])

    @staticmethod
    def _notifications_context(order: Order) -> dict:
        """The newest ``NOTIFICATIONS_SHOWN`` notifications of ``order`` (one query, no bodies),
        whether there are more, and the seller's time zone to show their receipt times in."""
        rows = (
            Notification.objects.filter(order=order)
            .order_by("-received_at", "-pk")
            .only("kind", "status", "topic", "action", "detail", "received_at", "processed_at")
        )
        shown = list(rows[: NOTIFICATIONS_SHOWN + 1])
        return {
            "notifications": shown[:NOTIFICATIONS_SHOWN],
            "more_notifications": len(shown) > NOTIFICATIONS_SHOWN,
            "notifications_shown": NOTIFICATIONS_SHOWN,
            "seller_time_zone": _time_zone(order.tenant),
        }

    def get_urls(self):
        refund = path(
            "<path:object_id>/refund/",
            self.admin_site.admin_view(self.refund_view),
            name="orders_order_refund",
        )
        return [refund, *super().get_urls()]

    def refund_view(self, request, object_id: str):
        """Step one: the amount to refund (empty: all). Step two, a POST of it: the confirmation
        page, which changes nothing. Step three, the confirmed POST: ``services.refund_order``,
        told what the person saw as refundable, so a second submit refunds nothing."""
        order = self.get_object(request, unquote(object_id))
        if order is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_refund_permission(request, order):
            raise PermissionDenied
        if "confirm" in request.POST:
            return self._make_refund(request, order)
        if reason := self._why_not_refund(order):
            self.message_user(request, reason, messages.WARNING)
            return redirect("admin:orders_order_change", order.pk)
        refundable = services.refundable_amount(order)
        form = RefundForm(
            request.POST if request.method == "POST" else None,
            locale=order.money_locale,
            currency=order.currency,
            refundable=refundable,
        )
        if form.is_valid():
            amount = form.cleaned_data["amount"]
            confirm = ConfirmRefundForm(initial={"amount": amount, "seen_refundable": refundable})
            refunded_now = refundable if amount is None else amount
            return self._refund_page(
                request,
                order,
                "admin/orders/order/refund_confirmation.html",
                gettext("Confirm the refund of %(order)s") % {"order": order.external_reference},
                form=confirm,
                whole=amount is None,
                refunded_now=refunded_now,
                refundable=refundable,
                left_after=refundable - refunded_now,
            )
        return self._refund_page(
            request,
            order,
            "admin/orders/order/refund.html",
            gettext("Refund %(order)s") % {"order": order.external_reference},
            form=form,
            refundable=refundable,
        )

    def _make_refund(self, request, order: Order):
        confirmed = ConfirmRefundForm(request.POST)
        if not confirmed.is_valid():
            self.message_user(request, gettext("Confirm the refund again."), messages.ERROR)
            return redirect("admin:orders_order_refund", order.pk)
        try:
            refunds = services.refund_order(
                tenant=order.tenant,
                order=order,
                amount=confirmed.cleaned_data["amount"],
                seen_refundable=confirmed.cleaned_data["seen_refundable"],
            )
        except OrderError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            total = sum((refund.amount for refund in refunds), Decimal(0))
            states = ", ".join(sorted({refund.get_status_display() for refund in refunds}))
            amount = format_money(total, order.currency, order.money_locale)
            self.message_user(
                request,
                gettext("Refund of %(amount)s: %(states)s.") % {"amount": amount, "states": states},
                messages.SUCCESS,
            )
        return redirect("admin:orders_order_change", order.pk)

    def _refund_page(self, request, order: Order, template: str, title: str, **context):
        context = {
            **self.admin_site.each_context(request),
            **context,
            "title": title,
            "opts": self.opts,
            "original": order,
            "description": self.typed_description(order),
            "media": self.media,
        }
        return TemplateResponse(request, template, context)


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

    class Media:
        css = ADMIN_CSS

    def lookup_allowed(self, lookup, value, request=None):
        # The link from an order's page to all its notifications.
        return lookup == "order__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("order"))
    def order_link(self, notification: Notification) -> str:
        if notification.order_id is None:
            return "—"
        url = reverse("admin:orders_order_change", args=[notification.order_id])
        return format_html('<a href="{}">{}</a>', url, notification.order)

    @admin.display(description=_("query"))
    def query_json(self, notification: Notification) -> str:
        return _pretty_json(notification.query)

    @admin.display(description=_("headers"))
    def headers_json(self, notification: Notification) -> str:
        return _pretty_json(notification.headers)

    @admin.action(description=_("Replay (ask Mercado Pago again)"), permissions=["replay"])
    def replay(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        rejected = queryset.filter(status=Notification.Status.REJECTED).count()
        try:
            queued = notifications.replay(ids=ids)
        except OrderError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(request, gettext("%(n)d notification(s) queued again.") % {"n": queued})
        if rejected:
            self.message_user(
                request,
                gettext(
                    "%(n)d rejected notification(s) not replayed: their signature did not hold."
                )
                % {"n": rejected},
                messages.WARNING,
            )

    def has_replay_permission(self, request):
        if self._is_platform_staff(request):
            return request.user.has_perm("orders.change_notification")
        return self._member_can(request, Capability.MANAGE_INTEGRATIONS)
