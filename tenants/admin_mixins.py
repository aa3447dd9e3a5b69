"""The admin side of tenancy: every tenant-owned ModelAdmin mixes in ``TenantAdminMixin``."""

from django import forms
from django.contrib import admin

from tenants.models import Tenant, TenantOwnedModel
from tenants.roles import Capability, role_can, sees_every_tenant


class TenantAdminMixin:
    """Restricts a tenant-owned model's admin to the request's tenant.

    Members see and pick only rows of the tenant they act for; the tenant field is fixed to it
    (hidden) and set again on save. What they may change follows their role: viewing needs
    ``Capability.VIEW``, adding, changing and deleting need ``change_capability``. Platform staff
    see every tenant, with a tenant column, filter and search, and Django's own permissions.
    """

    change_capability: Capability = Capability.MANAGE_STORES

    @staticmethod
    def _is_platform_staff(request) -> bool:
        return sees_every_tenant(request.user)

    def _member_can(self, request, capability: Capability, obj=None) -> bool:
        if request.tenant is None or (obj is not None and obj.tenant_id != request.tenant.pk):
            return False
        return role_can(request.tenant_role, capability)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self._is_platform_staff(request):
            return queryset
        if request.tenant is None:
            return queryset.none()
        return queryset.filter(tenant=request.tenant)

    def has_module_permission(self, request):
        if self._is_platform_staff(request):
            return super().has_module_permission(request)
        return self._member_can(request, Capability.VIEW)

    def has_view_permission(self, request, obj=None):
        if self._is_platform_staff(request):
            return super().has_view_permission(request, obj)
        return self._member_can(request, Capability.VIEW, obj)

    def has_add_permission(self, request, *args):
        if self._is_platform_staff(request):
            return super().has_add_permission(request, *args)
        return self._member_can(request, self.change_capability)

    def has_change_permission(self, request, obj=None):
        if self._is_platform_staff(request):
            return super().has_change_permission(request, obj)
        return self._member_can(request, self.change_capability, obj)

    def has_delete_permission(self, request, obj=None):
        if self._is_platform_staff(request):
            return super().has_delete_permission(request, obj)
        return self._member_can(request, self.change_capability, obj)

    def get_list_display(self, request):
        list_display = list(super().get_list_display(request))
        if self._is_platform_staff(request) and "tenant" not in list_display:
            list_display.insert(1, "tenant")
        return list_display

    def get_list_select_related(self, request):
        select_related = super().get_list_select_related(request)
        if not self._is_platform_staff(request) or select_related is True:
            return select_related
        return [*(select_related or ()), "tenant"]  # the staff's tenant column, in one query

    def get_list_filter(self, request):
        list_filter = [f for f in super().get_list_filter(request) if f != "tenant"]
        if self._is_platform_staff(request):
            list_filter.insert(0, "tenant")
        return list_filter

    def get_search_fields(self, request):
        search_fields = list(super().get_search_fields(request))
        if self._is_platform_staff(request):
            search_fields.append("tenant__name")
        return search_fields

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and self._is_platform_staff(request):
            readonly.append("tenant")  # rows never move between tenants
        return readonly

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related_model = db_field.related_model
        if related_model is Tenant and not self._is_platform_staff(request):
            kwargs["queryset"] = Tenant.objects.filter(pk=getattr(request.tenant, "pk", None))
            kwargs["initial"] = request.tenant
            kwargs["disabled"] = True
            kwargs["widget"] = forms.HiddenInput
        elif related_model is Tenant and request.tenant is not None:
            kwargs["initial"] = request.tenant
        elif issubclass(related_model, TenantOwnedModel) and request.tenant is not None:
            kwargs["queryset"] = related_model._default_manager.filter(tenant=request.tenant)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not self._is_platform_staff(request):
            obj.tenant = request.tenant
        super().save_model(request, obj, form, change)


class TenantOwnedAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Base class for the admin of a tenant-owned model."""


class ReadOnly:
    """Rows shown here are never added, changed or deleted: only services write them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ReadOnly, admin.TabularInline):
    """An inline that shows rows and never changes them.

    Its rows are the parent's, so whoever may view the parent may view them (members have no
    Django model permissions; their role decides, as in ``TenantAdminMixin``).
    """

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_view_permission(self, request, obj=None):
        if sees_every_tenant(request.user):
            return super().has_view_permission(request, obj)
        if request.tenant is None or (obj is not None and obj.tenant_id != request.tenant.pk):
            return False
        return role_can(request.tenant_role, Capability.VIEW)
