from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Value
from django.utils.translation import gettext_lazy as _

from merchant_platform.money import format_money, locale_for_request
from tenants import services
from tenants.admin_mixins import TenantOwnedAdmin
from tenants.models import Membership, MercadoPagoCredential, Tenant, User
from tenants.roles import Capability, Role, role_can, sees_every_tenant


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Accounts are platform staff's business; sellers manage their members as memberships."""

    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Platform"), {"fields": ("is_platform_staff",)}),
    )
    list_display = (*DjangoUserAdmin.list_display, "is_platform_staff")
    list_filter = (*DjangoUserAdmin.list_filter, "is_platform_staff")

    def has_module_permission(self, request):
        return sees_every_tenant(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return sees_every_tenant(request.user) and super().has_view_permission(request, obj)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """Platform staff manage every seller; a member sees the seller it acts for, read-only."""

    list_display = ("name", "site", "status", "mp_user_id", "fee_percent", "fixed_fee", "fee_limit")
    list_filter = ("status", "site")
    search_fields = ("name", "slug", "mp_user_id")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        money_locale = Value(locale_for_request(request))  # the fee columns' format
        queryset = super().get_queryset(request).annotate(money_locale=money_locale)
        if sees_every_tenant(request.user):
            return queryset
        return queryset.filter(pk=getattr(request.tenant, "pk", None))

    @admin.display(description=_("marketplace fee (fixed amount)"), ordering="fee_fixed")
    def fixed_fee(self, tenant: Tenant) -> str:
        return format_money(tenant.fee_fixed, tenant.site_info.currency, tenant.money_locale)

    @admin.display(description=_("marketplace fee cap"), ordering="fee_cap")
    def fee_limit(self, tenant: Tenant) -> str:
        if tenant.fee_cap is None:
            return self.get_empty_value_display()
        return format_money(tenant.fee_cap, tenant.site_info.currency, tenant.money_locale)

    def has_module_permission(self, request):
        if sees_every_tenant(request.user):
            return super().has_module_permission(request)
        return role_can(request.tenant_role, Capability.VIEW)

    def has_view_permission(self, request, obj=None):
        if sees_every_tenant(request.user):
            return super().has_view_permission(request, obj)
        return role_can(request.tenant_role, Capability.VIEW) and (
            obj is None or obj == request.tenant
        )

    def has_add_permission(self, request):
        return sees_every_tenant(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return sees_every_tenant(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return sees_every_tenant(request.user) and super().has_delete_permission(request, obj)


class MembershipForm(forms.ModelForm):
    """Members are added by e-mail, so sellers never browse the platform's list of users.

    ``invited_by`` (the signed-in user, set by the admin) decides which accounts may be added.
    """

    email = forms.EmailField(
        label=_("Email"), required=False, help_text=_("The new member's e-mail address.")
    )
    invited_by = None

    class Meta:
        model = Membership
        fields = ("tenant", "role")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = self.instance.pk is None
        if self.instance.pk is not None:
            self.fields["email"].disabled = True
            self.fields["email"].initial = self.instance.user.email

    def clean(self):
        cleaned_data = super().clean()
        email, tenant = cleaned_data.get("email"), cleaned_data.get("tenant")
        if self.instance.pk is None and email and tenant is not None:
            try:
                services.ensure_can_invite(tenant=tenant, email=email, invited_by=self.invited_by)
            except services.MemberNotAllowed as refused:
                self.add_error("email", str(refused))
        return cleaned_data

    def clean_role(self):
        role = self.cleaned_data["role"]
        if self.instance.pk is not None and role != self.instance.role:
            try:
                services.ensure_not_last_owner(self.instance)
            except services.LastOwnerError as error:
                raise forms.ValidationError(str(error)) from error
        return role


@admin.register(Membership)
class MembershipAdmin(TenantOwnedAdmin):
    form = MembershipForm
    change_capability = Capability.MANAGE_MEMBERS
    list_display = ("user", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__email")
    list_select_related = ("user", "tenant")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)  # a class of this request's own
        form.invited_by = request.user
        return form

    def save_model(self, request, obj, form, change):
        tenant = obj.tenant if self._is_platform_staff(request) else request.tenant
        role = form.cleaned_data["role"]
        if change:
            membership = services.add_member(tenant=tenant, user=obj.user, role=role)
        else:
            membership = services.invite_member(
                tenant=tenant,
                email=form.cleaned_data["email"],
                role=role,
                invited_by=request.user,
            )
        obj.pk, obj.user = membership.pk, membership.user

    def has_delete_permission(self, request, obj=None):
        if obj is not None:
            try:
                services.ensure_not_last_owner(obj)
            except services.LastOwnerError:
                return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        services.remove_member(membership=obj)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("tenant", "user"):
            try:
                services.remove_member(membership=membership)
            except services.LastOwnerError as error:
                self.message_user(request, str(error), messages.ERROR)

    def get_changeform_initial_data(self, request):
        return {"role": Role.CASHIER, **super().get_changeform_initial_data(request)}


@admin.register(MercadoPagoCredential)
class MercadoPagoCredentialAdmin(TenantOwnedAdmin):
    """Read-only and for owners only: status, expiry and a masked tail, never a token.

    Connecting goes through the connect page; deleting disconnects.
    """

    change_capability = Capability.MANAGE_CREDENTIALS
    list_display = ("mp_user_id", "source", "status", "expires_at", "masked_token", "refreshed_at")
    list_filter = ("source", "status")
    search_fields = ("mp_user_id",)
    list_select_related = ("tenant",)
    fields = readonly_fields = (
        "source",
        "status",
        "mp_user_id",
        "masked_token",
        "scope",
        "live_mode",
        "expires_at",
        "connected_at",
        "refreshed_at",
    )

    @admin.display(description=_("access token"))
    def masked_token(self, credential: MercadoPagoCredential) -> str:
        return f"…{credential.access_token_tail}"

    def _member_can(self, request, capability, obj=None):
        """Members need the change capability even to see a credential."""
        return super()._member_can(request, self.change_capability, obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        services.disconnect(tenant=obj.tenant)

    def delete_queryset(self, request, queryset):
        for credential in queryset.select_related("tenant"):
            services.disconnect(tenant=credential.tenant)
