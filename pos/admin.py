from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from pos import services
from pos.models import PointOfSale, Store
from pos.validators import MCC_BY_SITE
from tenants.admin_mixins import TenantOwnedAdmin
from tenants.roles import Capability

SYNC_FIELDS = ("sync_state", "sync_error", "last_synced_at")


class SavedThroughServiceForm(forms.ModelForm):
    """Saves the row through its service while validating, so that what Mercado Pago refuses
    shows as errors on the form's fields."""

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            self.save_through_service()
        except ValidationError as error:
            self._update_errors(error)


class StoreForm(SavedThroughServiceForm):
    class Meta:
        model = Store
        fields = ["tenant", *services.STORE_FIELDS]

    def save_through_service(self):
        services.save_store(tenant=self.instance.tenant, store=self.instance)


class PointOfSaleForm(SavedThroughServiceForm):
    class Meta:
        model = PointOfSale
        fields = ["tenant", *services.POS_FIELDS]

    def save_through_service(self):
        services.save_pos(tenant=self.instance.tenant, pos=self.instance)


class SyncedAdmin(TenantOwnedAdmin):
    """Admin of a row mirrored in Mercado Pago: saved and deleted through its services."""

    change_capability = Capability.MANAGE_STORES
    actions = ["resync"]
    list_filter = ["sync_state"]
    show_full_result_count = False  # one count per page is enough

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Django wraps this view in a transaction; the form calls Mercado Pago while it
        validates, and no transaction may stay open across that call (on SQLite it would lock
        out the in-process sandbox, anywhere it holds locks while Mercado Pago answers)."""
        return self._changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        """Without Django's transaction, for the same reason: deleting calls Mercado Pago."""
        return self._delete_view(request, object_id, extra_context)

    def save_model(self, request, obj, form, change):
        """Nothing left to do: the form saved ``obj`` through its service while validating."""

    def delete_model(self, request, obj):
        try:
            self.delete_through_service(obj)
        except ValidationError as error:
            self.message_user(
                request, f"{obj} was not deleted: {error.messages[0]}", messages.ERROR
            )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    @admin.action(description="Sync again with Mercado Pago", permissions=["change"])
    def resync(self, request, queryset):
        rows = [services.resync(tenant=row.tenant, row=row) for row in queryset]
        synced = sum(row.sync_state == "synced" for row in rows)
        self.message_user(request, f"{synced} of {len(rows)} synced with Mercado Pago.")
        for row in rows:
            if row.sync_state != "synced":
                self.message_user(request, f"{row}: {row.sync_error}", messages.WARNING)

    @admin.display(description="Mercado Pago error")
    def sync_error(self, obj) -> str:
        return obj.sync_error or "—"


@admin.register(Store)
class StoreAdmin(SyncedAdmin):
    form = StoreForm
    list_display = ["name", "external_id", "city", "sync_state", "sync_error", "last_synced_at"]
    search_fields = ["name", "external_id", "city"]
    readonly_fields = ["mp_store_id", *SYNC_FIELDS]

    def delete_through_service(self, obj):
        services.delete_store(tenant=obj.tenant, store=obj)


@admin.register(PointOfSale)
class PointOfSaleAdmin(SyncedAdmin):
    form = PointOfSaleForm
    list_display = ["name", "external_id", "store", "sync_state", "sync_error", "last_synced_at"]
    list_select_related = ["store"]
    search_fields = ["name", "external_id", "store__name"]
    readonly_fields = ["mp_pos_id", *SYNC_FIELDS, "qr_preview", "sticker", "display_link"]
    actions = [*SyncedAdmin.actions, "rotate_display_link"]

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and obj.mp_pos_id is not None:
            readonly = [*readonly, "external_id"]  # Mercado Pago does not let it change
        return readonly

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "category" and request.tenant is not None:
            codes = MCC_BY_SITE[request.tenant.site]
            return forms.TypedChoiceField(
                label=db_field.verbose_name.capitalize(),
                choices=[("", "---------")]
                + [(code, f"{label} ({code})") for code, label in codes.items()],
                coerce=int,
                empty_value=None,
                required=False,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def delete_through_service(self, obj):
        services.delete_pos(tenant=obj.tenant, pos=obj)

    @admin.display(description="Fixed QR")
    def qr_preview(self, obj) -> str:
        if not obj.qr_code:
            return "—"
        url = reverse("pos:qr-png", args=[obj.pk])
        return format_html('<img src="{}" width="160" height="160" alt="QR">', url)

    @admin.display(description="Printable sticker")
    def sticker(self, obj) -> str:
        if not obj.qr_code:
            return "—"
        url = reverse("pos:sticker", args=[obj.pk])
        return format_html('<a href="{}" target="_blank">Print the A6 sticker</a>', url)

    @admin.display(description="Customer display")
    def display_link(self, obj) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("display:page", args=[obj.display_token])
        return format_html('<a href="{}" target="_blank" rel="noreferrer">{}</a>', url, url)

    @admin.action(description="Rotate display link", permissions=["change"])
    def rotate_display_link(self, request, queryset):
        """A new display URL for each selected POS; the old URLs stop working."""
        rotated = [services.rotate_display_token(tenant=pos.tenant, pos=pos) for pos in queryset]
        self.message_user(
            request, f"{len(rotated)} display links rotated; the old links no longer work."
        )
