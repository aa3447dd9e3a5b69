from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pos import imports, qr, qr_links, services
from pos.forms import BusinessHoursField, ImportForm
from pos.models import PointOfSale, PosImport, Store
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
    business_hours = BusinessHoursField()

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

    def has_import_permission(self, request) -> bool:
        """Importing a CSV adds stores and POS to the seller the member acts for."""
        return request.tenant is not None and self.has_add_permission(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        """Nothing left to do: the form saved ``obj`` through its service while validating."""

    def delete_model(self, request, obj):
        try:
            self.delete_through_service(obj)
        except ValidationError as error:
            self.message_user(
                request,
                _("%(row)s was not deleted: %(error)s") % {"row": obj, "error": error.messages[0]},
                messages.ERROR,
            )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    @admin.action(description=gettext_lazy("Sync again with Mercado Pago"), permissions=["change"])
    def resync(self, request, queryset):
        rows = [services.resync(tenant=row.tenant, row=row) for row in queryset]
        synced = sum(row.sync_state == "synced" for row in rows)
        self.message_user(
            request,
            _("%(synced)s of %(total)s synced with Mercado Pago.")
            % {"synced": synced, "total": len(rows)},
        )
        for row in rows:
            if row.sync_state != "synced":
                self.message_user(request, f"{row}: {row.sync_error}", messages.WARNING)

    @admin.display(description=gettext_lazy("Mercado Pago error"))
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

    @admin.display(description=gettext_lazy("Fixed QR"))
    def qr_preview(self, obj) -> str:
        if not obj.qr_code:
            return "—"
        url = qr_links.image_url(obj.qr_code, qr.PNG)
        return format_html('<img src="{}" width="160" height="160" alt="QR">', url)

    @admin.display(description=gettext_lazy("Printable sticker"))
    def sticker(self, obj) -> str:
        if not obj.qr_code:
            return "—"
        url = reverse("pos:sticker", args=[obj.pk])
        return format_html('<a href="{}" target="_blank">{}</a>', url, _("Print the A6 sticker"))

    @admin.display(description=gettext_lazy("Customer display"))
    def display_link(self, obj) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("display:page", args=[obj.display_token])
        return format_html('<a href="{}" target="_blank" rel="noreferrer">{}</a>', url, url)

    @admin.action(description=gettext_lazy("Rotate display link"), permissions=["change"])
    def rotate_display_link(self, request, queryset):
        """A new display URL for each selected POS; the old URLs stop working."""
        rotated = [services.rotate_display_token(tenant=pos.tenant, pos=pos) for pos in queryset]
        self.message_user(
            request,
            _("%(n)s display links rotated; the old links no longer work.") % {"n": len(rotated)},
        )

    # Import from CSV ----------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="pos_pointofsale_import"),
            path(
                "import/<int:import_id>/",
                view(self.import_status_view),
                name="pos_pointofsale_import_status",
            ),
            path(
                "import/<int:import_id>/progress.json",
                view(self.import_progress_view),
                name="pos_pointofsale_import_progress",
            ),
            path(
                "import/<int:import_id>/report.csv",
                view(self.import_report_view),
                name="pos_pointofsale_import_report",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """The upload form, and the seller's last imports."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                pos_import = imports.start(
                    tenant=request.tenant,
                    user=request.user,
                    file_name=form.cleaned_data["file"].name,
                    text=form.cleaned_data["text"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return redirect("admin:pos_pointofsale_import_status", pos_import.pk)
        context = {
            **self._import_context(request, _("Import stores and points of sale from CSV")),
            "form": form,
            "columns": [*imports.STORE_COLUMNS, *imports.POS_COLUMNS],
            "recent_imports": PosImport.objects.filter(tenant=request.tenant).defer(
                "content", "results"
            )[:10],
        }
        return TemplateResponse(request, "admin/pos/pointofsale/import.html", context)

    def import_status_view(self, request, import_id: int):
        """The import's progress while it runs, then its per-row report."""
        pos_import = self._get_import(request, import_id)
        report = imports.Report.from_json(pos_import.results)
        counts = report.counts
        context = {
            **self._import_context(request, _("Import of %(file)s") % {"file": pos_import}),
            "pos_import": pos_import,
            "progress_message": _progress_message(pos_import),
            "results": report.results,
            "outcome_labels": imports.OUTCOMES.values(),
            "counts": [
                (
                    title,
                    [(label, counts[kind, outcome]) for outcome, label in imports.OUTCOMES.items()],
                )
                for kind, title in (("store", _("Stores")), ("pos", _("Points of sale")))
            ],
        }
        return TemplateResponse(request, "admin/pos/pointofsale/import_status.html", context)

    def import_progress_view(self, request, import_id: int):
        """How far the import is, for the status page's script to show."""
        pos_import = self._get_import(request, import_id)
        return JsonResponse(
            {
                "status": pos_import.status,
                "done": pos_import.done,
                "total": pos_import.total,
                "finished": pos_import.finished,
                "message": _progress_message(pos_import),
            }
        )

    def import_report_view(self, request, import_id: int):
        pos_import = self._get_import(request, import_id)
        response = HttpResponse(imports.report_csv(pos_import), content_type="text/csv")
        response["Content-Disposition"] = (
            f'attachment; filename="pos-import-{pos_import.pk}-report.csv"'
        )
        return response

    def _import_context(self, request, title: str) -> dict:
        return {**self.admin_site.each_context(request), "title": title, "opts": self.opts}

    def _get_import(self, request, import_id: int) -> PosImport:
        """The seller's own import: another seller's is not found."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        pos_import = PosImport.objects.filter(pk=import_id, tenant=request.tenant).first()
        if pos_import is None:
            raise Http404
        return pos_import


def _progress_message(pos_import: PosImport) -> str:
    Status = PosImport.Status
    if pos_import.status == Status.QUEUED:
        return _("Waiting for the import to start…")
    if pos_import.status == Status.FAILED:
        return _("The import stopped: %(error)s") % {"error": pos_import.error}
    if pos_import.status == Status.DONE:
        return _("Done: %(total)s stores and points of sale sent to Mercado Pago.") % {
            "total": pos_import.total
        }
    return _("Sent %(done)s of %(total)s stores and points of sale to Mercado Pago…") % {
        "done": pos_import.done,
        "total": pos_import.total,
    }
